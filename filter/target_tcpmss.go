package filter

import (
	"errors"

	"github.com/nfgo/nfgo/packet"
)

// TCPMSSTarget is -j TCPMSS (xt_TCPMSS.c): it lowers the MSS option of TCP
// SYNs, to work around broken path-MTU discovery.
type TCPMSSTarget struct {
	// MSS is the value to set (--set-mss); ignored with ClampPMTU.
	MSS uint16
	// ClampPMTU derives the MSS from the output interface's MTU
	// (--clamp-mss-to-pmtu): MTU minus the IP and TCP header sizes.
	ClampPMTU bool
}

// Name returns "TCPMSS".
func (*TCPMSSTarget) Name() string { return "TCPMSS" }

// ErrTCPMSSClampHook is CheckRule's error for --clamp-mss-to-pmtu used
// where there is no output route yet.
var ErrTCPMSSClampHook = errors.New("path-MTU clamping only supported in FORWARD, OUTPUT and POSTROUTING hooks")

// RequiredProto binds the target to -p tcp (the target's .proto).
func (*TCPMSSTarget) RequiredProto() (uint8, bool) { return packet.ProtoTCP, false }

// CheckRule applies the rest of tcpmss_tg4_check / tcpmss_tg6_check:
// clamping needs the path MTU, known only once the packet is routed:
// FORWARD, OUTPUT or POSTROUTING.
//
// The kernel also demands a tcp match that matches SYN ("Only works on TCP
// SYN packets") — but skips that check for nft_compat, and iptables-nft,
// the ground truth nfgo is tested against, accepts such rules. nfgo follows
// it; on a non-SYN segment the MSS option, if any, is rewritten all the
// same, as the kernel would.
func (t *TCPMSSTarget) CheckRule(_ *Rule, at Site) error {
	if t.ClampPMTU && at.Hooks&^Hooks(Forward, Output, Postrouting) != 0 {
		return ErrTCPMSSClampHook
	}
	return nil
}

// Do lowers the MSS option as tcpmss_mangle_packet does and continues. It
// drops the packet where the kernel does: a TCP header that is not all
// there, or --clamp-mss-to-pmtu with an unknown or too small MTU ("unknown
// or invalid path-MTU").
//
// The MSS is never raised (RFC 879 hosts rely on it). A segment without
// an MSS option gets one, set to min(MSS, 536) for IPv4 (RFC 1122) or
// min(MSS, 1220) for IPv6 (RFC 8200), the defaults its peer would assume,
// when it carries no data and its header has room; the packet grows by 4
// bytes (packet.InsertTCPMSS).
func (t *TCPMSSTarget) Do(c *Context) Verdict {
	p := c.Packet
	if p == nil || p.Proto != packet.ProtoTCP {
		return Verdict{Action: Continue}
	}
	if p.Fragment && p.FragOffset != 0 {
		return Verdict{Action: Continue}
	}
	if p.L4Off == 0 {
		return Verdict{Action: Drop}
	}
	mss := t.MSS
	if t.ClampPMTU {
		minlen := 20 + 20
		if p.Family == packet.IPv6 {
			minlen = 40 + 20
		}
		mtu := 0
		if c.Env != nil {
			mtu = c.Env.MTU(c.Out)
		}
		if mtu <= minlen {
			return Verdict{Action: Drop}
		}
		mss = uint16(min(mtu-minlen, 0xffff))
	}
	if !p.TCPOptions.HasMSS {
		def := uint16(536)
		if p.Family == packet.IPv6 {
			def = 1220
		}
		p.InsertTCPMSS(min(mss, def))
		return Verdict{Action: Continue}
	}
	if p.TCPOptions.MSS <= mss {
		return Verdict{Action: Continue}
	}
	p.SetTCPMSS(mss)
	return Verdict{Action: Continue}
}
