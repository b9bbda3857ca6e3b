// Command staffbench measures the back office's list pages under 120
// concurrent signed-in staff members (loadtest/bench-staff.sh runs it).
//
//	staffbench prepare   store registrations, applications, audit events and
//	                     bench.* staff accounts in DATABASE_URL
//	staffbench run       sign every bench.* account in at -url and let each
//	                     browse list pages for -duration
//
// Both read DATABASE_URL and CRYPTO_KEYRING_FILE like the back office.
// run prints one result line last:
//
//	staff=120 requests=… requests_per_s=… p50_ms=… p95_ms=… p99_ms=… max_ms=… errors=0
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/server"

	"github.com/sh-preschool/preschool/shared/config"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/database"
)

// password is the password of every bench account. It meets the password
// rules and contains no bench username.
const password = "Bench#Staff2026"

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "staffbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: staffbench prepare|run [flags]; -h after the subcommand lists its flags")
	}
	reader := config.FromEnv()
	databaseURL := reader.String("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/preschool?sslmode=disable")
	keyringFile := reader.String("CRYPTO_KEYRING_FILE", "")
	reader.Require("CRYPTO_KEYRING_FILE", keyringFile)
	if err := reader.Err(); err != nil {
		return err
	}
	keyring, err := crypto.LoadKeyringFile(keyringFile)
	if err != nil {
		return fmt.Errorf("CRYPTO_KEYRING_FILE: %w", err)
	}
	db, err := database.Open(ctx, databaseURL, database.Options{MaxOpenConns: 8, MaxIdleConns: 8})
	if err != nil {
		return err
	}
	defer db.Close()

	switch args[0] {
	case "prepare":
		// Accounts carry SM2 signatures of their access fields, made with
		// the back office's signing key (CRYPTO_SIGNING_KEY_FILE).
		integrity, err := server.NewIntegrity(ctx, crypto.LoadProviderConfig(reader), db, &audit.Trail{DB: db, Now: time.Now})
		if err != nil {
			return err
		}
		return prepare(ctx, db, keyring, integrity, args[1:])
	case "run":
		return runLoad(ctx, db, args[1:])
	}
	return fmt.Errorf("unknown subcommand %q: use prepare or run", args[0])
}
