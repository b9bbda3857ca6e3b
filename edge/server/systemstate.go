package server

import (
	"context"
	"time"

	"github.com/sh-preschool/preschool/edge/visits"
	"github.com/sh-preschool/preschool/shared/hoststats"
	"github.com/sh-preschool/preschool/shared/linkhealth"
	visitkeys "github.com/sh-preschool/preschool/shared/visits"
)

// observeSubmission counts a submission's result and records it as the
// health of the link to the Redis stream. An accepted or duplicate
// submission reached Redis. A failed one (a 5xx response) is counted against
// the stream, although a sealing failure also ends that way. A rejected or
// conflicting one may never have reached Redis, so it records nothing.
func (e *Edge) observeSubmission(kind, result string) {
	e.metrics.submissions.WithLabelValues(kind, result).Inc()
	switch result {
	case "accepted", "duplicate":
		e.links.Success(linkhealth.LinkStream)
	case "failed":
		e.links.Failure(linkhealth.LinkStream, "XADD "+e.keys.Stream(), "store_failed")
	}
}

func (e *Edge) newVisits() *visits.Handlers {
	return &visits.Handlers{
		Redis: e.redis, Keys: visitkeys.Keys{Prefix: e.config.RedisPrefix}, Keyring: e.keyring,
		Timeout: e.config.RedisTimeout, Now: time.Now, ClientAddress: e.clientAddress,
	}
}

// heartbeat returns the reporter of this edge's host use and links. The
// Redis PING doubles as the check of the link to the stream, so an idle
// edge still shows whether it could accept a submission.
func (e *Edge) heartbeat() *linkhealth.Reporter {
	return &linkhealth.Reporter{
		Redis: e.redis, Keys: linkhealth.Keys{Prefix: e.config.RedisPrefix},
		Tier: linkhealth.TierEdge, Instance: linkhealth.DefaultInstance(linkhealth.TierEdge),
		Interval: e.config.SystemStateInterval, Tracker: e.links,
		Sampler: &hoststats.Sampler{DiskPath: e.config.SystemStateDiskPath},
		Probes: []linkhealth.Probe{{
			Target: "redis", Link: linkhealth.LinkStream, Interface: "PING",
			Check: func(ctx context.Context) error { return e.redis.Do(ctx, e.redis.B().Ping().Build()).Error() },
		}},
	}
}
