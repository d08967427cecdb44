package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Result is one mode's figures against one issuer.
type Result struct {
	Mode     string  `json:"mode"`
	Issuer   string  `json:"issuer"`
	Skipped  string  `json:"skipped,omitempty"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	PerSec   float64 `json:"req_per_sec"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	// FirstError is one error message, to say what went wrong.
	FirstError string `json:"first_error,omitempty"`
	// Hint says what an error probably means, when it is a known case.
	Hint string `json:"hint,omitempty"`
	// ServerRSSKiB is the server's resident memory after the mode, when
	// --server-pid names it.
	ServerRSSKiB int64 `json:"server_rss_kib,omitempty"`
	// ServerCPUPerReqMs is the server's CPU time (user and system) during
	// the measurement divided by the requests (answered and failed), when
	// --server-pid names it; LoadCPUPerReqMs is the same for torii-load
	// itself. Less sensitive than req/s to other work on the machine.
	ServerCPUPerReqMs float64 `json:"server_cpu_ms_per_req,omitempty"`
	LoadCPUPerReqMs   float64 `json:"load_cpu_ms_per_req,omitempty"`
}

// recorder is one worker's measurements; workers never share one.
type recorder struct {
	lat      []time.Duration
	errors   int
	firstErr error
}

func (r *recorder) record(d time.Duration, err error) {
	if err != nil {
		r.errors++
		if r.firstErr == nil {
			r.firstErr = err
		}
		return
	}
	r.lat = append(r.lat, d)
}

// summarize merges the workers' recorders: req/s counts successful requests
// only; latencies are those of successful requests.
func summarize(mode, issuer string, elapsed time.Duration, recs []*recorder) Result {
	res := Result{Mode: mode, Issuer: issuer, Seconds: elapsed.Seconds()}
	var all []time.Duration
	for _, r := range recs {
		all = append(all, r.lat...)
		res.Errors += r.errors
		if res.FirstError == "" && r.firstErr != nil {
			res.FirstError = r.firstErr.Error()
		}
	}
	res.Hint = hintFor(res.FirstError)
	res.Requests = len(all)
	if elapsed > 0 {
		res.PerSec = float64(len(all)) / elapsed.Seconds()
	}
	if len(all) > 0 {
		slices.Sort(all)
		res.P50ms = ms(percentile(all, 0.50))
		res.P99ms = ms(percentile(all, 0.99))
		res.MaxMs = ms(all[len(all)-1])
	}
	return res
}

// hintFor explains an error message torii-load's users keep meeting: a
// server that refuses the load itself (every request after the first few
// hundred failing with 429 is a limit, not a failure under load).
func hintFor(firstErr string) string {
	if strings.Contains(firstErr, "HTTP 429") {
		return "the server rate-limits these requests (HTTP 429): a login throttle per user (spread the load with more --user) " +
			"or a limit per client address (torii: the throttle section of its config, docs/security.md)"
	}
	return ""
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printHeader(w io.Writer) {
	fmt.Fprintf(w, "%-10s %9s %10s %9s %9s %9s %7s  %s\n", "mode", "requests", "req/s", "p50ms", "p99ms", "maxms", "errors", "issuer")
}

func printResult(w io.Writer, r Result) {
	if r.Skipped != "" {
		fmt.Fprintf(w, "%-10s skipped: %s  %s\n", r.Mode, r.Skipped, r.Issuer)
		return
	}
	fmt.Fprintf(w, "%-10s %9d %10.1f %9.2f %9.2f %9.2f %7d  %s", r.Mode, r.Requests, r.PerSec, r.P50ms, r.P99ms, r.MaxMs, r.Errors, r.Issuer)
	if r.ServerRSSKiB > 0 {
		fmt.Fprintf(w, "  rss=%dKiB", r.ServerRSSKiB)
	}
	if r.ServerCPUPerReqMs > 0 {
		fmt.Fprintf(w, "  server_cpu=%.3fms/req", r.ServerCPUPerReqMs)
	}
	if r.LoadCPUPerReqMs > 0 {
		fmt.Fprintf(w, "  load_cpu=%.3fms/req", r.LoadCPUPerReqMs)
	}
	if r.FirstError != "" {
		fmt.Fprintf(w, "  first error: %s", r.FirstError)
	}
	if r.Hint != "" {
		fmt.Fprintf(w, "  hint: %s", r.Hint)
	}
	fmt.Fprintln(w)
}

// Ratio compares issuer B with issuer A for one mode: B/A.
type Ratio struct {
	Mode   string  `json:"mode"`
	PerSec float64 `json:"req_per_sec_b_over_a"`
	P50    float64 `json:"p50_b_over_a"`
	P99    float64 `json:"p99_b_over_a"`
}

func ratio(a, b Result) Ratio {
	div := func(x, y float64) float64 {
		if y == 0 {
			return 0
		}
		return x / y
	}
	return Ratio{Mode: a.Mode, PerSec: div(b.PerSec, a.PerSec), P50: div(b.P50ms, a.P50ms), P99: div(b.P99ms, a.P99ms)}
}

func printRatio(w io.Writer, r Ratio) {
	fmt.Fprintf(w, "%-10s ratio B/A: req/s %.2fx  p50 %.2fx  p99 %.2fx\n", r.Mode, r.PerSec, r.P50, r.P99)
}
