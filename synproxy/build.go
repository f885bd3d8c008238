package synproxy

import (
	"encoding/binary"
	"net/netip"

	"github.com/nfgo/nfgo/packet"
)

// Segment is a TCP segment SYNPROXY sends, as synproxy_build_ip and the
// synproxy_send_* functions build one: no payload, IPv4 with TOS 0, ID 0
// and DF, IPv6 with traffic class and flow label 0, TTL (hop limit) the
// host's default, an urgent pointer of 0.
type Segment struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8 // packet.TCPSyn, …
	Window           uint16
	TTL              uint8
	Options          *Options
}

// Build appends the segment as an IP packet with its checksums.
func (s *Segment) Build(b []byte) []byte {
	optLen := 0
	if s.Options != nil {
		optLen = s.Options.Size()
	}
	tcpLen := 20 + optLen
	start := len(b)
	if s.Src.Is4() {
		b = append(b, 0x45, 0, 0, 0, 0, 0, 0x40, 0, s.TTL, packet.ProtoTCP, 0, 0)
		src, dst := s.Src.As4(), s.Dst.As4()
		b = append(append(b, src[:]...), dst[:]...)
		binary.BigEndian.PutUint16(b[start+2:], uint16(20+tcpLen))
	} else {
		b = append(b, 0x60, 0, 0, 0, byte(tcpLen>>8), byte(tcpLen), packet.ProtoTCP, s.TTL)
		src, dst := s.Src.As16(), s.Dst.As16()
		b = append(append(b, src[:]...), dst[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, s.SrcPort)
	b = binary.BigEndian.AppendUint16(b, s.DstPort)
	b = binary.BigEndian.AppendUint32(b, s.Seq)
	b = binary.BigEndian.AppendUint32(b, s.Ack)
	b = append(b, byte(tcpLen/4)<<4, s.Flags)
	b = binary.BigEndian.AppendUint16(b, s.Window)
	b = append(b, 0, 0, 0, 0) // checksum, urgent pointer
	if s.Options != nil {
		b = s.Options.Build(b)
	}
	var p packet.Packet
	p.Decode(b[start:])
	p.ComputeChecksums()
	return b
}

// SYNACK is the segment that answers a client's SYN
// (synproxy_send_client_synack): from the SYN's destination back to its
// source, the cookie as its sequence number, the client's ISN + 1
// acknowledged, a window of 0 (the client waits for the window update
// that follows the server's answer), ECE when ECN was agreed.
func SYNACK(client Flow, isn, cookie uint32, o *Options, ttl uint8) Segment {
	flags := uint8(packet.TCPSyn | packet.TCPAck)
	if o.Options&OptECN != 0 {
		flags |= packet.TCPEce
	}
	return Segment{Src: client.Dst, Dst: client.Src, SrcPort: client.DstPort, DstPort: client.SrcPort,
		Seq: cookie, Ack: isn + 1, Flags: flags, TTL: ttl, Options: o}
}

// ServerSYNOptions are the options of the SYN sent to the server for a
// client's ACK whose cookie carried mss (synproxy_recv_client_ack): the
// ACK's own timestamps, and what their echo of the timestamp cookie
// says the client offered (its window scale, SACK, ECN).
func ServerSYNOptions(ack []byte, mss uint16) Options {
	o := ParseOptions(ack)
	o.MSS = mss
	o.Options |= OptMSS
	if o.Options&OptTimestamp != 0 {
		o.CheckTimestampCookie()
	}
	return o
}

// ServerSYN is the SYN that opens the connection to the server once a
// client's ACK proved its cookie (synproxy_send_server_syn): from the
// client, its ISN as the sequence number, the cookie in the
// acknowledgment field (the proxy's ISN, for the sequence translation
// that follows), the ACK's window as it was, ECE and CWR when ECN was
// agreed. seq, ack and window are the client's ACK's.
func ServerSYN(client Flow, seq, ack uint32, window uint16, o *Options, ttl uint8) Segment {
	flags := uint8(packet.TCPSyn)
	if o.Options&OptECN != 0 {
		flags |= packet.TCPEce | packet.TCPCwr
	}
	return Segment{Src: client.Src, Dst: client.Dst, SrcPort: client.SrcPort, DstPort: client.DstPort,
		Seq: seq - 1, Ack: ack - 1, Flags: flags, Window: window, TTL: ttl, Options: o}
}

// ServerReply is the server's SYN/ACK to the proxy's SYN, as the hooks
// read it: its flow (from the server), sequence and acknowledgment
// numbers, window and options.
type ServerReply struct {
	Flow     Flow
	Seq, Ack uint32
	Window   uint16
	Options  Options
}

// ReplyOptions are the options the proxy's two ACKs carry for a
// server's SYN/ACK with options opts (the SYN_RECV case of the hooks):
// only its timestamps; the window scale read stays in WScale, for the
// client's window.
func ReplyOptions(opts []byte) Options {
	o := ParseOptions(opts)
	o.Options &^= OptMSS | OptWScale | OptSACKPerm
	return o
}

// ServerACK is the ACK that completes the server's handshake
// (synproxy_send_server_ack): from the client, acknowledging the
// server's ISN, announcing window (the client's largest so far,
// td_maxwin), with only the timestamps, echoing the server's.
func ServerACK(sa *ServerReply, window uint16, ttl uint8) Segment {
	o := sa.Options
	o.TSVal, o.TSEcr = o.TSEcr, o.TSVal
	return Segment{Src: sa.Flow.Dst, Dst: sa.Flow.Src, SrcPort: sa.Flow.DstPort, DstPort: sa.Flow.SrcPort,
		Seq: sa.Ack, Ack: sa.Seq + 1, Flags: packet.TCPAck, Window: window, TTL: ttl, Options: &o}
}

// ClientACK is the window update that lets the client send
// (synproxy_send_client_ack): from the server, in the server's sequence
// space (the hooks then translate it into the cookie's), with the
// server's window unscaled by the server's window scale and the
// server's timestamps.
func ClientACK(sa *ServerReply, ttl uint8) Segment {
	o := sa.Options
	return Segment{Src: sa.Flow.Src, Dst: sa.Flow.Dst, SrcPort: sa.Flow.SrcPort, DstPort: sa.Flow.DstPort,
		Seq: sa.Seq + 1, Ack: sa.Ack, Flags: packet.TCPAck, Window: sa.Window >> o.WScale, TTL: ttl, Options: &o}
}
