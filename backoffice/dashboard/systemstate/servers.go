package systemstate

import (
	"sort"
	"time"

	"github.com/sh-preschool/preschool/backoffice/dashboard/alerts"
	"github.com/sh-preschool/preschool/shared/linkhealth"
)

// Codes of the server thresholds (migration 0023). The shares are
// fractions and the latency is in milliseconds.
const (
	ThresholdCPU     = "server_cpu_usage"
	ThresholdMemory  = "server_memory_usage"
	ThresholdDisk    = "server_disk_usage"
	ThresholdLatency = "server_latency_ms"
)

// Server statuses besides StatusOK and StatusUnknown.
const (
	// StatusAlert is a server with a figure past its threshold or a failed
	// probe.
	StatusAlert = "alert"
)

// Breach is one of a server's figures past its threshold, or a probe
// that failed (then Threshold is 0 and ErrorCode is set).
type Breach struct {
	Code      string  `json:"code"`
	Name      string  `json:"name"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	ErrorCode string  `json:"errorCode,omitempty"`
}

// Server is one process's host as its latest heartbeat shows it. The
// drill-down lists its breaches and links.
type Server struct {
	Instance string    `json:"instance"`
	Tier     string    `json:"tier"`
	Host     string    `json:"host"`
	Status   string    `json:"status"`
	LastSeen time.Time `json:"lastSeen"`
	// The figures below are empty when Status is unknown.
	CPU                 *float64            `json:"cpu,omitempty"`
	Memory              *float64            `json:"memory,omitempty"`
	Disk                *float64            `json:"disk,omitempty"`
	CPUs                int                 `json:"cpus,omitempty"`
	MemoryBytes         uint64              `json:"memoryBytes,omitempty"`
	DiskBytes           uint64              `json:"diskBytes,omitempty"`
	ResourceError       string              `json:"resourceError,omitempty"`
	LatencyMilliseconds map[string]float64  `json:"latencyMilliseconds,omitempty"`
	ProbeErrors         map[string]string   `json:"probeErrors,omitempty"`
	Breaches            []Breach            `json:"breaches"`
	Links               []linkhealth.Status `json:"links"`
}

// Servers returns every process of the heartbeats, checked against the
// thresholds (missing thresholds check nothing). Servers in alert come
// first, then unknown ones (未上报), then healthy ones, each group in
// instance order.
func Servers(heartbeats []Heartbeat, thresholds []alerts.Threshold, now time.Time) []Server {
	byCode := map[string]alerts.Threshold{}
	for _, threshold := range thresholds {
		byCode[threshold.Code] = threshold
	}
	servers := make([]Server, 0, len(heartbeats))
	for _, heartbeat := range heartbeats {
		server := Server{Instance: heartbeat.Instance, LastSeen: heartbeat.LastSeen, Status: StatusUnknown, Breaches: []Breach{}, Links: []linkhealth.Status{}}
		if heartbeat.Report != nil {
			server.Tier, server.Host = heartbeat.Report.Tier, heartbeat.Report.Host
		}
		if heartbeat.Fresh(now) {
			server.fill(*heartbeat.Report, byCode)
		}
		servers = append(servers, server)
	}
	rank := map[string]int{StatusAlert: 0, StatusUnknown: 1, StatusOK: 2}
	sort.SliceStable(servers, func(i, j int) bool { return rank[servers[i].Status] < rank[servers[j].Status] })
	return servers
}

func (s *Server) fill(report linkhealth.Report, thresholds map[string]alerts.Threshold) {
	resources := report.Resources
	s.Status = StatusOK
	s.LastSeen = report.ReportedAt
	s.CPUs, s.MemoryBytes, s.DiskBytes = resources.CPUs, resources.MemoryBytes, resources.DiskBytes
	s.ResourceError = report.ResourceError
	s.LatencyMilliseconds, s.ProbeErrors = report.LatencyMilliseconds, report.ProbeErrors
	s.Links = report.Links

	if report.ResourceError == "" {
		s.CPU, s.Memory, s.Disk = &resources.CPU, &resources.Memory, &resources.Disk
		s.check(thresholds, ThresholdCPU, "CPU 使用率", resources.CPU)
		s.check(thresholds, ThresholdMemory, "内存使用率", resources.Memory)
		s.check(thresholds, ThresholdDisk, "磁盘使用率", resources.Disk)
	}

	targets := make([]string, 0, len(report.LatencyMilliseconds))
	for target := range report.LatencyMilliseconds {
		targets = append(targets, target)
	}
	sort.Strings(targets)
	for _, target := range targets {
		s.check(thresholds, ThresholdLatency, formatLatency(target)+" 往返延迟（毫秒）", report.LatencyMilliseconds[target])
	}

	failed := make([]string, 0, len(report.ProbeErrors))
	for target := range report.ProbeErrors {
		failed = append(failed, target)
	}
	sort.Strings(failed)
	for _, target := range failed {
		s.Breaches = append(s.Breaches, Breach{Code: "probe_failed", Name: formatLatency(target) + " 连接失败", ErrorCode: report.ProbeErrors[target]})
	}

	if len(s.Breaches) > 0 || report.ResourceError != "" {
		s.Status = StatusAlert
	}
}

func (s *Server) check(thresholds map[string]alerts.Threshold, code, name string, value float64) {
	threshold, ok := thresholds[code]
	if !ok {
		return
	}
	if threshold.Breaches(value) {
		s.Breaches = append(s.Breaches, Breach{Code: code, Name: name, Value: value, Threshold: threshold.Threshold})
	}
}
