package filter

import "sync/atomic"

// QuotaMatch is -m quota --quota (xt_quota.c): it matches while the
// packets it has matched total at most Quota bytes (their IP length).
// The first packet that does not fit exhausts the quota: from then on
// not even a smaller packet matches, as in the kernel, which sets the
// remaining quota to 0. Invert matches the packets the quota does not
// take. The count lives in the rule, like limit's bucket: it survives
// an edit of the ruleset and starts afresh in a new one.
type QuotaMatch struct {
	Quota  uint64
	Invert bool

	used      atomic.Uint64
	exhausted atomic.Bool
}

// Name returns "quota".
func (*QuotaMatch) Name() string { return "quota" }

// Remaining returns the bytes the quota still allows.
func (m *QuotaMatch) Remaining() uint64 {
	if m.exhausted.Load() {
		return 0
	}
	return m.Quota - min(m.used.Load(), m.Quota)
}

// Match takes the packet's length from the quota if it fits.
func (m *QuotaMatch) Match(c *Context) bool {
	n := uint64(c.Packet.WireLength)
	for !m.exhausted.Load() {
		used := m.used.Load()
		if m.Quota-used < n || used > m.Quota {
			m.exhausted.Store(true)
			break
		}
		if m.used.CompareAndSwap(used, used+n) {
			return !m.Invert
		}
	}
	return m.Invert
}
