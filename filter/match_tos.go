package filter

// TOSMatch is -m tos --tos value[/mask] (xt_tos.c, tos_mt revision 1): the
// IPv4 TOS byte or the IPv6 traffic class, masked, must equal Value.
type TOSMatch struct {
	// Value and Mask are --tos value/mask.
	Value, Mask uint8
	// Invert is the '!' of --tos.
	Invert bool
}

// Name returns "tos".
func (*TOSMatch) Name() string { return "tos" }

// Match compares the masked TOS byte.
func (m *TOSMatch) Match(c *Context) bool {
	return (c.Packet.TOS&m.Mask == m.Value) != m.Invert
}

// DSCPMatch is -m dscp (xt_dscp.c): the six DSCP bits of the TOS byte or
// traffic class.
type DSCPMatch struct {
	// DSCP is the code point, 0..63.
	DSCP uint8
	// Invert is the '!' of --dscp or --dscp-class.
	Invert bool
}

// Name returns "dscp".
func (*DSCPMatch) Name() string { return "dscp" }

// Match compares the DSCP field.
func (m *DSCPMatch) Match(c *Context) bool {
	return (c.Packet.TOS>>2 == m.DSCP) != m.Invert
}

// ECNMatch is -m ecn (xt_ecn.c): the ECN bits of the IP header and the
// ECE and CWR flags of TCP.
type ECNMatch struct {
	// MatchECE, MatchCWR and MatchIP say which tests are set
	// (--ecn-tcp-ece, --ecn-tcp-cwr, --ecn-ip-ect).
	MatchECE, MatchCWR, MatchIP bool
	// InvertECE, InvertCWR and InvertIP are their '!'s.
	InvertECE, InvertCWR, InvertIP bool
	// IPECT is the --ecn-ip-ect value, the two ECN bits (0..3).
	IPECT uint8
}

// Name returns "ecn".
func (*ECNMatch) Name() string { return "ecn" }

// Match runs the IP test, then the TCP tests, as ecn_mt4/ecn_mt6 do. The
// TCP tests fail when there is no TCP header to look at.
func (m *ECNMatch) Match(c *Context) bool {
	p := c.Packet
	if m.MatchIP && (p.TOS&0x03 == m.IPECT) == m.InvertIP {
		return false
	}
	if m.MatchECE || m.MatchCWR {
		if p.Proto != 6 || p.L4Off == 0 {
			return false
		}
		if m.MatchECE && (p.TCPFlags&0x40 != 0) == m.InvertECE {
			return false
		}
		if m.MatchCWR && (p.TCPFlags&0x80 != 0) == m.InvertCWR {
			return false
		}
	}
	return true
}

// CheckRule refuses the TCP tests without -p tcp (ecn_mt_check4:
// "cannot match TCP bits for non-tcp packets").
func (m *ECNMatch) CheckRule(r *Rule, _ Site) error {
	if (m.MatchECE || m.MatchCWR) && (r.Proto != 6 || r.ProtoInvert) {
		return errProtoRequired("ECN TCP", "tcp")
	}
	return nil
}
