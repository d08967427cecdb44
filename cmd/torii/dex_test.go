package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseServeArgs(t *testing.T) {
	tests := []struct {
		args  []string
		files []string
		flags serveFlags
		err   string
	}{
		{args: []string{"c.yaml"}, files: []string{"c.yaml"}},
		// Dex's Helm chart: every flag before the file, value as the next word.
		{
			args:  []string{"--web-http-addr", "0.0.0.0:5556", "--telemetry-addr", "0.0.0.0:5558", "/etc/dex/config.yaml"},
			files: []string{"/etc/dex/config.yaml"},
			flags: serveFlags{WebHTTP: "0.0.0.0:5556", Telemetry: "0.0.0.0:5558"},
		},
		// cobra also takes --flag=value and flags after the file.
		{
			args:  []string{"c.yaml", "--web-https-addr=0.0.0.0:5554", "--web-http-addr="},
			files: []string{"c.yaml"},
			flags: serveFlags{WebHTTPS: "0.0.0.0:5554"},
		},
		{args: []string{"--", "--odd-name.yaml"}, files: []string{"--odd-name.yaml"}},
		{args: nil, files: nil},
		{args: []string{"a", "b"}, files: []string{"a", "b"}},
		{args: []string{"--web-http-addr"}, err: "flag --web-http-addr needs an address"},
		{args: []string{"--colour", "blue", "c.yaml"}, err: "unknown flag --colour"},
		{args: []string{"-web-http-addr", ":1", "c.yaml"}, err: "unknown flag -web-http-addr"},
		{args: []string{"--grpc-addr", "127.0.0.1:5557", "c.yaml"}, files: []string{"c.yaml"}, flags: serveFlags{GRPC: "127.0.0.1:5557"}},
		{args: []string{"--help"}, err: errHelp.Error()},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			files, flags, err := parseServeArgs(tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(files, tt.files) || flags != tt.flags {
				t.Fatalf("got %q %+v, want %q %+v", files, flags, tt.files, tt.flags)
			}
		})
	}
}

// TestServeFlagsReplaceAddresses: the flags apply before validation, so a
// config with no listener of its own (Dex's Helm chart renders none) loads.
func TestServeFlagsReplaceAddresses(t *testing.T) {
	dir := t.TempDir()
	noWeb := filepath.Join(dir, "noweb.yaml")
	os.WriteFile(noWeb, []byte("issuer: http://127.0.0.1:5556/dex\nstorage:\n  type: memory\n"), 0o600)
	withWeb := filepath.Join(dir, "web.yaml")
	os.WriteFile(withWeb, []byte("issuer: http://127.0.0.1:5556/dex\nstorage:\n  type: memory\nweb:\n  http: 127.0.0.1:1\ntelemetry:\n  http: 127.0.0.1:2\n"), 0o600)

	if _, err := loadConfig(noWeb, env(nil), serveFlags{}); err == nil || !strings.Contains(err.Error(), "web.http or web.https is required") {
		t.Fatalf("without flags: %v", err)
	}
	c, err := loadConfig(noWeb, env(nil), serveFlags{WebHTTP: "0.0.0.0:5556", Telemetry: "0.0.0.0:5558"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Web.HTTP != "0.0.0.0:5556" || c.Telemetry.HTTP != "0.0.0.0:5558" || c.Web.HTTPS != "" {
		t.Fatalf("web %+v telemetry %+v", c.Web, c.Telemetry)
	}
	c, err = loadConfig(withWeb, env(nil), serveFlags{Telemetry: "0.0.0.0:9"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Web.HTTP != "127.0.0.1:1" || c.Telemetry.HTTP != "0.0.0.0:9" {
		t.Fatalf("an unset flag changed the config, or a set one did not: web %+v telemetry %+v", c.Web, c.Telemetry)
	}
	// A flag is validated like the key it replaces.
	_, err = loadConfig(withWeb, env(nil), serveFlags{Telemetry: "127.0.0.1:1"})
	if err == nil || !strings.Contains(err.Error(), "telemetry.http: 127.0.0.1:1 is also web.http") {
		t.Fatalf("duplicate address from a flag: %v", err)
	}
	// https from a flag still needs its certificate keys.
	_, err = loadConfig(noWeb, env(nil), serveFlags{WebHTTPS: "0.0.0.0:5554"})
	if err == nil || !strings.Contains(err.Error(), "web.tlsCert: is required with web.https") {
		t.Fatalf("https flag without tlsCert: %v", err)
	}
}

func TestRunDex(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("issuer: http://127.0.0.1:5556/dex\nstorage:\n  type: memory\n"), 0o600)
	_, etcDex := firstExisting(dexConfigFiles())
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{args: []string{"dex"}, code: 2, out: "usage (torii run as dex)"},
		{args: []string{"dex", "version"}, code: 0, out: "dex Version: torii "},
		{args: []string{"dex", "version", "extra"}, code: 2, out: "usage"},
		{args: []string{"dex", "help"}, code: 0, out: "/etc/dex/cfg/config.yaml"},
		{args: []string{"dex", "serve", "a.yaml", "b.yaml"}, code: 2, out: "one CONFIG file is needed, got 2"},
		// Like grpc.addr, a reachable admin API needs TLS.
		{args: []string{"dex", "check-config", "--grpc-addr", "0.0.0.0:5557", cfg}, code: 1, out: `grpc.addr: "0.0.0.0:5557" is reachable from other machines`},
		{args: []string{"dex", "check-config", "--grpc-addr", "127.0.0.1:5557", "--web-http-addr", "127.0.0.1:5556", cfg}, code: 0, out: "OK"},
		{args: []string{"dex", "serve", "--web-http-addr", "nonsense", cfg}, code: 1, out: `web.http: "nonsense" is not a host:port address`},
		{args: []string{"dex", "serve", "/nonexistent/config.yaml"}, code: 1, out: "no such file"},
		{args: []string{"dex", "dex", "serve"}, code: 2, out: `unknown command "dex"`},
		// Torii's own commands work under the dex name.
		{args: []string{"dex", "check-config", "--web-http-addr", "0.0.0.0:5556", cfg}, code: 0, out: "listen:     http 0.0.0.0:5556"},
		{args: []string{"check-config", "--telemetry-addr=0.0.0.0:5558", "--web-http-addr", "0.0.0.0:5556", cfg}, code: 0, out: "telemetry 0.0.0.0:5558"},
		{args: []string{"serve", "--web-http-addr", "0.0.0.0:5556"}, code: 2, out: "one CONFIG file is needed"},
	}
	if etcDex != nil {
		// Nothing mounted at /etc/dex on this machine: `dex serve` says where it looked.
		tests = append(tests, struct {
			args []string
			code int
			out  string
		}{args: []string{"dex", "serve", "--web-http-addr", ":5556"}, code: 2, out: "none of [/etc/dex/cfg/config.yaml /etc/dex/config.yaml] exists"})
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader(""), &out, &errOut)
			if code != tt.code || !strings.Contains(out.String()+errOut.String(), tt.out) {
				t.Fatalf("exit %d, output %q; want exit %d mentioning %q", code, out.String()+errOut.String(), tt.code, tt.out)
			}
		})
	}
}

func TestFirstExisting(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "cfg", "config.yaml"), filepath.Join(dir, "config.yaml")
	if _, err := firstExisting([]string{a, b}); err == nil {
		t.Fatal("found a file in an empty directory")
	}
	os.WriteFile(b, nil, 0o600)
	if got, _ := firstExisting([]string{a, b}); !reflect.DeepEqual(got, []string{b}) {
		t.Fatalf("got %q, want %q", got, b)
	}
	os.MkdirAll(filepath.Dir(a), 0o755)
	os.WriteFile(a, nil, 0o600)
	if got, _ := firstExisting([]string{a, b}); !reflect.DeepEqual(got, []string{a}) {
		t.Fatalf("got %q, want %q (Kubeflow's path first)", got, a)
	}
}

// TestDexBinary runs the built binary through a link named dex with the
// command line of Dex's Helm chart, and as `torii dex ...`, the form the
// image's entrypoint receives when a pod gives only args.
func TestDexBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("symlink")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "torii")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.9.9-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dex := filepath.Join(dir, "dex")
	if err := os.Symlink("torii", dex); err != nil {
		t.Fatal(err)
	}

	for _, argv := range [][]string{{dex, "version"}, {bin, "dex", "version"}} {
		out, err := exec.Command(argv[0], argv[1:]...).Output()
		if err != nil || !strings.HasPrefix(string(out), "dex Version: torii v9.9.9-test\nGo Version: go") {
			t.Fatalf("%q: %v %q", argv, err, out)
		}
	}

	// The config's own addresses are taken, so serving proves the flags won.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(`issuer: http://127.0.0.1:5556/dex
storage:
  type: memory
web:
  http: `+busy.Addr().String()+`
enablePasswordDB: true
staticPasswords:
- email: admin@example.com
  hash: "`+demoHash+`"
  userID: "1"
`), 0o600)
	for _, argv := range [][]string{{dex, "serve"}, {bin, "dex", "serve"}} {
		t.Run(filepath.Base(argv[0]), func(t *testing.T) {
			web, tel := freeAddr(t), freeAddr(t)
			cmd := exec.Command(argv[0], append(argv[1:], "--web-http-addr", web, "--telemetry-addr", tel, cfg)...)
			var logs bytes.Buffer
			cmd.Stdout, cmd.Stderr = &logs, &logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			for _, u := range []string{
				"http://" + web + "/dex/.well-known/openid-configuration",
				"http://" + tel + "/healthz/live",
				"http://" + tel + "/healthz/ready",
				"http://" + tel + "/metrics", // telemetry.http, replaced by the flag
			} {
				if err := pollOK(u, exited); err != nil {
					cmd.Process.Kill()
					t.Fatalf("%s: %v\n%s", u, err, logs.String())
				}
			}
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
				}
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("no exit 30s after SIGTERM")
			}
		})
	}
}

// pollOK waits up to 30s for u to answer 200, or for the process to exit.
func pollOK(u string, exited <-chan error) error {
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited: %v", err)
		default:
		}
		resp, err := http.Get(u)
		if err != nil {
			last = err
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		last = fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return last
}
