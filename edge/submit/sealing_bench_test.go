package submit_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/edge/submit"
	"github.com/sh-preschool/preschool/shared/testenv"
)

// Sizes of the sealing-cost benchmark: after a warm-up batch per mode,
// sealingRounds rounds of one batch of sealingBatch registrations per mode,
// in alternating order, sent by sealingWorkers goroutines like concurrent
// requests.
const (
	sealingRounds  = 30
	sealingBatch   = 300
	sealingWorkers = 8
)

// submitBatch registers every request through service with workers
// goroutines and returns the time taken.
func submitBatch(b *testing.B, service *submit.Service, requests []*precheck.RegistrationRequest, offset int) time.Duration {
	b.Helper()
	var wait sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, len(requests))
	start := time.Now()
	for range sealingWorkers {
		wait.Go(func() {
			for i := range next {
				receipt, err := service.Register(context.Background(), "bench-parent-"+strconv.Itoa(offset+i), requests[i])
				if err != nil || receipt.Duplicate {
					errs <- fmt.Errorf("register %d: %v (duplicate %v)", i, err, receipt.Duplicate)
				}
			}
		})
	}
	for i := range requests {
		next <- i
	}
	close(next)
	wait.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return elapsed
}

// BenchmarkSealingOverhead measures the accepted-registrations rate of the
// edge's submit path (pre-check, sealing, the claim script and XADD on the
// test Redis) with SM4 sealing and without, in alternating rounds of one
// run. It compares the median rates of the rounds, which a load spike on a
// shared machine moves less than a total, and prints sealed_per_s,
// plain_per_s and overhead_pct. Run it with -benchtime=1x, as
// `make bench-sealing` does.
func BenchmarkSealingOverhead(b *testing.B) {
	f := edgetest.Shared(b)
	services := map[bool]*submit.Service{}
	for _, plain := range []bool{false, true} {
		redis := testenv.NewRedis(b)
		services[plain] = newService(f, redis.Client, redis.Prefix)
		if plain {
			submit.StorePlaintextForBenchmark(services[plain])
		}
	}
	batch := func() []*precheck.RegistrationRequest {
		requests := make([]*precheck.RegistrationRequest, sealingBatch)
		for i := range requests {
			requests[i] = f.Registration(b)
		}
		return requests
	}
	offset := 0
	// run submits one batch and returns its rate and the process's CPU time
	// per submission in microseconds. The CPU time leaves out Redis, which
	// is another process, as it runs on other hosts in production.
	run := func(plain bool) (float64, float64) {
		requests := batch()
		before := processCPU(b)
		elapsed := submitBatch(b, services[plain], requests, offset)
		cpu := processCPU(b) - before
		offset += len(requests)
		return float64(len(requests)) / elapsed.Seconds(), float64(cpu.Microseconds()) / float64(len(requests))
	}
	rates := map[bool][]float64{}
	cpuTimes := map[bool][]float64{}
	for range b.N {
		run(false)
		run(true)
		for round := range sealingRounds {
			for _, plain := range []bool{round%2 == 1, round%2 == 0} {
				rate, cpu := run(plain)
				rates[plain] = append(rates[plain], rate)
				cpuTimes[plain] = append(cpuTimes[plain], cpu)
			}
		}
	}
	sealedRate, plainRate := median(rates[false]), median(rates[true])
	overhead := (plainRate - sealedRate) / plainRate * 100
	sealedCPU, plainCPU := median(cpuTimes[false]), median(cpuTimes[true])
	b.ReportMetric(sealedRate, "sealed/s")
	b.ReportMetric(plainRate, "plain/s")
	b.ReportMetric(overhead, "overhead%")
	fmt.Printf("sealed_per_s=%.0f plain_per_s=%.0f overhead_pct=%.1f sealed_cpu_us=%.0f plain_cpu_us=%.0f cpu_overhead_pct=%.1f\n",
		sealedRate, plainRate, overhead, sealedCPU, plainCPU, (sealedCPU-plainCPU)/plainCPU*100)
}

// processCPU returns the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	b.Helper()
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		b.Fatal(err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

func median(values []float64) float64 {
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	middle := len(sorted) / 2
	if len(sorted)%2 == 0 {
		return (sorted[middle-1] + sorted[middle]) / 2
	}
	return sorted[middle]
}
