// Package redisclient opens the rueidis client both binaries use, with an
// error that says how to start Redis when it cannot be reached.
package redisclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// ErrUnreachable is wrapped by Open when no Redis server answers.
var ErrUnreachable = errors.New("Redis is unreachable")

// Options configure the client.
type Options struct {
	Address  string
	Password string
	// BlockingPoolSize bounds the connections for blocking commands such as
	// XREADGROUP BLOCK; rueidis keeps them apart from the pipelined one.
	BlockingPoolSize int
}

// Open connects to Redis and checks the connection with PING.
func Open(ctx context.Context, options Options) (rueidis.Client, error) {
	client, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:      []string{options.Address},
		Password:         options.Password,
		DisableCache:     true, // the system does not use client-side caching
		BlockingPoolSize: options.BlockingPoolSize,
		Dialer:           dialer(),
		ConnWriteTimeout: 5 * time.Second,
	})
	if err != nil {
		return nil, explain(options.Address, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Do(pingCtx, client.B().Ping().Build()).Error(); err != nil {
		client.Close()
		return nil, explain(options.Address, err)
	}
	return client, nil
}

func explain(address string, err error) error {
	port := "6379"
	if _, addressPort, splitErr := net.SplitHostPort(address); splitErr == nil && addressPort != "" {
		port = addressPort
	}
	return fmt.Errorf("%w at %s: %v\n"+
		"  Start it and try again, for example:\n"+
		"    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port %s\n"+
		"  or set REDIS_ADDR to a server that is running", ErrUnreachable, address, err, port)
}

// IsBusyGroup reports whether err is the error Redis returns for creating
// a consumer group that exists.
func IsBusyGroup(err error) bool { return hasRedisPrefix(err, "BUSYGROUP") }

// IsNoGroup reports whether err is the error Redis returns for reading
// through a consumer group that does not exist, as after Redis restarted
// empty or failed over to a replica that lacks the group.
func IsNoGroup(err error) bool { return hasRedisPrefix(err, "NOGROUP") }

func hasRedisPrefix(err error, prefix string) bool {
	var redisErr *rueidis.RedisError
	return errors.As(err, &redisErr) && strings.HasPrefix(redisErr.Error(), prefix)
}
