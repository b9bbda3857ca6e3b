// Package dev holds the tests of the development start script, run.sh.
package dev

import (
	"os/exec"
	"strings"
	"testing"
)

// address runs one of run.sh's address functions on value in bash.
func address(t *testing.T, function, value string) string {
	t.Helper()
	script := `source <(sed -n '/^` + function + `()/,/^}/p' run.sh) && ` + function + ` "$1"`
	out, err := exec.Command("bash", "-c", script, "bash", value).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v: %s", function, value, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestPostgresAddress(t *testing.T) {
	tests := []struct{ url, want string }{
		{"postgres://postgres@127.0.0.1:5432/preschool?sslmode=disable", "127.0.0.1 5432"},
		{"postgres:///preschool?host=127.0.0.1&user=postgres&sslmode=disable", "127.0.0.1 5432"},
		{"postgres://postgres@[::1]:5433/preschool", "::1 5433"},
		{"postgresql://user:secret@db.example/preschool", "db.example 5432"},
		{"postgres://127.0.0.1/preschool?port=6543", "127.0.0.1 6543"},
		// Left to the binaries: Unix sockets, several hosts, key=value.
		{"postgres:///preschool?host=/var/run/postgresql", ""},
		{"postgres://one:5432,two:5432/preschool", ""},
		{"host=127.0.0.1 dbname=preschool", ""},
	}
	for _, test := range tests {
		if got := address(t, "pg_address", test.url); got != test.want {
			t.Errorf("pg_address(%q) = %q, want %q", test.url, got, test.want)
		}
	}
}

func TestRedisAddress(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"127.0.0.1:6379", "127.0.0.1 6379"},
		{"[::1]:6380", "::1 6380"},
		{"redis.example:6379", "redis.example 6379"},
		{"127.0.0.1", ""},
	}
	for _, test := range tests {
		if got := address(t, "redis_address", test.addr); got != test.want {
			t.Errorf("redis_address(%q) = %q, want %q", test.addr, got, test.want)
		}
	}
}
