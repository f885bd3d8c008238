package filter

import (
	"errors"

	"github.com/nfgo/nfgo/packet"
)

// ECNTarget is iptables' -j ECN (ipt_ECN.c), for the mangle table and
// IPv4: it sets the IP header's ECN field (SetIP, IPECT), and a TCP
// segment's ECE and CWR flags (SetECE/ECE, SetCWR/CWR), updating the
// checksums, then continues.
type ECNTarget struct {
	SetIP          bool
	IPECT          uint8
	SetECE, SetCWR bool
	ECE, CWR       bool
}

// Name returns "ECN".
func (*ECNTarget) Name() string { return "ECN" }

// Allowed restricts the target to the mangle table.
func (*ECNTarget) Allowed() (TableMask, HookMask) { return Tables(Mangle), 0 }

// ErrECNNotTCP is CheckRule's error for a TCP flag change in a rule
// not limited to TCP.
var ErrECNNotTCP = errors.New("ECN: cannot use TCP operations on non-tcp rule")

// CheckRule refuses the TCP operations without -p tcp, as ecn_tg_check
// does, and an ECT value above 3.
func (t *ECNTarget) CheckRule(r *Rule, _ Site) error {
	if (t.SetECE || t.SetCWR) && (r.Header.Proto != packet.ProtoTCP || r.Header.ProtoInvert) {
		return ErrECNNotTCP
	}
	if t.IPECT > 3 {
		return errors.New("ECN: --ecn-ip-ect out of range")
	}
	return nil
}

// Do rewrites the fields and continues.
func (t *ECNTarget) Do(c *Context) Verdict {
	p := c.Packet
	if t.SetIP && p.TOS&3 != t.IPECT&3 {
		p.SetTOS(p.TOS&^3 | t.IPECT&3)
	}
	if (t.SetECE || t.SetCWR) && p.Proto == packet.ProtoTCP {
		if p.L4Off == 0 || p.Truncated || p.Invalid != packet.OK {
			return Verdict{Action: Drop}
		}
		f := p.TCPFlags
		if t.SetECE {
			f = setBit(f, packet.TCPEce, t.ECE)
		}
		if t.SetCWR {
			f = setBit(f, packet.TCPCwr, t.CWR)
		}
		if f != p.TCPFlags {
			p.SetTCPFlags(f)
		}
	}
	return Verdict{Action: Continue}
}

func setBit(f, bit uint8, on bool) uint8 {
	if on {
		return f | bit
	}
	return f &^ bit
}

// TCPOptStripTarget is -j TCPOPTSTRIP (xt_TCPOPTSTRIP.c), for the mangle
// table and -p tcp: the TCP options of the kinds in Strip are replaced
// by NOPs, the checksum updated, and the packet continues.
type TCPOptStripTarget struct {
	// Strip has a bit per option kind.
	Strip [8]uint32
}

// Name returns "TCPOPTSTRIP".
func (*TCPOptStripTarget) Name() string { return "TCPOPTSTRIP" }

// Allowed restricts the target to the mangle table.
func (*TCPOptStripTarget) Allowed() (TableMask, HookMask) { return Tables(Mangle), 0 }

// RequiredProto binds the target to -p tcp.
func (*TCPOptStripTarget) RequiredProto() (uint8, bool) { return packet.ProtoTCP, false }

// Strips reports whether kind is stripped.
func (t *TCPOptStripTarget) Strips(kind uint8) bool { return t.Strip[kind>>5]&(1<<(kind&31)) != 0 }

// Do strips the options and continues; a later fragment is left alone,
// and a segment whose header does not fit the packet is dropped.
func (t *TCPOptStripTarget) Do(c *Context) Verdict {
	p := c.Packet
	if p.FragOffset != 0 {
		return Verdict{Action: Continue}
	}
	if p.L4Off == 0 || p.Truncated || p.Invalid != packet.OK {
		return Verdict{Action: Drop}
	}
	p.StripTCPOptions(t.Strips)
	return Verdict{Action: Continue}
}
