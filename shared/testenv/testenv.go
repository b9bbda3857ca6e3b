// Package testenv gives each test package its own PostgreSQL database and
// Redis key prefix on the servers every development and CI machine runs, so
// test runs never see each other's data.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/shared/database"
)

// ServerURL returns the PostgreSQL server tests use: TEST_DATABASE_URL, or
// the local server with trust authentication.
func ServerURL() string {
	if value := os.Getenv("TEST_DATABASE_URL"); value != "" {
		return value
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// RedisAddress returns the Redis server tests use: TEST_REDIS_ADDR or
// 127.0.0.1:6379.
func RedisAddress() string {
	if value := os.Getenv("TEST_REDIS_ADDR"); value != "" {
		return value
	}
	return "127.0.0.1:6379"
}

// runLabel returns TEST_RUN_LABEL, sanitized, with a trailing underscore,
// or "" when it is unset. It goes into every database name and Redis key
// prefix, so that people or agents sharing one server can tell their test
// data apart.
func runLabel() string {
	label := sanitize(os.Getenv("TEST_RUN_LABEL"))
	if label == "" {
		return ""
	}
	return label + "_"
}

// Database is a fresh, migrated database that is dropped when the test ends.
type Database struct {
	DB   *sqlx.DB
	URL  string
	Name string
}

// NewDatabase creates and migrates a database named after the test with a
// random suffix. It fails the test with start-up advice when PostgreSQL is
// not running.
func NewDatabase(t testing.TB) *Database {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	name := "test_" + runLabel() + sanitize(t.Name()) + "_" + randomSuffix()
	parsed, err := url.Parse(ServerURL())
	if err != nil {
		t.Fatalf("invalid TEST_DATABASE_URL: %v", err)
	}
	parsed.Path = "/" + name
	databaseURL := parsed.String()

	if err := database.EnsureDatabase(ctx, databaseURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := database.DropDatabase(context.Background(), ServerURL(), name); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	db, err := database.Open(ctx, databaseURL, database.Options{MaxOpenConns: 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := database.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	return &Database{DB: db, URL: databaseURL, Name: name}
}

// Redis is a client and a key prefix that no other test run uses. Keys under
// the prefix are deleted when the test ends.
type Redis struct {
	Client  rueidis.Client
	Address string
	Prefix  string
}

// NewRedis connects to the test Redis and picks a fresh key prefix.
func NewRedis(t testing.TB) *Redis {
	t.Helper()
	client, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:  []string{RedisAddress()},
		DisableCache: true,
	})
	if err != nil {
		t.Fatalf("connect to Redis at %s: %v (start it with: redis-server --daemonize yes)", RedisAddress(), err)
	}
	prefix := "test:" + runLabel() + sanitize(t.Name()) + ":" + randomSuffix() + ":"
	t.Cleanup(func() {
		deleteKeys(client, prefix)
		client.Close()
	})
	return &Redis{Client: client, Address: RedisAddress(), Prefix: prefix}
}

func deleteKeys(client rueidis.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var cursor uint64
	for {
		entry, err := client.Do(ctx, client.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
		if err != nil {
			return
		}
		if len(entry.Elements) > 0 {
			client.Do(ctx, client.B().Unlink().Key(entry.Elements...).Build())
		}
		cursor = entry.Cursor
		if cursor == 0 {
			return
		}
	}
}

func sanitize(name string) string {
	var builder strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			builder.WriteRune(r)
		default:
			builder.WriteByte('_')
		}
		if builder.Len() >= 30 {
			break
		}
	}
	return builder.String()
}

func randomSuffix() string {
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(suffix)
}
