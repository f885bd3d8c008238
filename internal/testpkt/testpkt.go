// Package testpkt builds well-formed IPv4 and IPv6 packets with gopacket,
// an implementation independent of nfgo's own, for tests, fuzz seeds and
// the sample capture.
package testpkt

import (
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Spec describes a packet to build. Zero fields take sensible defaults.
type Spec struct {
	Src, Dst netip.Addr
	// Proto is "tcp", "udp", "icmp" (ICMP or ICMPv6 by family), "pptp"
	// (PPTP's enhanced GRE, version 1, carrying PPP: DstPort is the call
	// ID, Seq the sequence number), or "raw" with RawProto.
	Proto    string
	RawProto uint8
	SrcPort  uint16
	DstPort  uint16
	// TCP flags, e.g. "S", "SA", "A", "FA", "R", "PA".
	Flags  string
	Seq    uint32
	Ack    uint32
	Window uint16
	MSS    uint16 // adds an MSS option when non-zero
	// HasWScale adds a window scale option with shift WScale.
	WScale    uint8
	HasWScale bool
	// SACKPermitted adds the SACK-permitted option.
	SACKPermitted bool
	// ZeroWindow sends a TCP window of 0 (a zero Window means 64240).
	ZeroWindow bool
	// SACK adds a SACK option (RFC 2018) with these blocks, each
	// {left, right}.
	SACK [][2]uint32
	// Timestamps adds the timestamps option with TSVal and TSEcr.
	Timestamps   bool
	TSVal, TSEcr uint32
	// TCPOptions are raw TCP options, appended after the others; each
	// must be whole (a kind 0 or 1 byte, or kind, length and data).
	TCPOptions []byte
	// NoDF clears IPv4's don't-fragment bit, which is set otherwise.
	NoDF     bool
	TTL      uint8 // default 64
	TOS      uint8
	ID       uint16
	ICMPType uint8
	ICMPCode uint8
	ICMPID   uint16
	ICMPSeq  uint16
	Payload  []byte
}

// Build serialises the packet with correct lengths and checksums.
func Build(s Spec) []byte {
	if s.TTL == 0 {
		s.TTL = 64
	}
	if s.Window == 0 {
		s.Window = 64240
	}
	v6 := s.Src.Is6()
	var net3 gopacket.SerializableLayer
	var ipv4 *layers.IPv4
	var ipv6 *layers.IPv6
	proto := layers.IPProtocol(s.RawProto)
	switch s.Proto {
	case "tcp":
		proto = layers.IPProtocolTCP
	case "udp":
		proto = layers.IPProtocolUDP
	case "icmp":
		proto = layers.IPProtocolICMPv4
		if v6 {
			proto = layers.IPProtocolICMPv6
		}
	case "pptp":
		proto = layers.IPProtocolGRE
	}
	if v6 {
		ipv6 = &layers.IPv6{Version: 6, HopLimit: s.TTL, TrafficClass: s.TOS, NextHeader: proto,
			SrcIP: net.IP(s.Src.AsSlice()), DstIP: net.IP(s.Dst.AsSlice())}
		net3 = ipv6
	} else {
		ipv4 = &layers.IPv4{Version: 4, IHL: 5, TTL: s.TTL, TOS: s.TOS, Id: s.ID, Protocol: proto,
			Flags: layers.IPv4DontFragment, SrcIP: net.IP(s.Src.AsSlice()), DstIP: net.IP(s.Dst.AsSlice())}
		if s.NoDF {
			ipv4.Flags = 0
		}
		net3 = ipv4
	}
	ls := []gopacket.SerializableLayer{net3}
	switch s.Proto {
	case "tcp":
		t := &layers.TCP{SrcPort: layers.TCPPort(s.SrcPort), DstPort: layers.TCPPort(s.DstPort), Seq: s.Seq, Ack: s.Ack, Window: s.Window}
		for _, f := range s.Flags {
			switch f {
			case 'S':
				t.SYN = true
			case 'A':
				t.ACK = true
			case 'F':
				t.FIN = true
			case 'R':
				t.RST = true
			case 'P':
				t.PSH = true
			case 'U':
				t.URG = true
			case 'E':
				t.ECE = true
			case 'C':
				t.CWR = true
			}
		}
		if s.MSS != 0 {
			t.Options = append(t.Options, layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{byte(s.MSS >> 8), byte(s.MSS)}})
		}
		if s.HasWScale {
			t.Options = append(t.Options, layers.TCPOption{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{s.WScale}})
		}
		if s.SACKPermitted {
			t.Options = append(t.Options, layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2})
		}
		if len(s.SACK) > 0 {
			var blocks []byte
			for _, b := range s.SACK {
				blocks = binary.BigEndian.AppendUint32(blocks, b[0])
				blocks = binary.BigEndian.AppendUint32(blocks, b[1])
			}
			t.Options = append(t.Options, layers.TCPOption{OptionType: layers.TCPOptionKindSACK, OptionLength: uint8(2 + len(blocks)), OptionData: blocks})
		}
		if s.ZeroWindow {
			t.Window = 0
		}
		if s.Timestamps {
			var ts [8]byte
			binary.BigEndian.PutUint32(ts[:4], s.TSVal)
			binary.BigEndian.PutUint32(ts[4:], s.TSEcr)
			t.Options = append(t.Options, layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: ts[:]})
		}
		for o := s.TCPOptions; len(o) > 0; {
			if o[0] < 2 {
				t.Options = append(t.Options, layers.TCPOption{OptionType: layers.TCPOptionKind(o[0]), OptionLength: 1})
				o = o[1:]
				continue
			}
			n := int(o[1])
			t.Options = append(t.Options, layers.TCPOption{OptionType: layers.TCPOptionKind(o[0]), OptionLength: o[1], OptionData: o[2:n]})
			o = o[n:]
		}
		setNet(t, ipv4, ipv6)
		ls = append(ls, t)
	case "udp":
		u := &layers.UDP{SrcPort: layers.UDPPort(s.SrcPort), DstPort: layers.UDPPort(s.DstPort)}
		setNet(u, ipv4, ipv6)
		ls = append(ls, u)
	case "pptp":
		// RFC 2637 4.1: the key field holds the payload length and
		// the call ID.
		ls = append(ls, &layers.GRE{Version: 1, KeyPresent: true, Key: uint32(len(s.Payload))<<16 | uint32(s.DstPort),
			SeqPresent: true, Seq: s.Seq, Protocol: 0x880b})
	case "icmp":
		if v6 {
			ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(s.ICMPType, s.ICMPCode)}
			_ = ic.SetNetworkLayerForChecksum(ipv6)
			body := []byte{byte(s.ICMPID >> 8), byte(s.ICMPID), byte(s.ICMPSeq >> 8), byte(s.ICMPSeq)}
			ls = append(ls, ic, gopacket.Payload(body))
		} else {
			ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(s.ICMPType, s.ICMPCode), Id: s.ICMPID, Seq: s.ICMPSeq})
		}
	}
	if len(s.Payload) > 0 {
		ls = append(ls, gopacket.Payload(s.Payload))
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic("testpkt: " + err.Error())
	}
	return append([]byte(nil), buf.Bytes()...)
}

type checksummer interface {
	SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
}

func setNet(l checksummer, v4 *layers.IPv4, v6 *layers.IPv6) {
	if v4 != nil {
		_ = l.SetNetworkLayerForChecksum(v4)
	} else {
		_ = l.SetNetworkLayerForChecksum(v6)
	}
}

// Truncate cuts a packet built by Build to n bytes and fixes the IP
// header to say so (IPv4 total length and header checksum, IPv6 payload
// length), so that only the transport header is short: a well-formed IP
// packet carrying a malformed transport header.
func Truncate(b []byte, n int) []byte {
	c := append([]byte(nil), b[:n]...)
	if c[0]>>4 == 6 {
		binary.BigEndian.PutUint16(c[4:], uint16(n-40))
		return c
	}
	binary.BigEndian.PutUint16(c[2:], uint16(n))
	FixIPv4Checksum(c)
	return c
}

// FixIPv4Checksum recomputes an IPv4 header checksum after a test edited
// the header.
func FixIPv4Checksum(b []byte) {
	ihl := int(b[0]&0x0f) * 4
	b[10], b[11] = 0, 0
	var sum uint32
	for i := 0; i < ihl; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b[10:], ^uint16(sum))
}
