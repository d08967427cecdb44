package server_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/torii-idp/torii/server"
)

// torii_sessions_live follows the sessions in storage: it counts logins in
// two browsers, and drops an ended session at the next count.
func TestSessionsLiveGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, withSessions(), func(c *server.Config) {
		c.Metrics = server.NewMetrics(reg)
		c.SessionCountInterval = 10 * time.Millisecond
	})
	waitFor := func(want float64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := metricValue(t, reg, "torii_sessions_live", nil)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("torii_sessions_live = %v, want %v", got, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(0)
	cfg := e.oauth2Config("email")
	for range 2 {
		e.browser().loginCode(cfg.AuthCodeURL("st"), "jane@example.com", "correct horse")
	}
	waitFor(2)
	sessions, err := e.store.ListUserSessions(t.Context(), "local", janeUserID)
	if err != nil || len(sessions) != 2 {
		t.Fatalf("ListUserSessions = %d, %v", len(sessions), err)
	}
	if err := e.store.DeleteSession(t.Context(), sessions[0].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(1)
	e.clock.Add(48 * time.Hour) // past every lifetime: expired, not yet collected
	waitFor(0)
}
