// Package debugserver serves Go's profiling endpoints (net/http/pprof) on
// a separate listener, for operators diagnosing a running binary.
package debugserver

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// Start serves /debug/pprof/ on address when it is not empty. The address
// must be a loopback one: profiles reveal the program's internals.
func Start(address string) (func(), error) {
	if address == "" {
		return func() {}, nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("PPROF_LISTEN %q: %w", address, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("PPROF_LISTEN %q: profiling is served on loopback addresses only", address)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("PPROF_LISTEN: %w", err)
	}
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := server.Serve(listener); err != nil && err != http.ErrServerClosed {
			slog.Error("profiling server stopped", "error", err)
		}
	}()
	slog.Info("profiling endpoints served", "address", listener.Addr().String())
	return func() { server.Close() }, nil
}
