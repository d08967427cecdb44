package memory_test

import (
	"testing"

	"github.com/torii-idp/torii/storage"
	"github.com/torii-idp/torii/storage/memory"
	"github.com/torii-idp/torii/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		s := memory.New()
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// The backend keeps torii_sessions_live.
var _ storage.SessionCounter = (*memory.Storage)(nil)
