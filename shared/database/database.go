// Package database opens PostgreSQL through sqlx and pgx, creates the
// database when it is missing and applies the numbered migrations.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/migrations"
)

// ErrUnreachable is wrapped by Open when no PostgreSQL server answers.
var ErrUnreachable = errors.New("PostgreSQL is unreachable")

// Options tune the connection pool.
type Options struct {
	MaxOpenConns int
	MaxIdleConns int
}

// Open connects to the database at databaseURL and checks the connection
// within the context's deadline. It returns an error wrapping ErrUnreachable
// with start-up advice when the server does not answer.
func Open(ctx context.Context, databaseURL string, options Options) (*sqlx.DB, error) {
	db, err := sqlx.Open("pgx", databaseURL)
	if err != nil {
		return nil, fmt.Errorf("invalid DATABASE_URL: %w", err)
	}
	if options.MaxOpenConns > 0 {
		db.SetMaxOpenConns(options.MaxOpenConns)
	}
	if options.MaxIdleConns > 0 {
		db.SetMaxIdleConns(options.MaxIdleConns)
	}
	db.SetConnMaxIdleTime(5 * time.Minute)

	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, explainConnectError(databaseURL, err)
	}
	return db, nil
}

// EnsureDatabase creates the database named in databaseURL when it does not
// exist, connecting to the server's "postgres" database to do so.
func EnsureDatabase(ctx context.Context, databaseURL string) error {
	parsed, err := url.Parse(databaseURL)
	if err != nil {
		return fmt.Errorf("invalid DATABASE_URL: %w", err)
	}
	name := strings.TrimPrefix(parsed.Path, "/")
	if name == "" {
		return fmt.Errorf("invalid DATABASE_URL %q: it names no database", RedactURL(databaseURL))
	}

	admin := *parsed
	admin.Path = "/postgres"
	db, err := Open(ctx, admin.String(), Options{MaxOpenConns: 1})
	if err != nil {
		return err
	}
	defer db.Close()

	var exists bool
	if err := db.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name); err != nil {
		return fmt.Errorf("look up database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	// CREATE DATABASE takes no parameters, so the name is quoted as an identifier.
	_, err = db.ExecContext(ctx, `CREATE DATABASE `+quoteIdentifier(name))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" {
		return nil // created by a concurrent caller
	}
	if err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	slog.Info("database created", "database", name)
	return nil
}

// DropDatabase removes the database named name, closing other sessions on it.
// Tests use it to clean up.
func DropDatabase(ctx context.Context, serverURL, name string) error {
	parsed, err := url.Parse(serverURL)
	if err != nil {
		return err
	}
	parsed.Path = "/postgres"
	db, err := Open(ctx, parsed.String(), Options{MaxOpenConns: 1})
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+quoteIdentifier(name)+` WITH (FORCE)`)
	return err
}

// Migrate applies every migration in migrations.SQL that the database has not
// yet recorded, each in its own transaction, under an advisory lock so two
// binaries starting together do not race.
func Migrate(ctx context.Context, db *sqlx.DB) error {
	conn, err := db.Connx(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()

	const lockKey = 7_140_001 // any constant shared by every migrating process
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return fmt.Errorf("migrate: take lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey)

	const createTable = `CREATE TABLE IF NOT EXISTS schema_migration (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`
	if _, err := conn.ExecContext(ctx, createTable); err != nil {
		return fmt.Errorf("migrate: create schema_migration: %w", err)
	}

	applied := map[int]bool{}
	rows, err := conn.QueryContext(ctx, `SELECT version FROM schema_migration`)
	if err != nil {
		return fmt.Errorf("migrate: read versions: %w", err)
	}
	for rows.Next() {
		var version int
		if err := rows.Scan(&version); err != nil {
			rows.Close()
			return err
		}
		applied[version] = true
	}
	rows.Close()

	files, err := migrationFiles()
	if err != nil {
		return err
	}
	for _, file := range files {
		if applied[file.version] {
			continue
		}
		if err := applyMigration(ctx, conn, file); err != nil {
			return err
		}
		slog.Info("migration applied", "version", file.version, "name", file.name)
	}
	return nil
}

type migrationFile struct {
	version int
	name    string
	body    string
}

func migrationFiles() ([]migrationFile, error) {
	entries, err := fs.ReadDir(migrations.SQL, ".")
	if err != nil {
		return nil, err
	}
	var files []migrationFile
	for _, entry := range entries {
		name := entry.Name()
		prefix, _, found := strings.Cut(name, "_")
		if !found || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration %q: name must be NNNN_description.sql", name)
		}
		version, err := strconv.Atoi(prefix)
		if err != nil {
			return nil, fmt.Errorf("migration %q: name must start with a number", name)
		}
		body, err := fs.ReadFile(migrations.SQL, name)
		if err != nil {
			return nil, err
		}
		files = append(files, migrationFile{version: version, name: name, body: string(body)})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].version < files[j].version })
	return files, nil
}

func applyMigration(ctx context.Context, conn *sqlx.Conn, file migrationFile) error {
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, file.body); err != nil {
		return fmt.Errorf("migration %s: %w", file.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migration (version, name) VALUES ($1, $2)`, file.version, file.name); err != nil {
		return fmt.Errorf("migration %s: record version: %w", file.name, err)
	}
	return tx.Commit()
}

func quoteIdentifier(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// RedactURL returns databaseURL with its password replaced, for logs.
func RedactURL(databaseURL string) string {
	parsed, err := url.Parse(databaseURL)
	if err != nil {
		return "(invalid URL)"
	}
	return parsed.Redacted()
}

func explainConnectError(databaseURL string, err error) error {
	var netErr net.Error
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr):
		return fmt.Errorf("PostgreSQL at %s rejected the connection: %s (%s)", RedactURL(databaseURL), pgErr.Message, pgErr.Code)
	case errors.Is(err, syscall.ECONNREFUSED), errors.As(err, &netErr), errors.Is(err, context.DeadlineExceeded), errors.Is(err, sql.ErrConnDone):
		return fmt.Errorf("%w at %s: %v\n"+
			"  Start it and try again, for example:\n"+
			"    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"+
			"  or set DATABASE_URL to a server that is running", ErrUnreachable, RedactURL(databaseURL), err)
	default:
		return fmt.Errorf("%w at %s: %v", ErrUnreachable, RedactURL(databaseURL), err)
	}
}
