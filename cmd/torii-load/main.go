// Command torii-load drives a running torii (or any OpenID provider) over
// HTTP like real clients and prints one line per mode: requests per second,
// p50/p99/max latency and errors. See docs/performance.md.
//
//	torii-load --issuer URL [--modes refresh,jwks] [--concurrency 8] [--duration 10s] [--warmup 2s] [--json]
//	torii-load --issuer URL --compare URL2 ...       the same modes against two issuers, with ratios
//	torii-load --seed N --config torii.yaml          fill storage first with N families and N sessions (runs `torii seed`)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	issuer, compare string
	modes           []string
	concurrency     int
	duration        time.Duration
	warmup          time.Duration
	timeout         time.Duration
	sessions, codes int
	procs           int
	clientID        string
	clientSecret    string
	redirectURI     string
	scope           string
	connectorID     string
	users           []user
	json            bool
	serverPID       int
	// seeding
	seed, seedRotated, seedSessions int
	seedExpired                     bool
	config, torii                   string
}

type userList struct{ users *[]user }

func (l userList) String() string { return "" }
func (l userList) Set(v string) error {
	name, pw, ok := strings.Cut(v, ":")
	if !ok || name == "" {
		return errors.New("want EMAIL:PASSWORD")
	}
	*l.users = append(*l.users, user{name: name, password: pw})
	return nil
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("torii-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.issuer, "issuer", "", "issuer URL of the provider under load")
	fs.StringVar(&o.compare, "compare", "", "a second issuer URL: run the same modes against it after --issuer and print ratios (B/A)")
	modes := fs.String("modes", "discovery,jwks,password,refresh", "comma-separated modes: "+strings.Join(allModes, ","))
	fs.IntVar(&o.concurrency, "concurrency", 8, "requests in flight at once (workers)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per mode")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before each mode's measurement")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.IntVar(&o.sessions, "sessions", 0, "refresh mode: sessions (refresh-token chains), at least --concurrency")
	fs.IntVar(&o.codes, "codes", 300, "code mode: codes minted through the login flow before measuring their exchange")
	fs.StringVar(&o.clientID, "client-id", "example-app", "client_id")
	fs.StringVar(&o.clientSecret, "client-secret", "ZXhhbXBsZS1hcHAtc2VjcmV0", "client secret (empty: a public client)")
	fs.StringVar(&o.redirectURI, "redirect-uri", "http://127.0.0.1:5555/callback", "the client's registered redirect URI")
	fs.StringVar(&o.scope, "scope", "openid email profile groups offline_access", "scopes requested")
	fs.StringVar(&o.connectorID, "connector", "", "connector_id for the login flow (when the provider shows a chooser)")
	fs.Var(userList{&o.users}, "user", "EMAIL:PASSWORD of a user (repeat for several; sessions go round robin; default admin@example.com:password)")
	fs.IntVar(&o.procs, "procs", 1, "OS threads running Go code in torii-load (GOMAXPROCS; 0: one per core): one keeps the load generator's share of a machine it shares with the server small")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON instead of lines")
	fs.IntVar(&o.serverPID, "server-pid", 0, "pid of the server (same host): report its resident memory after each mode")
	fs.IntVar(&o.seed, "seed", 0, "before the load, fill the storage of --config with N refresh-token families and N browser sessions (runs `torii seed`)")
	fs.IntVar(&o.seedSessions, "seed-sessions", -1, "--seed: browser sessions to create instead of N (0: none)")
	fs.IntVar(&o.seedRotated, "seed-rotated", 0, "--seed: rotated tokens per family beside the current one")
	fs.BoolVar(&o.seedExpired, "seed-expired", false, "--seed: create the rows already expired (garbage-collection runs)")
	fs.StringVar(&o.config, "config", "", "--seed: the torii config file whose storage is filled")
	fs.StringVar(&o.torii, "torii", "", "--seed: the torii binary (default: torii next to torii-load, else in PATH)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var problems []error
	if o.issuer == "" && o.seed == 0 {
		problems = append(problems, errors.New("--issuer is required"))
	}
	if o.seed < 0 || (o.seed > 0 && o.config == "") {
		problems = append(problems, errors.New("--seed needs a positive N and --config"))
	}
	if o.procs < 0 {
		problems = append(problems, errors.New("--procs must not be negative"))
	}
	if o.concurrency < 1 || o.duration <= 0 || o.warmup < 0 || o.codes < 1 {
		problems = append(problems, errors.New("--concurrency, --duration and --codes must be positive, --warmup not negative"))
	}
	for m := range strings.SplitSeq(*modes, ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		known := false
		for _, k := range allModes {
			known = known || k == m
		}
		if !known {
			problems = append(problems, fmt.Errorf("--modes: unknown mode %q (known: %s)", m, strings.Join(allModes, ",")))
		}
		o.modes = append(o.modes, m)
	}
	if len(o.users) == 0 {
		o.users = []user{{name: "admin@example.com", password: "password"}}
	}
	return o, errors.Join(problems...)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "torii-load: %v\n", err)
		return 2
	}
	if o.procs > 0 {
		// One P: the workers mostly wait for the network, and with more
		// Ps the runtime spends more CPU waking and parking threads than
		// on the requests (about 30 % less CPU per refresh with one).
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(o.procs))
	}
	if o.seed > 0 {
		if err := seed(ctx, o, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "torii-load: seed: %v\n", err)
			return 1
		}
		if o.issuer == "" {
			return 0
		}
	}
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        4 * o.concurrency,
		MaxIdleConnsPerHost: 2 * o.concurrency,
		IdleConnTimeout:     90 * time.Second,
	}
	defer tr.CloseIdleConnections()

	issuers := []string{o.issuer}
	if o.compare != "" {
		issuers = append(issuers, o.compare)
	}
	if !o.json {
		printHeader(stdout)
	}
	results := make([][]Result, len(issuers))
	failed := false
	for i, iss := range issuers {
		t, err := newTarget(ctx, iss, o, tr)
		if err != nil {
			fmt.Fprintf(stderr, "torii-load: %v\n", err)
			return 1
		}
		for _, mode := range o.modes {
			res, err := t.measure(ctx, mode)
			if err != nil {
				fmt.Fprintf(stderr, "torii-load: %s against %s: %v\n", mode, iss, err)
				failed = true
				res = Result{Mode: mode, Issuer: iss, Skipped: "setup failed: " + err.Error()}
			}
			results[i] = append(results[i], res)
			if !o.json {
				printResult(stdout, res)
			}
			if ctx.Err() != nil {
				return 1
			}
		}
	}
	var ratios []Ratio
	if len(issuers) == 2 {
		for j := range results[0] {
			a, b := results[0][j], results[1][j]
			if a.Skipped != "" || b.Skipped != "" {
				continue
			}
			ratios = append(ratios, ratio(a, b))
			if !o.json {
				printRatio(stdout, ratios[len(ratios)-1])
			}
		}
	}
	if o.json {
		var flat []Result
		for _, rs := range results {
			flat = append(flat, rs...)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			Concurrency int      `json:"concurrency"`
			Duration    string   `json:"duration"`
			Results     []Result `json:"results"`
			Ratios      []Ratio  `json:"ratios,omitempty"`
		}{o.concurrency, o.duration.String(), flat, ratios})
	}
	if failed {
		return 1
	}
	return 0
}

// measure sets a mode up, warms it up and measures it.
func (t *target) measure(ctx context.Context, mode string) (Result, error) {
	workers, skip, err := t.setup(ctx, mode)
	if err != nil {
		return Result{}, err
	}
	if skip != "" {
		return Result{Mode: mode, Issuer: t.issuer, Skipped: skip}, nil
	}
	warmup := t.opts.warmup
	if mode == "code" {
		warmup = 0 // minting the codes warmed the server up; warm-up would spend them
	}
	if warmup > 0 {
		drive(ctx, workers, 0, warmup)
	}
	selfBefore, srvBefore := selfCPU(), procCPU(t.opts.serverPID)
	recs, elapsed := drive(ctx, workers, 0, t.opts.duration)
	selfAfter, srvAfter := selfCPU(), procCPU(t.opts.serverPID)
	res := summarize(mode, t.issuer, elapsed, recs)
	if n := res.Requests + res.Errors; n > 0 {
		res.LoadCPUPerReqMs = float64(selfAfter-selfBefore) / float64(time.Millisecond) / float64(n)
		if t.opts.serverPID > 0 && srvBefore >= 0 && srvAfter >= 0 {
			res.ServerCPUPerReqMs = float64(srvAfter-srvBefore) / float64(time.Millisecond) / float64(n)
		}
	}
	if t.opts.serverPID > 0 {
		res.ServerRSSKiB = rssKiB(t.opts.serverPID)
	}
	return res, nil
}

// selfCPU is the CPU time (user and system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the CPU time (user and system) of a process on this host,
// from /proc/PID/stat in clock ticks (assumed 100 a second, Linux's
// USER_HZ); -1 if unknown.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return -1
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces; fields after its ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// rssKiB reads VmRSS of a process on this host (0 if unknown).
func rssKiB(pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// seed runs `torii seed`: it needs torii's own config loader and storage
// backends, which live in the torii command.
func seed(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	bin := o.torii
	if bin == "" {
		bin = "torii"
		if self, err := os.Executable(); err == nil {
			if next := filepath.Join(filepath.Dir(self), "torii"); fileExists(next) {
				bin = next
			}
		}
	}
	sessions := o.seedSessions
	if sessions < 0 {
		sessions = o.seed
	}
	args := []string{"seed", "--families", strconv.Itoa(o.seed), "--sessions", strconv.Itoa(sessions),
		"--rotated", strconv.Itoa(o.seedRotated), "--client-id", o.clientID}
	if o.seedExpired {
		args = append(args, "--expired")
	}
	if o.connectorID != "" {
		args = append(args, "--connector-id", o.connectorID)
	}
	cmd := exec.CommandContext(ctx, bin, append(args, o.config)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd.Run()
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
