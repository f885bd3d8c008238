package filter

// MarkMatch is -m mark --mark value[/mask] (xt_mark.c, mark_mt).
type MarkMatch struct {
	// Mark and Mask are --mark value/mask.
	Mark, Mask uint32
	// Invert is the '!' of --mark.
	Invert bool
}

// Name returns "mark".
func (*MarkMatch) Name() string { return "mark" }

// Match reports whether the packet's mark, masked, equals Mark.
func (m *MarkMatch) Match(c *Context) bool {
	return (c.Mark&m.Mask == m.Mark) != m.Invert
}

// ConnmarkMatch is -m connmark --mark value[/mask] (xt_connmark.c,
// connmark_mt): the same test on the connection's mark.
type ConnmarkMatch struct {
	// Mark and Mask are --mark value/mask.
	Mark, Mask uint32
	// Invert is the '!' of --mark.
	Invert bool
}

// Name returns "connmark".
func (*ConnmarkMatch) Name() string { return "connmark" }

// Match reports whether the connection mark, masked, equals Mark. A packet
// without a connection never matches, even inverted (connmark_mt returns
// false when nf_ct_get finds nothing).
func (m *ConnmarkMatch) Match(c *Context) bool {
	if !c.CT.hasConn() {
		return false
	}
	return (c.CT.Mark&m.Mask == m.Mark) != m.Invert
}

// NeedsConntrack reports true.
func (*ConnmarkMatch) NeedsConntrack() bool { return true }
