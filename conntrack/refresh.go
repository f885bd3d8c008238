package conntrack

import "time"

// Refresh gives the connection of r's packet a timeout of d from now,
// as a helper does with nf_ct_refresh (SIP keeps its signalling
// connection for sip_timeout, Amanda its control connection for
// master_timeout): the tracker's own timeout for the packet is replaced.
// A connection with FIXED_TIMEOUT keeps its timeout.
func (t *Table) Refresh(r *Result, d time.Duration, now time.Time) {
	if !r.Tracked() || r.Status&StatusFixedTimeout != 0 {
		return
	}
	ns := now.UnixNano()
	if r.isNew {
		r.pending.setTimeout(ns, d)
		r.Expire = r.pending.left(ns)
		return
	}
	s := r.ref.shard
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.stillThere(&r.ref, &r.natOther); ok {
		c.setTimeout(ns, d)
		r.Expire = c.left(ns)
	}
}
