// Command edgeprof runs the edge exactly as bin/edge does (same package,
// same environment variables) and also serves Go's profiling endpoints
// (net/http/pprof) on EDGE_PPROF_LISTEN, a loopback address, default
// 127.0.0.1:6060. loadtest/bench.sh runs it in place of bin/edge when
// BENCH_PROFILE is set, and takes a CPU profile over the closed run:
//
//	curl -o edge.pprof 'http://127.0.0.1:6060/debug/pprof/profile?seconds=30'
//	go tool pprof -top edge.pprof
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // as in the edge binary: enrolment dates are in Asia/Shanghai

	"github.com/sh-preschool/preschool/edge/server"
	"github.com/sh-preschool/preschool/shared/config"
	"github.com/sh-preschool/preschool/shared/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "edgeprof:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	logging.Setup("edge")
	listen := os.Getenv("EDGE_PPROF_LISTEN")
	if listen == "" {
		listen = "127.0.0.1:6060"
	}
	listener, err := listenLoopback(listen)
	if err != nil {
		return err
	}
	profiles := &http.Server{Handler: http.DefaultServeMux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := profiles.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("profiling server stopped", "address", listen, "error", err)
		}
	}()
	defer profiles.Close()
	slog.Warn("serving Go profiles", "address", listener.Addr().String())

	cfg, err := server.LoadConfig(config.FromEnv())
	if err != nil {
		return err
	}
	return server.Run(ctx, cfg)
}

// listenLoopback listens on address, which must be a loopback address:
// the profiles show the edge's internals to anyone who can reach them.
func listenLoopback(address string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("invalid EDGE_PPROF_LISTEN %q: %w", address, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("invalid EDGE_PPROF_LISTEN %q: use a loopback address such as 127.0.0.1:6060", address)
	}
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("listen on EDGE_PPROF_LISTEN %s: %w", address, err)
	}
	return listener, nil
}
