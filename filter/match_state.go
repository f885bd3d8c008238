package filter

// hasConn reports whether the packet has a conntrack entry (nf_ct_get
// returns one): tracked, and neither untracked nor invalid.
func (ct *CTInfo) hasConn() bool {
	return ct.Tracked && ct.State&(StateEstablished|StateRelated|StateNew) != 0
}

// stateBit returns the one state bit -m state and -m conntrack test: the
// packet's ctinfo, UNTRACKED, or INVALID when there is no entry
// (xt_state.c, state_mt). The zero CTInfo is UNTRACKED.
func (ct *CTInfo) stateBit() CTState {
	switch {
	case !ct.Tracked || ct.State&StateUntracked != 0:
		return StateUntracked
	case ct.State&StateEstablished != 0:
		return StateEstablished
	case ct.State&StateRelated != 0:
		return StateRelated
	case ct.State&StateNew != 0:
		return StateNew
	}
	return StateInvalid
}

// StateMatch is -m state --state (xt_state.c).
type StateMatch struct {
	// States is the set of states that match; only INVALID, ESTABLISHED,
	// RELATED, NEW and UNTRACKED are meaningful.
	States CTState
	// Invert is the '!' of --state.
	Invert bool
}

// Name returns "state".
func (*StateMatch) Name() string { return "state" }

// Match reports whether the packet's conntrack state is in States.
func (m *StateMatch) Match(c *Context) bool {
	return (c.CT.stateBit()&m.States != 0) != m.Invert
}

// NeedsConntrack reports true.
func (*StateMatch) NeedsConntrack() bool { return true }
