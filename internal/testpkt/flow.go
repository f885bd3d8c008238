package testpkt

import (
	"encoding/binary"
	"net/netip"
)

// Router is a router a flow's packets pass through: it takes a packet
// and returns the packet it forwards, or nil if it forwards nothing.
type Router func(b []byte) []byte

// End is one end of a flow: its own address and port, and those of the
// peer as it addresses it. A TCP end keeps its own next sequence number
// and the next one it expects, as the router delivers its peer's
// packets to it (so a router that resizes a payload moves its numbers).
type End struct {
	Addr     netip.Addr
	Port     uint16
	PeerAddr netip.Addr
	PeerPort uint16
	Seq, Ack uint32
}

// Flow plays both ends of one TCP or UDP connection through a router:
// the initiator dials PeerAddr:PeerPort; the responder, until it has
// heard from the initiator, knows only its own address and learns the
// peer from the first packet delivered to it, as a server does.
type Flow struct {
	Proto string // "tcp" or "udp"
	// Init is the end that starts the connection, Resp the other.
	Init, Resp End
	Via        Router
}

// Sent is what became of one packet of a flow.
type Sent struct {
	// Packet is the packet as its sender built it.
	Packet []byte
	// Out is the packet the router delivered, nil if none.
	Out []byte
}

// Payload returns the transport payload of the delivered packet ("" if
// none was delivered).
func (s Sent) Payload() string {
	if s.Out == nil {
		return ""
	}
	return string(payloadOf(s.Out))
}

// payloadOf returns the TCP or UDP payload of an IP packet built by
// Build or rewritten by a router, without IPv6 extension headers.
func payloadOf(b []byte) []byte {
	var l4 []byte
	var proto byte
	if b[0]>>4 == 6 {
		proto, l4 = b[6], b[40:40+int(binary.BigEndian.Uint16(b[4:6]))]
	} else {
		ihl := int(b[0]&0x0f) * 4
		proto, l4 = b[9], b[ihl:binary.BigEndian.Uint16(b[2:4])]
	}
	if proto == 6 {
		return l4[int(l4[12]>>4)*4:]
	}
	return l4[8:]
}

// Send sends a packet from the initiator (fromInit) or the responder,
// with TCP flags flags (ignored for UDP) and payload, and returns what
// the router made of it. A TCP end's sequence number moves on only when
// the packet is delivered, so that sending again retransmits.
func (f *Flow) Send(fromInit bool, flags string, payload string) Sent {
	from, to := &f.Init, &f.Resp
	if !fromInit {
		from, to = to, from
	}
	s := Spec{Src: from.Addr, Dst: from.PeerAddr, Proto: f.Proto, SrcPort: from.Port, DstPort: from.PeerPort, Payload: []byte(payload)}
	if f.Proto == "tcp" {
		s.Flags, s.Seq, s.Ack = flags, from.Seq, from.Ack
		if !contains(flags, 'A') {
			s.Ack = 0
		}
	}
	b := Build(s)
	out := f.Via(append([]byte(nil), b...))
	if out == nil {
		// Not delivered: the sender sends the same bytes again later,
		// from the same sequence number.
		return Sent{Packet: b}
	}
	if f.Proto == "tcp" {
		from.Seq += uint32(len(payload)) + seqFlags(flags)
	}
	if !to.PeerAddr.IsValid() {
		src, _, sport, _ := addrsPorts(out)
		to.PeerAddr, to.PeerPort = src, sport
	}
	if f.Proto == "tcp" {
		seq := binary.BigEndian.Uint32(l4Of(out)[4:])
		to.Ack = seq + uint32(len(payloadOf(out))) + seqFlags(flags)
	}
	return Sent{Packet: b, Out: out}
}

// seqFlags is how much SYN and FIN add to a sequence number.
func seqFlags(flags string) uint32 {
	n := uint32(0)
	if contains(flags, 'S') {
		n++
	}
	if contains(flags, 'F') {
		n++
	}
	return n
}

func contains(s string, c byte) bool {
	for i := range len(s) {
		if s[i] == c {
			return true
		}
	}
	return false
}

// l4Of returns the transport header and payload of an IP packet.
func l4Of(b []byte) []byte {
	if b[0]>>4 == 6 {
		return b[40:]
	}
	return b[int(b[0]&0x0f)*4:]
}

// addrsPorts returns an IP packet's addresses and transport ports.
func addrsPorts(b []byte) (src, dst netip.Addr, sport, dport uint16) {
	if b[0]>>4 == 6 {
		src, dst = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
	} else {
		src, dst = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
	}
	l4 := l4Of(b)
	return src, dst, binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:])
}

// Handshake opens a TCP flow: SYN, SYN/ACK, ACK. It reports whether all
// three were delivered.
func (f *Flow) Handshake() bool {
	return f.Send(true, "S", "").Out != nil && f.Send(false, "SA", "").Out != nil && f.Send(true, "A", "").Out != nil
}
