package filter

// TOSTarget is -j TOS (xt_DSCP.c, tos_tg revision 1): the IPv4 TOS or
// IPv6 traffic class becomes (tos &^ Mask) ^ Value. As with MARK, every
// form (--set-tos, --and-tos, --or-tos, --xor-tos, symbolic names) reduces
// to this, and iptables-save prints --set-tos Value/Mask.
type TOSTarget struct {
	Value, Mask uint8
}

// Name returns "TOS".
func (*TOSTarget) Name() string { return "TOS" }

// Allowed restricts TOS to the mangle table, as xt_DSCP declares.
func (*TOSTarget) Allowed() (TableMask, HookMask) { return Tables(Mangle), 0 }

// Do rewrites the field (with the checksum for IPv4) and continues.
func (t *TOSTarget) Do(c *Context) Verdict {
	p := c.Packet
	if p != nil && p.Length != 0 {
		if v := (p.TOS &^ t.Mask) ^ t.Value; v != p.TOS {
			p.SetTOS(v)
		}
	}
	return Verdict{Action: Continue}
}

// DSCPTarget is -j DSCP (xt_DSCP.c): it sets the six DSCP bits of the TOS
// or traffic class and keeps the two ECN bits (RFC 2474, RFC 3168).
type DSCPTarget struct {
	// DSCP is the code point, 0 to 63.
	DSCP uint8
}

// Name returns "DSCP".
func (*DSCPTarget) Name() string { return "DSCP" }

// Allowed restricts DSCP to the mangle table, as xt_DSCP declares.
func (*DSCPTarget) Allowed() (TableMask, HookMask) { return Tables(Mangle), 0 }

// Do rewrites the DSCP bits when they differ and continues.
func (t *DSCPTarget) Do(c *Context) Verdict {
	p := c.Packet
	if p != nil && p.Length != 0 && p.TOS>>2 != t.DSCP {
		p.SetTOS(p.TOS&0x03 | t.DSCP<<2)
	}
	return Verdict{Action: Continue}
}
