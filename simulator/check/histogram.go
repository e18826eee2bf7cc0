package check

import (
	"math"
	"time"
)

// Histogram of latencies in log-spaced buckets: 8 per octave from 1µs (about 9 % resolution)
// up to about 18 minutes, fixed size whatever the number of samples.
type Histogram struct {
	Counts [bucketCount]uint64 `json:"-"`
	N      uint64              `json:"count"`
	Min    time.Duration       `json:"min_ns"`
	Max    time.Duration       `json:"max_ns"`
	Sum    time.Duration       `json:"sum_ns"`
}

const (
	bucketsPerOctave = 8
	octaves          = 30
	bucketCount      = bucketsPerOctave*octaves + 1 // bucket 0: below 1µs
)

func bucketOf(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us < 1 {
		return 0
	}
	b := 1 + int(math.Log2(us)*bucketsPerOctave)
	return min(b, bucketCount-1)
}

// BucketUpper is the upper bound of bucket i.
func BucketUpper(i int) time.Duration {
	if i <= 0 {
		return time.Microsecond
	}
	return time.Duration(math.Exp2(float64(i)/bucketsPerOctave) * float64(time.Microsecond))
}

// Add records one latency; a negative one (clock step) counts as zero.
func (h *Histogram) Add(d time.Duration) {
	d = max(d, 0)
	if h.N == 0 || d < h.Min {
		h.Min = d
	}
	h.Max = max(h.Max, d)
	h.N++
	h.Sum += d
	h.Counts[bucketOf(d)]++
}

// Merge adds o's samples to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.N == 0 {
		return
	}
	if h.N == 0 || o.Min < h.Min {
		h.Min = o.Min
	}
	h.Max = max(h.Max, o.Max)
	h.N += o.N
	h.Sum += o.Sum
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
}

// Quantile returns the latency below which a fraction q of the samples fall, to the
// resolution of a bucket and clamped to the observed minimum and maximum.
func (h *Histogram) Quantile(q float64) time.Duration {
	switch {
	case h.N == 0:
		return 0
	case q <= 0:
		return h.Min
	case q >= 1:
		return h.Max
	}
	rank := uint64(math.Ceil(q * float64(h.N)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			return min(max(BucketUpper(i), h.Min), h.Max)
		}
	}
	return h.Max
}

// Mean latency.
func (h *Histogram) Mean() time.Duration {
	if h.N == 0 {
		return 0
	}
	return h.Sum / time.Duration(h.N)
}

// Percentiles is the usual summary of a Histogram.
type Percentiles struct {
	Count uint64        `json:"count"`
	Min   time.Duration `json:"min_ns"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Percentiles summarises h.
func (h *Histogram) Percentiles() Percentiles {
	return Percentiles{
		Count: h.N, Min: h.Min, Mean: h.Mean(), Max: h.Max,
		P50: h.Quantile(0.50), P90: h.Quantile(0.90), P99: h.Quantile(0.99), P999: h.Quantile(0.999),
	}
}

// Bucket is one non-empty bucket of a histogram, for reports.
type Bucket struct {
	Upper time.Duration `json:"upper_ns"`
	Count uint64        `json:"count"`
}

// Buckets lists the range of buckets from the first to the last non-empty one.
func (h *Histogram) Buckets() []Bucket {
	first, last := -1, -1
	for i, c := range h.Counts {
		if c > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil
	}
	out := make([]Bucket, 0, last-first+1)
	for i := first; i <= last; i++ {
		out = append(out, Bucket{Upper: BucketUpper(i), Count: h.Counts[i]})
	}
	return out
}
