package helpers

import (
	"encoding/binary"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// SANE (nf_conntrack_sane.c), the network scanner protocol
// (saned, TCP port 6566). A client starts a scan with a SANE_NET_START
// request, whose reply names the port of the data connection the client
// then opens to the server:
//
//	request: RPC code 7 (4 bytes), handle (4 bytes)
//	reply:   status (4 bytes, 0 for success), 0 (2 bytes), port (2 bytes), …
//
// The helper remembers, per connection, whether the last request the
// client sent was a SANE_NET_START, and expects the connection the reply
// to it names. As in the kernel, a request is recognised only when it is
// the whole segment (exactly 8 bytes) and any other 8-byte segment
// forgets it; the reply must begin the next segment with data in the
// server's direction, which ends the wait whatever it holds; and the
// port, taken as it is, may be 0. The kernel has no NAT helper for
// SANE: the payload is never rewritten.

// The per-connection state (enum sane_state), kept in the first four
// bytes of the helper data.
const (
	saneNormal         = 0 // SANE_STATE_NORMAL
	saneStartRequested = 1 // SANE_STATE_START_REQUESTED
)

const (
	saneNetStart      = 7 // SANE_NET_START, the RPC code of a start request
	saneRequestLen    = 8 // sizeof(struct sane_request)
	saneReplyStartLen = 8 // sizeof(struct sane_reply_net_start)
)

func newSANE(*Config) *Helper {
	return &Helper{
		name: "sane", protos: []uint8{packet.ProtoTCP}, families: both,
		policy: []conntrack.ExpectPolicy{{Name: "default", MaxExpected: 1, Timeout: 5 * time.Minute}},
		help:   saneHelp,
	}
}

func saneHelp(h *Helper, c *Call) Verdict {
	if !c.established() {
		return accept
	}
	p := c.Packet
	if p.Proto != packet.ProtoTCP || p.L4Off == 0 || p.PayloadOff >= p.Length {
		return accept
	}
	data := p.Bytes()[p.PayloadOff:]
	if c.dir() == conntrack.Original {
		if len(data) != saneRequestLen {
			return accept
		}
		st := uint32(saneNormal)
		if binary.BigEndian.Uint32(data) == saneNetStart {
			// The next reply is the interesting one.
			st = saneStartRequested
		}
		binary.LittleEndian.PutUint32(c.Data[:4], st)
		return accept
	}
	if binary.LittleEndian.Uint32(c.Data[:4]) != saneStartRequested {
		return accept
	}
	// This is the reply to SANE_NET_START: whatever it holds, the next
	// one is not.
	binary.LittleEndian.PutUint32(c.Data[:4], saneNormal)
	if len(data) < saneReplyStartLen {
		return accept
	}
	status := binary.BigEndian.Uint32(data[0:4])
	zero := binary.BigEndian.Uint16(data[4:6])
	port := binary.BigEndian.Uint16(data[6:8])
	if status != 0 || zero != 0 {
		// saned refused, or the reply is not one.
		return accept
	}
	orig := c.tuple(conntrack.Original)
	exp := conntrack.Expectation{Mask: conntrack.ExpectAnySrcPort}
	exp.Tuple = conntrack.Tuple{Src: orig.Src, Dst: orig.Dst, DstPort: port, Family: orig.Family, Proto: packet.ProtoTCP, Zone: orig.Zone}
	if err := c.Table.Expect(c.CT, exp, c.Now); err != nil {
		return drop("cannot add expectation")
	}
	return accept
}
