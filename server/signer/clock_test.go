package signer

import (
	"time"

	"github.com/torii-idp/torii/internal/testclock"
)

type clock = testclock.Clock

func newClock() *clock { return testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }
