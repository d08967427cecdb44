package server_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/torii-idp/torii/audit"
	"github.com/torii-idp/torii/server"
)

// The device flow's audit records and its line in the tokens metric.
func TestDeviceAuditAndMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	out := &syncBuffer{}
	e := newEnv(t, func(c *server.Config) {
		c.Metrics = server.NewMetrics(reg)
		c.Audit = audit.New(out, nil)
	})
	cfg := e.deviceConfig("email")
	approved := e.deviceAuth(cfg)
	b := e.browser()
	b.approveDevice(b.enterCode(approved.VerificationURIComplete, ""))
	if st, body := e.devicePoll(approved.DeviceCode, publicID, ""); st != 200 {
		t.Fatalf("poll: %d %v", st, body)
	}
	denied := e.deviceAuth(cfg)
	p := e.browser()
	confirm := p.enterCode(denied.VerificationURIComplete, "")
	action, form := parseForm(t, confirm.body)
	form.Set("confirm", "deny")
	p.post(action, form)
	e.clock.Add(time.Second)

	if got := metricValue(t, reg, "torii_tokens_issued_total", map[string]string{"grant_type": deviceGrantType}); got != 1 {
		t.Errorf("torii_tokens_issued_total{grant_type=device_code} = %v, want 1", got)
	}
	events := map[string]map[string]any{}
	for _, r := range out.records(t) {
		if ev, _ := r["event"].(string); ev == "device_approved" || ev == "device_denied" {
			events[ev] = r
		}
	}
	if r := events["device_approved"]; r == nil || r["sub"] != janeSub || r["client_id"] != publicID {
		t.Errorf("device_approved record: %v", r)
	}
	if r := events["device_denied"]; r == nil || r["client_id"] != publicID || r["result"] != "denied" {
		t.Errorf("device_denied record: %v", r)
	}
}
