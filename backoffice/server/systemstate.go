package server

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/shared/hoststats"
	"github.com/sh-preschool/preschool/shared/linkhealth"
)

// errNoConsumerGroup is the drain link's failure when the stream has no
// back-office consumer group, so nothing reads the submissions.
var errNoConsumerGroup = linkhealth.CodedError{Code: "no_consumer_group", Err: errors.New("the stream has no back-office consumer group")}

// heartbeat returns the reporter of this process's host use and links. It
// probes PostgreSQL with SELECT 1 and, in a process that drains the stream,
// Redis with XINFO GROUPS, which also checks that the consumer group
// exists. A process without workers probes Redis with PING.
func (b *BackOffice) heartbeat() *linkhealth.Reporter {
	probes := []linkhealth.Probe{{
		Target: "postgresql",
		Check: func(ctx context.Context) error {
			_, err := b.db.ExecContext(ctx, "SELECT 1")
			return err
		},
	}}
	if b.config.Workers {
		b.links.Register(linkhealth.LinkDrain, nil)
		probes = append(probes, linkhealth.Probe{
			Target: "redis", Link: linkhealth.LinkDrain, Interface: "XINFO GROUPS " + b.keys.Stream(),
			Check: b.checkConsumerGroup,
		})
	} else {
		probes = append(probes, linkhealth.Probe{
			Target: "redis",
			Check:  func(ctx context.Context) error { return b.redis.Do(ctx, b.redis.B().Ping().Build()).Error() },
		})
	}
	return &linkhealth.Reporter{
		Redis: b.redis, Keys: linkhealth.Keys{Prefix: b.config.RedisPrefix},
		Tier: linkhealth.TierBackOffice, Instance: linkhealth.DefaultInstance(linkhealth.TierBackOffice),
		Interval: b.config.SystemStateInterval, Tracker: b.links,
		Sampler: &hoststats.Sampler{DiskPath: b.config.SystemStateDiskPath},
		Probes:  probes,
	}
}

func (b *BackOffice) checkConsumerGroup(ctx context.Context) error {
	groups, err := b.redis.Do(ctx, b.redis.B().XinfoGroups().Key(b.keys.Stream()).Build()).ToArray()
	if err != nil {
		if rueidis.IsRedisNil(err) || strings.Contains(strings.ToLower(err.Error()), "no such key") {
			return errNoConsumerGroup
		}
		return err
	}
	for _, group := range groups {
		fields, err := group.AsMap()
		if err != nil {
			return err
		}
		name := fields["name"]
		if groupName, _ := name.ToString(); groupName == b.keys.ConsumerGroup() {
			return nil
		}
	}
	return errNoConsumerGroup
}
