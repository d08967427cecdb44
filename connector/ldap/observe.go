package ldap

import "time"

// Directory operations reported to an Observer.
const (
	OpServiceBind = "service_bind" // binding a connection as the service account
	OpUserBind    = "user_bind"    // checking a password
	OpSearch      = "search"       // user and group searches
)

// Observer receives the latency of every directory operation, and whether
// it failed to get an answer (connection lost, timeout): a refused password
// is an answer. cmd/torii turns these into Prometheus metrics.
type Observer interface {
	ObserveLDAP(op string, took time.Duration, failed bool)
}

// SetObserver sets o; call it before the connector is used.
func (c *Connector) SetObserver(o Observer) { c.observer = o }

func (c *Connector) observe(op string, start time.Time, failed bool) {
	if c.observer != nil {
		c.observer.ObserveLDAP(op, time.Since(start), failed)
	}
}

// PoolStats is a snapshot of the connection pool.
type PoolStats struct {
	InUse int64 // connections borrowed by running logins and refreshes
	Idle  int64 // bound connections waiting in the pool
	// Misses counts borrowings that found no idle connection and dialled
	// a new one.
	Misses int64
	// Waits counts borrowings that found every slot (poolSize) taken and
	// waited for one; a steady rate means the pool is too small for the
	// load.
	Waits int64
}

// PoolStats returns the pool's current state.
func (c *Connector) PoolStats() PoolStats {
	c.pool.mu.Lock()
	idle := len(c.pool.idle)
	c.pool.mu.Unlock()
	return PoolStats{InUse: c.stats.inUse.Load(), Idle: int64(idle), Misses: c.stats.misses.Load(), Waits: c.pool.waits.Load()}
}
