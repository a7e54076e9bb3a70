package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"
)

// result is one workload's figures.
type result struct {
	Name     string `json:"name"`
	Requests int    `json:"requests"`
	// PerSecond counts the requests answered below 500: a 401 is what a
	// wrong-password login is for, but a 503 (a login shed after waiting
	// queue_timeout for a hash) or a transport error did no work and is
	// only shown in Statuses and Errors.
	PerSecond  float64       `json:"per_second"`
	P50        time.Duration `json:"p50_ns"`
	P99        time.Duration `json:"p99_ns"`
	Statuses   map[int]int   `json:"statuses"`
	Errors     int           `json:"transport_errors"`
	Reference  string        `json:"reference,omitempty"`
	Ratio      float64       `json:"ratio,omitempty"`
	Target     string        `json:"target,omitempty"`
	Met        *bool         `json:"met,omitempty"`
	PeakRSSMiB float64       `json:"peak_rss_mib,omitempty"`
	// CPUPerRequest is the server process's user+system CPU per request
	// answered below 500 (from /proc, or the bench's own for the references
	// it runs itself): independent of the load generator on the same cores,
	// so the figure to optimise and quote.
	CPUPerRequest time.Duration  `json:"cpu_per_request_ns,omitempty"`
	Extra         map[string]any `json:"extra,omitempty"`

	lat     []time.Duration // sorted
	elapsed time.Duration
}

// merge adds another measurement of the same workload.
func (r *result) merge(o result) {
	if r.Statuses == nil {
		r.Statuses = map[int]int{}
	}
	r.Name = o.Name
	r.lat = append(r.lat, o.lat...)
	slices.Sort(r.lat)
	r.elapsed += o.elapsed
	r.Errors += o.Errors
	for k, v := range o.Statuses {
		r.Statuses[k] += v
	}
	r.Requests = len(r.lat)
	r.PerSecond = float64(answered(r.Statuses)) / r.elapsed.Seconds()
	r.P50, r.P99 = percentile(r.lat, 0.50), percentile(r.lat, 0.99)
}

// op is one unit of work; it returns an HTTP status (0 for non-HTTP work).
type op func(ctx context.Context) (status int, err error)

// run calls o from concurrency goroutines for d and measures it.
func run(ctx context.Context, name string, concurrency int, d time.Duration, o op) result {
	type sample struct {
		lat    []time.Duration
		status map[int]int
		errs   int
	}
	samples := make([]sample, concurrency)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range concurrency {
		samples[w].status = map[int]int{}
		wg.Go(func() {
			s := &samples[w]
			for ctx.Err() == nil {
				t := time.Now()
				status, err := o(ctx)
				if ctx.Err() != nil {
					return // cut off by the deadline: not a sample
				}
				s.lat = append(s.lat, time.Since(t))
				if err != nil {
					s.errs++
					continue
				}
				s.status[status]++
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := result{Name: name, Statuses: map[int]int{}}
	var all []time.Duration
	for _, s := range samples {
		all = append(all, s.lat...)
		r.Errors += s.errs
		for k, v := range s.status {
			r.Statuses[k] += v
		}
	}
	slices.Sort(all)
	r.lat, r.elapsed = all, elapsed
	r.Requests = len(all)
	r.PerSecond = float64(answered(r.Statuses)) / elapsed.Seconds()
	r.P50, r.P99 = percentile(all, 0.50), percentile(all, 0.99)
	return r
}

// answered counts the statuses below 500.
func answered(statuses map[int]int) int {
	n := 0
	for k, v := range statuses {
		if k < 500 {
			n += v
		}
	}
	return n
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

// statusList returns the statuses seen, in order.
func statusList(m map[int]int) []int {
	var keys []int
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}

// httpOp returns an op that sends the request built by newReq and reads
// the whole body.
func httpOp(client *http.Client, newReq func(ctx context.Context) *http.Request) op {
	return func(ctx context.Context) (int, error) {
		resp, err := client.Do(newReq(ctx))
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
}

func newClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = concurrency * 2
	t.MaxIdleConnsPerHost = concurrency * 2
	t.MaxConnsPerHost = concurrency
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}
