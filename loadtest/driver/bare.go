package main

import (
	"fmt"
	"net"

	"github.com/valyala/fasthttp"
)

var bareResponse = []byte(`{"receiptNumber":"202700000016","status":"accepted","statusLabel":"已受理"}`)

// bareServer is the bare mode's server: fasthttp with a handler that reads
// the body and responds with 202 and a small JSON body, nothing else. Its rate is
// the ceiling of this machine and this driver.
type bareServer struct {
	listener net.Listener
	server   *fasthttp.Server
	done     chan error
}

func startBareServer() (*bareServer, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bare server: listen on 127.0.0.1: %w", err)
	}
	s := &bareServer{
		listener: listener,
		server: &fasthttp.Server{
			Handler: func(ctx *fasthttp.RequestCtx) {
				_ = ctx.PostBody()
				ctx.SetStatusCode(fasthttp.StatusAccepted)
				ctx.SetContentType("application/json; charset=utf-8")
				ctx.SetBody(bareResponse)
			},
			Name:        "bare",
			Concurrency: 1_000_000,
		},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.server.Serve(listener) }()
	return s, nil
}

func (s *bareServer) url() string {
	return "http://" + s.listener.Addr().String() + registrationsPath
}

func (s *bareServer) close() error {
	if err := s.server.Shutdown(); err != nil {
		return err
	}
	return <-s.done
}
