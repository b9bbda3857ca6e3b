package hoststats

import (
	"os"
	"path/filepath"
	"testing"
)

func writeProc(t *testing.T, dir, stat string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSampleFromProc(t *testing.T) {
	dir := t.TempDir()
	meminfo := "MemTotal:       8000000 kB\nMemFree:         1000000 kB\nMemAvailable:    2000000 kB\n"
	if err := os.WriteFile(filepath.Join(dir, "meminfo"), []byte(meminfo), 0o600); err != nil {
		t.Fatal(err)
	}
	// user nice system idle iowait irq softirq steal guest guest_nice
	writeProc(t, dir, "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 50 0 50 350 50 0 0 0 0 0\ncpu1 50 0 50 350 50 0 0 0 0 0\nintr 1\n")
	sampler := &Sampler{ProcDir: dir, DiskPath: dir}
	if _, err := sampler.Sample(); err != nil {
		t.Fatalf("first sample: %v", err)
	}

	// 300 more busy jiffies out of 400: 75% busy since the first sample.
	writeProc(t, dir, "cpu  250 0 250 750 150 0 0 0 0 0\ncpu0 125 0 125 375 75 0 0 0 0 0\ncpu1 125 0 125 375 75 0 0 0 0 0\n")
	sample, err := sampler.Sample()
	if err != nil {
		t.Fatalf("second sample: %v", err)
	}
	if sample.CPU < 0.749 || sample.CPU > 0.751 {
		t.Errorf("CPU = %v, want 0.75", sample.CPU)
	}
	if sample.CPUs != 2 {
		t.Errorf("CPUs = %d, want 2", sample.CPUs)
	}
	if sample.Memory < 0.749 || sample.Memory > 0.751 {
		t.Errorf("memory = %v, want 0.75 (1 - available ÷ total)", sample.Memory)
	}
	if sample.MemoryBytes != 8000000*1024 {
		t.Errorf("memory bytes = %d, want %d", sample.MemoryBytes, 8000000*1024)
	}
	if sample.Disk <= 0 || sample.Disk > 1 || sample.DiskBytes == 0 {
		t.Errorf("disk = %v of %d bytes, want a share of a real file system", sample.Disk, sample.DiskBytes)
	}
}

func TestSampleRejectsBadProc(t *testing.T) {
	dir := t.TempDir()
	writeProc(t, dir, "intr 1\n")
	if _, err := (&Sampler{ProcDir: dir}).Sample(); err == nil {
		t.Error("sample of a stat file without a cpu line succeeded")
	}
	writeProc(t, dir, "cpu  1 x 1 1\n")
	if _, err := (&Sampler{ProcDir: dir}).Sample(); err == nil {
		t.Error("sample of a stat file with an invalid field succeeded")
	}
	writeProc(t, dir, "cpu  1 1 1 1\n")
	if _, err := (&Sampler{ProcDir: dir}).Sample(); err == nil {
		t.Error("sample without meminfo succeeded")
	}
}

func TestSampleOfThisHost(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc on this host")
	}
	sample, err := (&Sampler{}).Sample()
	if err != nil {
		t.Fatalf("sample: %v", err)
	}
	if sample.CPUs == 0 || sample.MemoryBytes == 0 || sample.Memory <= 0 || sample.Memory >= 1 {
		t.Errorf("sample = %+v, want CPUs and a memory share", sample)
	}
}
