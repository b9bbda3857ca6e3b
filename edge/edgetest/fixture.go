// Package edgetest is the shared fixture of the edge's tests. It seeds a
// database with Shanghai's divisions and demo data and builds the catalogue
// from it. It also provides a test keyring, builders of valid registrations,
// and a whole edge started in-process against the local Redis and the
// simulators.
//
// Call Run from each test package's TestMain, so that the package seeds one
// database and shares it:
//
//	func TestMain(m *testing.M) { os.Exit(edgetest.Run(m)) }
package edgetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/publish"
	"github.com/sh-preschool/preschool/backoffice/seed"
	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/snapshot"
	"github.com/sh-preschool/preschool/shared/testenv"
)

// Kindergartens is how many kindergartens the fixture seeds: enough for
// every district to have some, few enough to seed in seconds.
const Kindergartens = 200

// snapshotFileVariable names the environment variable through which a test
// binary passes its built snapshot to the fuzzing worker processes it
// starts, so that the workers need no database of their own.
const snapshotFileVariable = "EDGETEST_SNAPSHOT_FILE"

// Fixture is one test package's seeded data.
type Fixture struct {
	// DB is the seeded database. It is nil in a fuzzing worker process,
	// which loads the snapshot from its parent's file instead.
	DB *sqlx.DB
	// Seeded is the clock the seed opened the current year's windows
	// around: registration and application open an hour before it and
	// close 30 and 60 days after it.
	Seeded    time.Time
	Snapshot  *snapshot.Snapshot
	Catalogue *catalogue.Catalogue
	Year      snapshot.Year
	// KeyringFile and Keyring are a fresh keyring for the package.
	KeyringFile crypto.KeyringFile
	Keyring     *crypto.Keyring

	children atomic.Int64
}

var packageFixture *Fixture

// Run seeds a fresh database, builds the catalogue from it, runs the tests
// and drops the database. It returns the exit code for os.Exit.
func Run(m *testing.M) int {
	tb := &packageTB{name: "edgetest_" + filepath.Base(mustGetwd())}
	code, err := tb.run(func() int {
		packageFixture = newFixture(tb)
		return m.Run()
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "edgetest:", err)
		return 1
	}
	return code
}

// Shared returns the fixture that Run set up, or fails the test when the
// package's TestMain does not call Run.
func Shared(t testing.TB) *Fixture {
	t.Helper()
	if packageFixture == nil {
		t.Fatal("edgetest.Shared needs a TestMain that calls edgetest.Run")
	}
	return packageFixture
}

func newFixture(tb *packageTB) *Fixture {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	f := &Fixture{KeyringFile: crypto.GenerateKeyring("test1")}
	keyring, err := crypto.NewKeyring(f.KeyringFile)
	if err != nil {
		tb.Fatalf("test keyring: %v", err)
	}
	f.Keyring = keyring

	if path := os.Getenv(snapshotFileVariable); path != "" {
		f.Snapshot, f.Seeded = loadSnapshot(tb, path)
	} else {
		f.Seeded = time.Now()
		database := testenv.NewDatabase(tb)
		f.DB = database.DB
		if _, err := seed.Run(ctx, f.DB, seed.Options{Now: f.Seeded, Demo: true, Kindergartens: Kindergartens}); err != nil {
			tb.Fatalf("seed: %v", err)
		}
		publisher := &publish.Publisher{DB: f.DB, Now: time.Now}
		built, err := publisher.Build(ctx)
		if err != nil {
			tb.Fatalf("build snapshot: %v", err)
		}
		f.Snapshot = built
		saveSnapshot(tb, built, f.Seeded)
	}

	f.Catalogue, err = catalogue.New(f.Snapshot)
	if err != nil {
		tb.Fatalf("index snapshot: %v", err)
	}
	year, ok := f.Catalogue.CurrentYear()
	if !ok {
		tb.Fatal("the seeded snapshot has no enrolment year")
	}
	f.Year = year
	return f
}

// saveSnapshot writes the snapshot to a temporary file and names it in the
// environment, which the fuzzing workers inherit.
func saveSnapshot(tb *packageTB, s *snapshot.Snapshot, seeded time.Time) {
	encoded, err := snapshot.Encode(s)
	if err != nil {
		tb.Fatalf("encode snapshot: %v", err)
	}
	file, err := os.CreateTemp("", "edgetest-snapshot-*.gz")
	if err != nil {
		tb.Fatalf("save snapshot: %v", err)
	}
	path := file.Name()
	tb.Cleanup(func() { os.Remove(path) })
	_, writeErr := file.Write(encoded)
	if err := errors.Join(writeErr, file.Close(), os.Chtimes(path, seeded, seeded)); err != nil {
		tb.Fatalf("save snapshot: %v", err)
	}
	os.Setenv(snapshotFileVariable, path)
}

// loadSnapshot reads the parent process's snapshot. The file's modification
// time carries the seed clock.
func loadSnapshot(tb *packageTB, path string) (*snapshot.Snapshot, time.Time) {
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read snapshot from %s=%s: %v", snapshotFileVariable, path, err)
	}
	decoded, err := snapshot.Decode(data)
	if err != nil {
		tb.Fatalf("decode snapshot %s: %v", path, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		tb.Fatalf("stat snapshot %s: %v", path, err)
	}
	return decoded, info.ModTime()
}

// Keys returns the Redis key names under prefix.
func Keys(prefix string) enrolment.Keys { return enrolment.Keys{Prefix: prefix} }

func mustGetwd() string {
	directory, err := os.Getwd()
	if err != nil {
		return "package"
	}
	return directory
}

// CatalogueWith returns a catalogue of a copy of the fixture's snapshot
// that edit changed. The copy's slices are the copy's own, so edit may
// replace, append to or change their elements.
func (f *Fixture) CatalogueWith(t testing.TB, edit func(s *snapshot.Snapshot)) *catalogue.Catalogue {
	t.Helper()
	copied := *f.Snapshot
	copied.Years = slices.Clone(copied.Years)
	copied.Districts = slices.Clone(copied.Districts)
	copied.Streets = slices.Clone(copied.Streets)
	copied.Committees = slices.Clone(copied.Committees)
	copied.Categories = slices.Clone(copied.Categories)
	copied.Entries = slices.Clone(copied.Entries)
	copied.Campuses = slices.Clone(copied.Campuses)
	copied.Rules = slices.Clone(copied.Rules)
	copied.Forms = slices.Clone(copied.Forms)
	edit(&copied)
	c, err := catalogue.New(&copied)
	if err != nil {
		t.Fatalf("index edited snapshot: %v", err)
	}
	return c
}
