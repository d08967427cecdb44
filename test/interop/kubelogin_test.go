package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// execCredential is the part of client.authentication.k8s.io ExecCredential
// that kubectl reads.
type execCredential struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Status     struct {
		Token               string `json:"token"`
		ExpirationTimestamp string `json:"expirationTimestamp"`
	} `json:"status"`
}

func parseExecCredential(t *testing.T, stdout []byte) execCredential {
	t.Helper()
	var ec execCredential
	if err := json.Unmarshal(stdout, &ec); err != nil || ec.Kind != "ExecCredential" || ec.Status.Token == "" {
		t.Fatalf("kubelogin did not print an ExecCredential with a token (%v):\n%s", err, stdout)
	}
	return ec
}

// kubeloginArgs are the get-token flags common to both grants (the exec
// block of README.md ("Works with")).
func (s *suite) kubeloginArgs(src *source, cacheDir string) []string {
	return []string{
		"get-token",
		"--oidc-issuer-url=" + src.Torii.Issuer,
		"--oidc-extra-scope=email",
		"--oidc-extra-scope=profile",
		"--oidc-extra-scope=groups",
		"--certificate-authority=" + s.ca.CAFile,
		"--token-cache-dir=" + cacheDir,
	}
}

func (s *suite) testKubelogin(t *testing.T, sources []*source) {
	t.Run("kubelogin", func(t *testing.T) {
		s.forEachSource(t, sources, func(t *testing.T, src *source) {
			cfg := loadAuthenticationConfig(t, renderAuthenticationConfig(t, src.Torii.Issuer, s.ca.CAPEM))
			authn := newAPIServerAuthn(t, cfg.JWT[0], s.ca.CAPEM)

			s.scenario(t, "password-grant", func(t *testing.T) {
				cache := t.TempDir()
				args := append(s.kubeloginArgs(src, cache),
					"--oidc-client-id="+k8sClientID,
					"--oidc-client-secret="+k8sClientSecret,
					"--grant-type=password",
					"--username="+src.Who.Login,
					"--password="+src.Who.Password,
				)
				first := s.runKubelogin(t, args)
				wantUser(t, authn, first.Status.Token, src.Who.Email, prefixed("oidc:", src.Who.Groups))
				// kubectl runs the plugin for every command: the second
				// run must answer from the token cache.
				again := s.runKubelogin(t, args)
				if again.Status.Token != first.Status.Token {
					t.Errorf("second get-token did not reuse the cached ID token")
				}
			})
			s.scenario(t, "authcode-browser", func(t *testing.T) {
				args := append(s.kubeloginArgs(src, t.TempDir()),
					"--oidc-client-id="+kubectlClientID,
					"--grant-type=authcode",
					"--skip-open-browser",
					"--listen-address=127.0.0.1:0",
					"--authentication-timeout-sec=60",
				)
				ec := s.kubeloginBrowser(t, src, args)
				wantUser(t, authn, ec.Status.Token, src.Who.Email, prefixed("oidc:", src.Who.Groups))
			})
			s.scenario(t, "device-code", func(t *testing.T) {
				// The confidential client: kubelogin sends its secret to
				// /device/code and with every poll, as torii requires.
				args := append(s.kubeloginArgs(src, t.TempDir()),
					"--oidc-client-id="+k8sClientID,
					"--oidc-client-secret="+k8sClientSecret,
					"--grant-type=device-code",
					"--skip-open-browser",
					"--authentication-timeout-sec=90",
				)
				ec := s.kubeloginDevice(t, src, args)
				wantUser(t, authn, ec.Status.Token, src.Who.Email, prefixed("oidc:", src.Who.Groups))
			})
		})
	})
}

func (s *suite) runKubelogin(t *testing.T, args []string) execCredential {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin.kubelogin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubelogin %s: %v\nstderr:\n%s", strings.Join(redact(args), " "), err, stderr.String())
	}
	return parseExecCredential(t, stdout.Bytes())
}

// kubeloginBrowser runs get-token with the browser flow: it reads the URL
// kubelogin prints on stderr and is the browser that opens it.
func (s *suite) kubeloginBrowser(t *testing.T, src *source, args []string) execCredential {
	t.Helper()
	return s.kubeloginVisit(t, src, args, func(b *browser, u string) (*page, error) {
		p, err := b.login(u, src.ConnectorID, src.Who)
		if err == nil && (p.Status != http.StatusOK || p.URL.Hostname() != "localhost" && p.URL.Hostname() != "127.0.0.1") {
			t.Errorf("the browser did not land on kubelogin's local server: %s", p)
		}
		return p, err
	})
}

// kubeloginVisit runs get-token, reads the URL kubelogin prints on stderr
// and has the browser visit it with visit.
func (s *suite) kubeloginVisit(t *testing.T, src *source, args []string, visit func(b *browser, u string) (*page, error)) execCredential {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin.kubelogin, args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var stderrText strings.Builder
	urlCh := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderrPipe)
		const marker = "Please visit the following URL in your browser: "
		for sc.Scan() {
			line := sc.Text()
			stderrText.WriteString(line + "\n")
			if i := strings.Index(line, marker); i >= 0 {
				select {
				case urlCh <- strings.TrimSpace(line[i+len(marker):]):
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderrPipe)
	}()
	var u string
	select {
	case u = <-urlCh:
	case <-copied:
		_ = cmd.Wait()
		t.Fatalf("kubelogin exited without printing a URL:\n%s", stderrText.String())
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		t.Fatalf("kubelogin printed no URL in time")
	}
	b := newBrowser(s.ca)
	_, err = visit(b, u)
	if err != nil {
		_ = cmd.Process.Kill()
		<-copied
		_ = cmd.Wait()
		t.Fatalf("browser login from %s: %v\n--- kubelogin:\n%s\n--- torii log:\n%s", u, err, stderrText.String(), tail(src.Torii.LogFile, 10))
	}
	<-copied
	if err := cmd.Wait(); err != nil {
		t.Fatalf("kubelogin: %v\nstderr:\n%s", err, stderrText.String())
	}
	return parseExecCredential(t, stdout.Bytes())
}

// redact hides passwords and secrets in a command line shown in a failure.
func redact(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if k, _, ok := strings.Cut(a, "="); ok && (strings.Contains(k, "password") || strings.Contains(k, "secret")) {
			a = k + "=REDACTED"
		}
		out[i] = a
	}
	return out
}
