// Package systemstate serves the system state panel's data links, server
// metrics and visits. The processes write them to Redis as heartbeats
// (shared/linkhealth) and counters (shared/visits); this package only
// reads.
package systemstate

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/shared/linkhealth"
)

// Link statuses.
const (
	StatusOK      = "ok"
	StatusFailing = "failing"
	// StatusUnknown is a link no live process reports (未上报): none that
	// uses it has written a heartbeat within linkhealth.StaleAfter
	// intervals.
	StatusUnknown = "unknown"
)

// linkDefinition is one line of the panel's graph: which tier reports it
// and the two nodes it joins.
type linkDefinition struct {
	code, name, from, to, tier string
}

// Node names of the graph.
const (
	nodeEdge       = "信息登记（边缘服务）"
	nodeStream     = "Redis 队列"
	nodeBackOffice = "区级后台"
)

var linkDefinitions = []linkDefinition{
	{linkhealth.LinkStream, "提交写入队列", nodeEdge, nodeStream, linkhealth.TierEdge},
	{linkhealth.LinkDrain, "队列入库", nodeStream, nodeBackOffice, linkhealth.TierBackOffice},
	{linkhealth.LinkIdentity, "统一身份认证", nodeEdge, "统一身份认证", linkhealth.TierEdge},
	{linkhealth.LinkCertificates, "电子证照接口", nodeEdge, "电子证照接口", linkhealth.TierEdge},
	{linkhealth.LinkDataAPI, "数据接口（用数）", nodeBackOffice, "数据接口", linkhealth.TierBackOffice},
	{linkhealth.LinkSMS, "短信网关", nodeBackOffice, "短信网关", linkhealth.TierBackOffice},
	{linkhealth.LinkRating, "好差评系统", nodeBackOffice, "好差评系统", linkhealth.TierBackOffice},
}

// LinkFailure is one process that reports a link failing.
type LinkFailure struct {
	Instance  string     `json:"instance"`
	Breaker   string     `json:"breaker"`
	Interface string     `json:"interface"`
	ErrorCode string     `json:"errorCode"`
	At        *time.Time `json:"at,omitempty"`
}

// Link is one data link as the live processes report it.
type Link struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	From   string `json:"from"`
	To     string `json:"to"`
	Status string `json:"status"`
	// Breaker is the worst breaker state among the reporters: open, then
	// half-open, closed and none. It is empty when no process reports.
	Breaker string `json:"breaker"`
	// Interface and ErrorCode are the failing call of the first failure.
	Interface   string        `json:"interface,omitempty"`
	ErrorCode   string        `json:"errorCode,omitempty"`
	LastSuccess *time.Time    `json:"lastSuccess,omitempty"`
	LastFailure *time.Time    `json:"lastFailure,omitempty"`
	Reporters   int           `json:"reporters"`
	Failures    []LinkFailure `json:"failures"`
}

// Heartbeat is one process's latest report, or its absence.
type Heartbeat struct {
	Instance string
	// LastSeen is when the process last reported, from the instance index.
	LastSeen time.Time
	// Report is nil when the heartbeat key has expired.
	Report *linkhealth.Report
}

// Fresh reports whether the heartbeat exists and is recent at now.
func (h Heartbeat) Fresh(now time.Time) bool {
	return h.Report != nil && !h.Report.Stale(now)
}

// Store reads heartbeats and visit counters from Redis.
type Store struct {
	Redis  rueidis.Client
	Prefix string
}

// Heartbeats returns every process that reported within a day, with its
// latest report when the report has not expired.
func (s *Store) Heartbeats(ctx context.Context) ([]Heartbeat, error) {
	keys := linkhealth.Keys{Prefix: s.Prefix}
	members, err := s.Redis.Do(ctx, s.Redis.B().Zrange().Key(keys.Instances()).Min("0").Max("-1").Withscores().Build()).AsZScores()
	if err != nil {
		return nil, fmt.Errorf("read heartbeat index: %w", err)
	}

	heartbeats := make([]Heartbeat, 0, len(members))
	if len(members) == 0 {
		return heartbeats, nil
	}
	heartbeatKeys := make([]string, len(members))
	for i, member := range members {
		heartbeatKeys[i] = keys.Heartbeat(member.Member)
	}
	values, err := s.Redis.Do(ctx, s.Redis.B().Mget().Key(heartbeatKeys...).Build()).ToArray()
	if err != nil {
		return nil, fmt.Errorf("read heartbeats: %w", err)
	}

	for i, member := range members {
		heartbeat := Heartbeat{Instance: member.Member, LastSeen: time.UnixMilli(int64(member.Score))}
		if value, err := values[i].ToString(); err == nil {
			var report linkhealth.Report
			if err := json.Unmarshal([]byte(value), &report); err != nil {
				return nil, fmt.Errorf("decode heartbeat of %s: %w", member.Member, err)
			}
			heartbeat.Report = &report
		}
		heartbeats = append(heartbeats, heartbeat)
	}
	sort.Slice(heartbeats, func(i, j int) bool { return heartbeats[i].Instance < heartbeats[j].Instance })
	return heartbeats, nil
}

// breakerRank orders breaker states from healthy to broken.
var breakerRank = map[string]int{"": 0, linkhealth.BreakerNone: 1, linkhealth.BreakerClosed: 2, linkhealth.BreakerHalfOpen: 3, linkhealth.BreakerOpen: 4}

// Links returns every data link's state at now from the fresh heartbeats.
// A link is failing when any live process reports it failing, unknown when
// no live process reports it, and ok otherwise.
func Links(heartbeats []Heartbeat, now time.Time) []Link {
	links := make([]Link, 0, len(linkDefinitions))
	for _, definition := range linkDefinitions {
		link := Link{Code: definition.code, Name: definition.name, From: definition.from, To: definition.to, Failures: []LinkFailure{}}
		for _, heartbeat := range heartbeats {
			if !heartbeat.Fresh(now) {
				continue
			}
			for _, status := range heartbeat.Report.Links {
				if status.Link != definition.code {
					continue
				}
				link.add(heartbeat.Instance, status)
			}
		}
		switch {
		case link.Reporters == 0:
			link.Status = StatusUnknown
		case len(link.Failures) > 0:
			link.Status = StatusFailing
			link.Interface, link.ErrorCode = link.Failures[0].Interface, link.Failures[0].ErrorCode
			if link.ErrorCode == "" && link.Failures[0].Breaker == linkhealth.BreakerOpen {
				link.ErrorCode = "breaker_open"
			}
		default:
			link.Status = StatusOK
		}
		links = append(links, link)
	}
	return links
}

func (l *Link) add(instance string, status linkhealth.Status) {
	l.Reporters++
	if breakerRank[status.Breaker] > breakerRank[l.Breaker] {
		l.Breaker = status.Breaker
	}
	l.LastSuccess = latest(l.LastSuccess, status.LastSuccess)
	l.LastFailure = latest(l.LastFailure, status.LastFailure)
	if status.Failing() {
		l.Failures = append(l.Failures, LinkFailure{
			Instance: instance, Breaker: status.Breaker, Interface: status.Interface, ErrorCode: status.ErrorCode, At: status.LastFailure,
		})
	}
}

func latest(a, b *time.Time) *time.Time {
	if a == nil || (b != nil && b.After(*a)) {
		return b
	}
	return a
}

// formatLatency prints a latency target's name for a breach.
func formatLatency(target string) string {
	switch target {
	case "redis":
		return "Redis"
	case "postgresql":
		return "PostgreSQL"
	}
	return strconv.Quote(target)
}
