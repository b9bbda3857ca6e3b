package main

import (
	"math/bits"
	"time"
)

// subBucketBits sets the histogram's precision: 2^subBucketBits buckets per
// power of two, so a recorded latency is off by less than 1/64 (1.6 %).
const subBucketBits = 6

// histogramBuckets covers latencies up to 2^40 µs (about 12 days), far
// beyond any request timeout.
const histogramBuckets = (40 - subBucketBits + 1) << subBucketBits

// histogram counts latencies in microseconds in log-linear buckets, like
// HdrHistogram. Each goroutine writes its own histogram, and merge combines
// them after the run.
type histogram struct {
	counts [histogramBuckets]uint32
	total  uint64
	max    time.Duration
}

func bucketOf(microseconds uint64) int {
	if microseconds < 1<<subBucketBits {
		return int(microseconds)
	}
	exponent := bits.Len64(microseconds) - subBucketBits - 1
	index := (exponent+1)<<subBucketBits + int(microseconds>>exponent) - 1<<subBucketBits
	return min(index, histogramBuckets-1)
}

// bucketUpperBound returns the largest latency in microseconds that falls
// into bucket index.
func bucketUpperBound(index int) uint64 {
	if index < 1<<subBucketBits {
		return uint64(index)
	}
	exponent := index>>subBucketBits - 1
	mantissa := uint64(index&(1<<subBucketBits-1)) + 1<<subBucketBits
	return (mantissa+1)<<exponent - 1
}

func (h *histogram) record(latency time.Duration) {
	microseconds := uint64(max(latency, 0) / time.Microsecond)
	h.counts[bucketOf(microseconds)]++
	h.total++
	h.max = max(h.max, latency)
}

func (h *histogram) merge(other *histogram) {
	for i, count := range other.counts {
		h.counts[i] += count
	}
	h.total += other.total
	h.max = max(h.max, other.max)
}

// quantile returns the upper bound of the bucket that holds quantile q (0 to
// 1) of the recorded latencies, or 0 when nothing was recorded. The upper
// bound never understates a latency.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, count := range h.counts {
		seen += uint64(count)
		if seen >= rank {
			return min(time.Duration(bucketUpperBound(i))*time.Microsecond, h.max)
		}
	}
	return h.max
}
