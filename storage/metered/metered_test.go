package metered_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/torii-idp/torii/internal/testmetrics"
	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/memory"
	"github.com/torii-idp/torii/storage/metered"
	"github.com/torii-idp/torii/storage/storagetest"
)

// The wrapper must not change what the backend does.
func TestConformance(t *testing.T) {
	m := metered.NewMetrics(prometheus.NewRegistry())
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		s := metered.New(memory.New(), "memory", m)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestCountsOperationsAndErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := metered.New(memory.New(), "memory", metered.NewMetrics(reg))
	ctx := context.Background()
	if _, err := s.GetRefresh(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("GetRefresh: %v", err)
	}
	refused := errors.New("refused by the update")
	if err := s.UpdateKeys(ctx, func(storage.Keys) (storage.Keys, error) { return storage.Keys{}, refused }); !errors.Is(err, refused) {
		t.Fatalf("UpdateKeys: %v, want the update's own error unchanged", err)
	}
	if got := sample(t, reg, "torii_storage_operation_duration_seconds", "get_refresh"); got != 1 {
		t.Errorf("get_refresh observations = %v, want 1", got)
	}
	// Not found and an update's refusal are answers, not storage errors.
	for _, op := range []string{"get_refresh", "update_keys"} {
		if got := sample(t, reg, "torii_storage_operation_errors_total", op); got != 0 {
			t.Errorf("%s errors = %v, want 0", op, got)
		}
	}
	s.Close()
}

// sample is the counter value, or the histogram's count, of the series
// with label op (0 when absent).
func sample(t *testing.T, reg *prometheus.Registry, name, op string) float64 {
	t.Helper()
	return max(0, testmetrics.Value(t, reg, name, map[string]string{"op": op}))
}

// A backend that cannot count sessions says so instead of reporting zero.
func TestCountSessionsUnsupported(t *testing.T) {
	hidden := struct{ storage.Storage }{memory.New()} // only the Storage methods
	s := metered.New(hidden, "memory", metered.NewMetrics(prometheus.NewRegistry()))
	if _, err := s.CountSessions(context.Background(), time.Now()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("CountSessions = %v; want errors.ErrUnsupported", err)
	}
}
