package helpers

import (
	"encoding/binary"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// TFTP (nf_conntrack_tftp.c, nf_nat_tftp.c). A read or write request
// goes to the server's port 69, and the server answers from a new port:
// the helper expects that connection, from the server's address and any
// port to the client's port. Under NAT the payload names nothing, so
// nothing is rewritten; the expected connection follows the master's
// NAT.

// The TFTP opcodes (RFC 1350).
const (
	tftpRRQ = 1
	tftpWRQ = 2
)

func newTFTP(*Config) *Helper {
	return &Helper{
		name: "tftp", protos: []uint8{packet.ProtoUDP}, families: both,
		policy: []conntrack.ExpectPolicy{{Name: "default", MaxExpected: 1, Timeout: 300 * time.Second}},
		help:   tftpHelp,
	}
}

func tftpHelp(h *Helper, c *Call) Verdict {
	p := c.Packet
	// The opcode follows the 8-byte UDP header: tftp_help reads two
	// bytes there whatever the packet (for an ICMP error about the
	// flow, the embedded IP header's first two, which are no opcode).
	l4 := p.L4()
	if len(l4) < 8+2 {
		return accept
	}
	switch binary.BigEndian.Uint16(l4[8:]) {
	case tftpRRQ, tftpWRQ:
	default:
		return accept
	}
	reply := c.tuple(conntrack.Reply)
	exp := conntrack.Expectation{Mask: conntrack.ExpectAnySrcPort}
	exp.Tuple = conntrack.Tuple{Src: reply.Src, Dst: reply.Dst, DstPort: reply.DstPort, Family: reply.Family, Proto: packet.ProtoUDP, Zone: reply.Zone}
	if c.natted() {
		exp.SavedPort = c.tuple(conntrack.Original).SrcPort
		exp.Dir = conntrack.Reply
		exp.Fn = conntrack.ExpectFollowMaster
	}
	if err := c.Table.Expect(c.CT, exp, c.Now); err != nil {
		return drop("cannot add expectation")
	}
	return accept
}
