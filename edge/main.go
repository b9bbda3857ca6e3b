// The edge serves the parents' enrolment pages and API. It validates and
// accepts registrations and applications into a Redis stream and never
// calls the database; see docs/edge-api.md.
//
// Usage:
//
//	edge           run the server
//	edge verify    check this executable's release signature under the key in
//	               RELEASE_PUBLIC_KEY (exit 1 if it does not verify)
package main

import (
	"context"
	"errors"
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
	"github.com/sh-preschool/preschool/shared/release"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	logging.Setup("edge")
	publicKey := os.Getenv(release.PublicKeyVariable)
	switch {
	case len(args) == 1 && args[0] == "verify":
		if publicKey == "" {
			return errors.New("verify needs " + release.PublicKeyVariable + ", the path of the release public key")
		}
		if err := release.VerifySelf(publicKey); err != nil {
			return err
		}
		fmt.Println("the release signature of this executable verifies, version", release.Version)
		return nil
	case len(args) > 0:
		return fmt.Errorf("unknown arguments %q: use no arguments to serve, or verify", args)
	}
	if err := release.StartupCheck(publicKey); err != nil {
		return err
	}
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
