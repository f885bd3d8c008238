package filter

// LengthMatch is -m length --length (xt_length.c): the IPv4 total length,
// or for IPv6 the payload length plus the 40-byte header.
type LengthMatch struct {
	// Min and Max bound the length in bytes, inclusive.
	Min, Max uint16
	// Invert is the '!' of --length.
	Invert bool
}

// Name returns "length".
func (*LengthMatch) Name() string { return "length" }

// Match reports whether the packet's length is within Min..Max.
func (m *LengthMatch) Match(c *Context) bool {
	n := c.Packet.WireLength
	return (n >= int(m.Min) && n <= int(m.Max)) != m.Invert
}
