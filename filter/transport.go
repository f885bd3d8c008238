package filter

import (
	"encoding/binary"

	"github.com/nfgo/nfgo/packet"
)

// The matches below read the transport header the way the kernel reads it
// under iptables-nft, which is the ground truth nfgo is tested against:
//
//   - tcp (ports and flags) and udp become native nft payload expressions,
//     which load only the bytes they compare: a port test on a truncated
//     or inconsistent header still works if the two bytes are there, and
//     otherwise the rule simply does not match.
//   - icmp, icmp6, multiport and tcp --tcp-option stay x_tables matches,
//     which read a whole fixed-size header with skb_header_pointer and
//     drop the packet (hotdrop) when it is not there.
//
// Well-formed packets take the parsed fields; these helpers serve the
// malformed ones, where packet.Decode set an L4 Invalid reason.

// rawPort reads the source (off 0) or destination (off 2) port of a
// malformed transport header; ok is false when the bytes are missing.
func rawPort(p *packet.Packet, off int) (uint16, bool) {
	h := p.TransportHeader()
	if len(h) < off+2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(h[off:]), true
}

// rawTCPFlags reads the flags byte of a malformed TCP header.
func rawTCPFlags(p *packet.Packet) (uint8, bool) {
	h := p.TransportHeader()
	if len(h) < 14 {
		return 0, false
	}
	return h[13], true
}

// xtHeader reports whether an x_tables match can read n bytes of
// transport header; when it cannot, it sets the hotdrop flag, as the
// kernel's matches do for a "tinygram".
func xtHeader(c *Context, n int) bool {
	if len(c.Packet.TransportHeader()) >= n {
		return true
	}
	c.HotDrop = true
	return false
}
