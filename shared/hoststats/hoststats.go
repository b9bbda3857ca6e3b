// Package hoststats reads the host's CPU, memory and disk use from /proc
// and statfs(2). It works on Linux only, and elsewhere Sample returns an
// error.
//
// NOTE: inside a container, /proc/stat and /proc/meminfo describe the whole
// machine, not the container's cgroup limits.
package hoststats

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Sample is the host's resource use at one moment. Each share is a
// fraction from 0 to 1.
type Sample struct {
	// CPU is the share of CPU time not idle since the previous sample, or
	// since boot on the first.
	CPU         float64 `json:"cpu"`
	Memory      float64 `json:"memory"`
	Disk        float64 `json:"disk"`
	MemoryBytes uint64  `json:"memoryBytes"`
	DiskBytes   uint64  `json:"diskBytes"`
	CPUs        int     `json:"cpus"`
}

// Sampler reads samples. It is not safe for concurrent use, because each
// CPU figure is the difference from the previous sample.
type Sampler struct {
	// DiskPath is a path on the file system whose use is reported.
	DiskPath string
	// ProcDir is the mount point of procfs; empty means /proc.
	ProcDir string

	previousBusy, previousTotal uint64
}

// Sample reads the host's current use. It returns an error when /proc or
// the disk path cannot be read.
func (s *Sampler) Sample() (Sample, error) {
	var sample Sample
	procDir := s.ProcDir
	if procDir == "" {
		procDir = "/proc"
	}

	busy, total, cpus, err := readCPUTimes(procDir + "/stat")
	if err != nil {
		return sample, err
	}
	if total > s.previousTotal && busy >= s.previousBusy {
		sample.CPU = float64(busy-s.previousBusy) / float64(total-s.previousTotal)
	}
	s.previousBusy, s.previousTotal = busy, total
	sample.CPUs = cpus

	memoryTotal, memoryAvailable, err := readMemory(procDir + "/meminfo")
	if err != nil {
		return sample, err
	}
	sample.MemoryBytes = memoryTotal
	if memoryTotal > 0 {
		sample.Memory = 1 - float64(memoryAvailable)/float64(memoryTotal)
	}

	diskPath := s.DiskPath
	if diskPath == "" {
		diskPath = "/"
	}
	var stat syscall.Statfs_t
	if err := syscall.Statfs(diskPath, &stat); err != nil {
		return sample, fmt.Errorf("statfs %s: %w", diskPath, err)
	}
	// Use is measured against what unprivileged users can have, as df(1)
	// does: used ÷ (used + available to them).
	used := (stat.Blocks - stat.Bfree) * uint64(stat.Bsize)
	available := stat.Bavail * uint64(stat.Bsize)
	sample.DiskBytes = stat.Blocks * uint64(stat.Bsize)
	if used+available > 0 {
		sample.Disk = float64(used) / float64(used+available)
	}
	return sample, nil
}

// readCPUTimes returns the busy and total jiffies of the "cpu" line of
// /proc/stat, and the number of cpuN lines.
func readCPUTimes(path string) (busy, total uint64, cpus int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("read %s: %w", path, err)
	}
	found := false
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 0 || !strings.HasPrefix(fields[0], "cpu") {
			continue
		}
		if fields[0] != "cpu" {
			cpus++
			continue
		}
		found = true
		// user nice system idle iowait irq softirq steal; guest time is
		// already inside user and nice.
		for i, field := range fields[1:min(len(fields), 9)] {
			value, err := strconv.ParseUint(field, 10, 64)
			if err != nil {
				return 0, 0, 0, fmt.Errorf("%s: invalid cpu field %q", path, field)
			}
			total += value
			if i != 3 && i != 4 { // idle and iowait
				busy += value
			}
		}
	}
	if !found {
		return 0, 0, 0, fmt.Errorf("%s: no cpu line", path)
	}
	return busy, total, cpus, nil
}

// readMemory returns MemTotal and MemAvailable of /proc/meminfo in bytes.
func readMemory(path string) (total, available uint64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read %s: %w", path, err)
	}
	values := map[string]uint64{}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		name, rest, ok := strings.Cut(scanner.Text(), ":")
		if !ok || (name != "MemTotal" && name != "MemAvailable") {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		kibibytes, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: invalid %s value %q", path, name, fields[0])
		}
		values[name] = kibibytes * 1024
	}
	if values["MemTotal"] == 0 {
		return 0, 0, fmt.Errorf("%s: no MemTotal line", path)
	}
	return values["MemTotal"], values["MemAvailable"], nil
}
