package filter

import "github.com/nfgo/nfgo/packet"

// TTLMode is how TTL and HL change the field (XT_TTL_SET, _INC, _DEC).
type TTLMode uint8

// The TTL/HL modes.
const (
	TTLSet TTLMode = iota
	TTLInc
	TTLDec
)

// newTTL computes the new value as ttl_tg / hl_tg6 do: increments stop at
// 255 and decrements at 0 instead of wrapping.
func newTTL(mode TTLMode, old, v uint8) uint8 {
	switch mode {
	case TTLInc:
		return uint8(min(int(old)+int(v), 255))
	case TTLDec:
		return uint8(max(int(old)-int(v), 0))
	}
	return v
}

// TTLTarget is -j TTL (xt_HL.c, IPv4): it sets, increments or decrements
// the TTL, updating the header checksum.
type TTLTarget struct {
	Mode  TTLMode
	Value uint8
}

// Name returns "TTL".
func (*TTLTarget) Name() string { return "TTL" }

// Allowed restricts TTL to the mangle table, as xt_HL declares.
func (*TTLTarget) Allowed() (TableMask, HookMask) { return Tables(Mangle), 0 }

// Do rewrites the TTL of an IPv4 packet and continues.
func (t *TTLTarget) Do(c *Context) Verdict {
	p := c.Packet
	if p != nil && p.Family == packet.IPv4 && p.Length != 0 {
		if v := newTTL(t.Mode, p.TTL, t.Value); v != p.TTL {
			p.SetTTL(v)
		}
	}
	return Verdict{Action: Continue}
}

// HLTarget is -j HL (xt_HL.c, IPv6): TTL's counterpart for the hop limit.
type HLTarget struct {
	Mode  TTLMode
	Value uint8
}

// Name returns "HL".
func (*HLTarget) Name() string { return "HL" }

// Allowed restricts HL to the mangle table, as xt_HL declares.
func (*HLTarget) Allowed() (TableMask, HookMask) { return Tables(Mangle), 0 }

// Do rewrites the hop limit of an IPv6 packet and continues.
func (t *HLTarget) Do(c *Context) Verdict {
	p := c.Packet
	if p != nil && p.Family == packet.IPv6 && p.Length != 0 {
		if v := newTTL(t.Mode, p.TTL, t.Value); v != p.TTL {
			p.SetTTL(v)
		}
	}
	return Verdict{Action: Continue}
}
