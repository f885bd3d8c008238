package conntrack

import "time"

// LabelBits is how many labels a connection has room for: bits 0 to
// 127 (the kernel's NF_CT_LABELS_MAX_SIZE bytes, xt_connlabel's
// XT_CONNLABEL_MAXBIT + 1).
const LabelBits = 128

// Labels returns the label set of the packet's connection (bit n of
// labels[n/64] is label n), ok false for a packet without one. The
// labels are kept with the connection's other extensions, so reading
// them takes its shard's lock.
func (t *Table) Labels(r *Result) (labels [2]uint64, ok bool) {
	if !r.Tracked() {
		return labels, false
	}
	if r.isNew {
		return r.pending.ext.labels, true
	}
	s := r.ref.shard
	if s == nil {
		return labels, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.stillThere(&r.ref, &r.natOther); !ok {
		return labels, false
	}
	return s.ext(r.ref.kind, r.ref.slot).labels, true
}

// SetLabel sets label bit (below LabelBits) on the packet's connection,
// as -m connlabel --set does, and reports whether it was clear. Setting
// it on a stored connection is an update event (IPCT_LABEL); a new one
// carries it into the table when it is confirmed.
func (t *Table) SetLabel(r *Result, bit uint, now time.Time) bool {
	if !r.Tracked() || bit >= LabelBits {
		return false
	}
	w, m := bit/64, uint64(1)<<(bit%64)
	if r.isNew {
		was := r.pending.ext.labels[w]&m != 0
		r.pending.ext.labels[w] |= m
		return !was
	}
	s := r.ref.shard
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.stillThere(&r.ref, &r.natOther); !ok {
		return false
	}
	x := s.ext(r.ref.kind, r.ref.slot)
	if x.labels[w]&m != 0 {
		return false
	}
	x.labels[w] |= m
	s.setExt(r.ref.kind, r.ref.slot, x)
	t.emitStored(EventUpdate, s, r.ref.kind, r.ref.slot, now.UnixNano())
	return true
}
