// The edge serves the parents' enrolment pages and API. It validates and
// accepts registrations and applications into a Redis stream and never
// calls the database; see docs/edge-api.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	_ "time/tzdata" // enrolment dates are in Asia/Shanghai on any host

	"github.com/sh-preschool/preschool/edge/server"
	"github.com/sh-preschool/preschool/shared/config"
	"github.com/sh-preschool/preschool/shared/debugserver"
	"github.com/sh-preschool/preschool/shared/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	logging.Setup("edge")
	// The edge's heap is small and its garbage short-lived, so collecting
	// less often trades a little memory for CPU at the peak. GOGC in the
	// environment overrides this.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	cfg, err := server.LoadConfig(config.FromEnv())
	if err != nil {
		return err
	}
	stopProfiling, err := debugserver.Start(os.Getenv("PPROF_LISTEN"))
	if err != nil {
		return err
	}
	defer stopProfiling()
	return server.Run(ctx, cfg)
}
