package ha_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/torii-idp/torii/connector"
	"github.com/torii-idp/torii/internal/testpg"
	"github.com/torii-idp/torii/server"
	"github.com/torii-idp/torii/storage/postgres"
)

// pod is one torii process of a rolling update: its own pool, its own
// listener.
type pod struct {
	name  string
	url   string
	torii *server.Server
	http  *http.Server
	store *postgres.Storage
	proxy *httputil.ReverseProxy
}

func startPod(t *testing.T, name, issuer, dsn string, clk *clock) *pod {
	t.Helper()
	st, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(context.Background(), server.Config{
		Issuer: issuer, Storage: st,
		Connectors:         []server.Connector{{ID: "local", Type: "local", Name: "Email", Password: users{}, Refresh: users{}}},
		Clients:            []server.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}}},
		PasswordConnector:  "local",
		SkipApprovalScreen: true,
		Throttle:           server.ThrottleConfig{Disabled: true},
		Logger:             slog.New(slog.DiscardHandler),
		Now:                clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pod{name: name, url: "http://" + ln.Addr().String(), torii: s, http: &http.Server{Handler: s}, store: st}
	go p.http.Serve(ln)
	target, _ := url.Parse(p.url)
	p.proxy = httputil.NewSingleHostReverseProxy(target)
	return p
}

// stop is what torii serve does on SIGTERM, after the drain: finish the
// requests in flight, stop the background loops, close storage.
func (p *pod) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := p.http.Shutdown(ctx)
	p.torii.Close()
	p.store.Close()
	return err
}

// service plays a Kubernetes Service: it sends requests round robin to the
// pods whose readiness probe passes, probing every probeEvery.
type service struct {
	srv  *httptest.Server
	next atomic.Uint64

	mu    sync.Mutex
	pods  []*pod
	ready map[*pod]bool
}

const probeEvery = 20 * time.Millisecond

func newService(t *testing.T) *service {
	s := &service{ready: map[*pod]bool{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		var ready []*pod
		for _, p := range s.pods {
			if s.ready[p] {
				ready = append(ready, p)
			}
		}
		s.mu.Unlock()
		if len(ready) == 0 {
			http.Error(w, "no ready endpoint", http.StatusServiceUnavailable)
			return
		}
		ready[(s.next.Add(1)-1)%uint64(len(ready))].proxy.ServeHTTP(w, r)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	probe := &http.Client{Timeout: time.Second}
	go func() {
		t := time.NewTicker(probeEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s.mu.Lock()
			pods := append([]*pod(nil), s.pods...)
			s.mu.Unlock()
			for _, p := range pods {
				ok := false
				if resp, err := probe.Get(p.url + issuerPath + "/healthz/ready"); err == nil {
					ok = resp.StatusCode == http.StatusOK
					resp.Body.Close()
				}
				s.mu.Lock()
				s.ready[p] = ok
				s.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancel(); s.srv.Close() })
	return s
}

func (s *service) add(p *pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pods = append(s.pods, p)
}

func (s *service) remove(p *pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.pods {
		if q == p {
			s.pods = append(s.pods[:i], s.pods[i+1:]...)
		}
	}
	delete(s.ready, p)
}

func (s *service) isReady(p *pod) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready[p]
}

func (s *service) waitReady(t *testing.T, p *pod, want bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for s.isReady(p) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: readiness never became %v", p.name, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *service) token(c *http.Client, form url.Values) (tokenResponse, error) {
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+issuerPath+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSecret)
	resp, err := c.Do(req)
	if err != nil {
		return tokenResponse{}, err
	}
	defer resp.Body.Close()
	var tr tokenResponse
	json.NewDecoder(resp.Body).Decode(&tr)
	tr.Status = resp.StatusCode
	return tr, nil
}

// TestRollingRestartUnderLoad replaces both replicas one after the other,
// the way a Deployment's rolling update does (start the new pod, wait for
// it to be ready, then SIGTERM the old one: readiness 503, the Service
// drops it, in-flight requests finish, it exits), while workers log in and
// refresh through the Service. Not one request may fail.
func TestRollingRestartUnderLoad(t *testing.T) {
	dsn := testpg.DSN(t)
	clk := newClock()
	svc := newService(t)
	issuer := "http://" + svc.srv.Listener.Addr().String() + issuerPath
	svc.srv.Start()
	var live []*pod
	for _, name := range []string{"a-1", "b-1"} {
		p := startPod(t, name, issuer, dsn, clk)
		svc.add(p)
		svc.waitReady(t, p, true)
		live = append(live, p)
	}
	t.Cleanup(func() {
		for _, p := range live {
			p.stop()
		}
	})

	const workers = 4
	var (
		stopLoad   atomic.Bool
		wg         sync.WaitGroup
		ok         atomic.Int64
		mu         sync.Mutex
		unexpected []string
	)
	fail := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		if len(unexpected) < 20 {
			unexpected = append(unexpected, s)
		}
	}
	for i := 0; i < workers; i++ {
		wg.Go(func() {
			c := &http.Client{Timeout: 30 * time.Second} // keep-alive, as a real client
			login := url.Values{"grant_type": {"password"}, "username": {userLogin}, "password": {userPassword}, "scope": {"openid email offline_access"}}
			tok := ""
			for n := 0; !stopLoad.Load(); n++ {
				form := login
				if tok != "" && n%4 != 0 {
					form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}}
				}
				tr, err := svc.token(c, form)
				switch {
				case err != nil:
					fail(fmt.Sprintf("worker %d: %v", i, err))
				case tr.Status != http.StatusOK || tr.RefreshToken == "":
					fail(fmt.Sprintf("worker %d: %v", i, tr))
				default:
					tok = tr.RefreshToken
					ok.Add(1)
				}
			}
		})
	}
	waitOK := func(n int64) {
		deadline := time.Now().Add(30 * time.Second)
		for target := ok.Load() + n; ok.Load() < target; {
			if time.Now().After(deadline) {
				t.Fatalf("load stalled at %d", ok.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitOK(20)
	for i, name := range []string{"a-2", "b-2"} {
		next := startPod(t, name, issuer, dsn, clk)
		svc.add(next)
		svc.waitReady(t, next, true)
		live = append(live, next)
		waitOK(20)

		old := live[i]
		old.torii.Drain() // SIGTERM
		svc.waitReady(t, old, false)
		// Kubernetes removes the endpoint once the probe fails; torii
		// keeps serving through its drain delay meanwhile.
		time.Sleep(3 * probeEvery)
		svc.remove(old)
		if err := old.stop(); err != nil {
			t.Errorf("%s: shutdown: %v", old.name, err)
		}
		live[i] = nil
		waitOK(20)
	}
	stopLoad.Store(true)
	wg.Wait()
	var rest []*pod
	for _, p := range live {
		if p != nil {
			rest = append(rest, p)
		}
	}
	live = rest
	t.Logf("%d requests served through two rolling restarts", ok.Load())
	if len(unexpected) > 0 {
		t.Fatalf("requests failed during the rolling restart:\n%s", strings.Join(unexpected, "\n"))
	}
}

var _ connector.PasswordConnector = users{}
