package redisclient

import (
	"errors"
	"strings"
	"testing"
)

// TestExplainNamesThePort checks that the start-up hint starts Redis on
// the port REDIS_ADDR names.
func TestExplainNamesThePort(t *testing.T) {
	err := explain("127.0.0.1:46379", errors.New("connection refused"))
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("error %v does not wrap ErrUnreachable", err)
	}
	if !strings.Contains(err.Error(), "--port 46379") {
		t.Errorf("hint %q does not start Redis on port 46379", err)
	}
	if err := explain("redis.internal", errors.New("no port")); !strings.Contains(err.Error(), "--port 6379") {
		t.Errorf("hint %q for an address without a port does not use 6379", err)
	}
}
