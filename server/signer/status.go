package signer

import "time"

// KeyTimes reports how long the active key has been signing and how long
// until the next rotation (negative when overdue), from the loaded state
// (no storage access: it is read at every metrics scrape). The age is
// counted from the previous rotation, one period before the next.
func (s *Signer) KeyTimes() (age, untilRotation time.Duration) {
	ks := s.keys.Load()
	if ks == nil {
		return 0, 0
	}
	untilRotation = ks.nextRotation.Sub(s.now())
	return max(s.period-untilRotation, 0), untilRotation
}
