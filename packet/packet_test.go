package packet

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

// ip4Fields are the IP fields of the IPv4 packets newIPv4 builds.
func ip4Fields(length int, proto uint8) Packet {
	return Packet{
		Family: IPv4, Length: length, WireLength: length, Proto: proto, TTL: 64, TOS: 0x10,
		IPID: 0x1234, FragID: 0x1234, DontFrag: true,
	}
}

// ip6Fields are the IP fields of the IPv6 packets newIPv6 builds.
func ip6Fields(length int, proto uint8) Packet {
	return Packet{Family: IPv6, Length: length, WireLength: length, Proto: proto, TTL: 64, TOS: 0x28, FlowLabel: 0x12345}
}

func with(p Packet, f func(*Packet)) Packet {
	f(&p)
	return p
}

func TestDecodeCorpusFields(t *testing.T) {
	want := map[string]Packet{
		"tcp4-syn-options": with(ip4Fields(60, ProtoTCP), func(p *Packet) {
			p.L4Off, p.PayloadOff = 20, 60
			p.SrcPort, p.DstPort = 40000, 80
			p.TCPFlags, p.Seq, p.Window = TCPSyn, 1000, 64240
			p.TCPOptions = TCPOptions{
				MSS: 1460, HasMSS: true, WScale: 7, HasWScale: true,
				SACKPermitted: true, HasTimestamps: true, TSVal: 111,
			}
		}),
		"tcp4-timestamps-payload": with(ip4Fields(152, ProtoTCP), func(p *Packet) {
			p.L4Off, p.PayloadOff = 20, 52
			p.SrcPort, p.DstPort = 40000, 80
			p.TCPFlags, p.Seq, p.Ack, p.Window = TCPAck|TCPPsh, 5000, 7000, 502
			p.TCPOptions = TCPOptions{HasTimestamps: true, TSVal: 0x01020304, TSEcr: 0x05060708}
		}),
		"tcp6-syn-options": with(ip6Fields(80, ProtoTCP), func(p *Packet) {
			p.L4Off, p.PayloadOff = 40, 80
			p.SrcPort, p.DstPort = 40000, 443
			p.TCPFlags, p.Seq, p.Window = TCPSyn, 1000, 64240
			p.TCPOptions = TCPOptions{
				MSS: 1460, HasMSS: true, WScale: 7, HasWScale: true,
				SACKPermitted: true, HasTimestamps: true, TSVal: 111,
			}
		}),
		"udp4": with(ip4Fields(40, ProtoUDP), func(p *Packet) {
			p.L4Off, p.PayloadOff, p.SrcPort, p.DstPort = 20, 28, 40000, 80
		}),
		"udp6": with(ip6Fields(60, ProtoUDP), func(p *Packet) {
			p.L4Off, p.PayloadOff, p.SrcPort, p.DstPort = 40, 48, 40000, 443
		}),
		"icmp4-echo": with(ip4Fields(32, ProtoICMP), func(p *Packet) {
			p.L4Off, p.PayloadOff = 20, 28
			p.ICMPType, p.ICMPID, p.ICMPSeq = ICMPEcho, 0x4242, 7
		}),
		"icmp6-echo": with(ip6Fields(52, ProtoICMPv6), func(p *Packet) {
			p.L4Off, p.PayloadOff = 40, 48
			p.ICMPType, p.ICMPID, p.ICMPSeq = ICMPv6EchoRequest, 0x4343, 9
		}),
		"icmp4-error-tcp": with(ip4Fields(180, ProtoICMP), func(p *Packet) {
			p.L4Off, p.PayloadOff, p.ICMPType, p.ICMPCode = 20, 28, ICMPDestUnreach, 3
		}),
		"icmp4-error-tcp-8-bytes": with(ip4Fields(56, ProtoICMP), func(p *Packet) {
			p.L4Off, p.PayloadOff, p.ICMPType, p.ICMPCode = 20, 28, ICMPDestUnreach, 3
		}),
		"icmp6-error-udp": with(ip6Fields(108, ProtoICMPv6), func(p *Packet) {
			p.L4Off, p.PayloadOff, p.ICMPType, p.ICMPCode = 40, 48, ICMPv6DestUnreach, 4
		}),
		"ipv6-ext-fragment-tcp": with(ip6Fields(124, ProtoTCP), func(p *Packet) {
			p.L4Off, p.PayloadOff = 64, 84
			p.Fragment, p.MoreFragments, p.FragID = true, true, 0xdeadbeef
			p.SrcPort, p.DstPort = 40000, 443
			p.TCPFlags, p.Seq, p.Ack, p.Window = TCPAck, 9, 10, 1000
		}),
		"ipv6-later-fragment": with(ip6Fields(112, ProtoTCP), func(p *Packet) {
			p.PayloadOff = 48
			p.Fragment, p.FragOffset, p.FragID = true, 1448, 0xdeadbeef
		}),
		"ipv4-later-fragment": with(ip4Fields(60, ProtoTCP), func(p *Packet) {
			p.PayloadOff = 20
			p.DontFrag, p.Fragment, p.FragOffset = false, true, 1480
		}),
		"gre4-checksum-key": with(ip4Fields(73, ProtoGRE), func(p *Packet) {
			p.L4Off, p.PayloadOff = 20, 36
			p.GREKey, p.HasGREKey, p.GREProto = 0xcafebabe, true, 0x0800
		}),
		"gre4-pptp": with(ip4Fields(40, ProtoGRE), func(p *Packet) {
			p.L4Off, p.PayloadOff = 20, 36
			p.GREKey, p.HasGREKey, p.GREVersion, p.GREProto = 4<<16|0x0102, true, 1, 0x880b
		}),
		"esp4": with(ip4Fields(52, ProtoESP), func(p *Packet) {
			p.L4Off, p.PayloadOff, p.SPI = 20, 28, 0x01020304
		}),
		"ah4": with(ip4Fields(64, ProtoAH), func(p *Packet) {
			p.L4Off, p.PayloadOff, p.SPI = 20, 44, 0x11223344
		}),
		"ipv6-ah-tcp": with(ip6Fields(84, ProtoTCP), func(p *Packet) {
			p.L4Off, p.PayloadOff, p.SPI = 64, 84, 0x55667788
			p.SrcPort, p.DstPort, p.TCPFlags, p.Seq, p.Window = 1234, 22, TCPSyn, 1, 100
		}),
		"ipv6-no-next-header": with(ip6Fields(48, ProtoNoNextHeader), func(p *Packet) {
			p.PayloadOff = 40
		}),
		"ipv4-options-udp": with(ip4Fields(35, ProtoUDP), func(p *Packet) {
			p.L4Off, p.PayloadOff, p.SrcPort, p.DstPort = 24, 32, 1, 2
		}),
		"sctp4": with(ip4Fields(48, ProtoSCTP), func(p *Packet) {
			p.L4Off, p.PayloadOff, p.SrcPort, p.DstPort, p.SCTPVTag = 20, 32, 40000, 80, 0xabcdef01
		}),
		"sctp6": with(ip6Fields(68, ProtoSCTP), func(p *Packet) {
			p.L4Off, p.PayloadOff, p.SrcPort, p.DstPort, p.SCTPVTag = 40, 52, 40000, 443, 0xabcdef01
		}),
		"udplite6": with(ip6Fields(68, ProtoUDPLite), func(p *Packet) {
			p.L4Off, p.PayloadOff, p.SrcPort, p.DstPort = 40, 48, 40000, 443
		}),
		"dccp4": with(ip4Fields(48, ProtoDCCP), func(p *Packet) {
			p.L4Off, p.PayloadOff, p.SrcPort, p.DstPort = 20, 40, 40000, 80
		}),
		"truncated-tcp4": {Family: IPv4, Invalid: InvalidIPv4LengthExceedsPacket},
	}
	for _, tp := range corpus(t) {
		t.Run(tp.name, func(t *testing.T) {
			w, ok := want[tp.name]
			if !ok {
				t.Fatalf("no expected fields for corpus packet %q", tp.name)
			}
			var got Packet
			got.Decode(tp.b)
			if d := diffPackets(&got, &w); d != "" {
				t.Errorf("Decode(%x):%s", tp.b, d)
			}
		})
	}
}

func TestDecodeResetsEveryField(t *testing.T) {
	var p, fresh Packet
	p.Decode(buildTCPSYN(t, flow4))
	b := buildIPv4LaterFragment(t)
	p.Decode(b)
	fresh.Decode(b)
	if d := diffPackets(&p, &fresh); d != "" {
		t.Errorf("Decode over a used Packet left fields of the previous packet:%s", d)
	}
}

func TestDecodeIgnoresBytesBeyondTotalLength(t *testing.T) {
	for _, tp := range []testPacket{
		{"udp4", buildUDP(t, flow4, []byte("x"))}, // 29 bytes: Ethernet pads it to 46
		{"tcp6", buildTCPData(t, flow6)},
	} {
		t.Run(tp.name, func(t *testing.T) {
			padded := append(bytes.Clone(tp.b), make([]byte, 17)...)
			var p Packet
			p.Decode(padded)
			if p.Invalid != OK || p.Length != len(tp.b) {
				t.Fatalf("Invalid, Length = %v, %d; want ok, %d", p.Invalid, p.Length, len(tp.b))
			}
			if !bytes.Equal(p.Bytes(), tp.b) {
				t.Errorf("Bytes() = %x, want the packet without padding %x", p.Bytes(), tp.b)
			}
			if got, want := p.Payload(), tp.b[p.PayloadOff:]; !bytes.Equal(got, want) {
				t.Errorf("Payload() = %x, want %x", got, want)
			}
			if !p.L4ChecksumOK() {
				t.Errorf("L4ChecksumOK() = false: padding must not be summed")
			}
		})
	}
}

func TestPayloadOfUDPStopsAtUDPLength(t *testing.T) {
	// udp_rcv trims the datagram to the UDP length; so does Payload.
	b := buildUDP(t, flow4, []byte("abcdef"))
	binary.BigEndian.PutUint16(b[24:26], 8+3)
	var p Packet
	p.Decode(b)
	if got := string(p.Payload()); got != "abc" {
		t.Errorf("Payload() = %q, want %q", got, "abc")
	}
	if got, want := len(p.L4()), 8+6; got != want {
		t.Errorf("len(L4()) = %d, want %d (the IP payload)", got, want)
	}
}

func TestAccessors(t *testing.T) {
	tests := []struct {
		name     string
		b        []byte
		src, dst netip.Addr
		l4       int // len(L4()), -1 for nil
		payload  string
	}{
		{"udp4", buildUDP(t, flow4, []byte("data")), addrA4, addrB4, 12, "data"},
		{"udp6", buildUDP(t, flow6, []byte("data6")), addrA6, addrB6, 13, "data6"},
		{"ipv4-later-fragment", buildIPv4LaterFragment(t), addrA4, addrB4, -1, string(seqBytes(40))},
		{"empty", nil, netip.Addr{}, netip.Addr{}, -1, ""},
		{"ipv6-truncated-header", buildUDP(t, flow6, nil)[:20], netip.Addr{}, netip.Addr{}, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			p.Decode(tt.b)
			if p.Src() != tt.src || p.Dst() != tt.dst {
				t.Errorf("Src(), Dst() = %v, %v; want %v, %v", p.Src(), p.Dst(), tt.src, tt.dst)
			}
			if l4 := p.L4(); (l4 == nil) != (tt.l4 < 0) || (l4 != nil && len(l4) != tt.l4) {
				t.Errorf("L4() = %x, want %d bytes", l4, tt.l4)
			}
			if got := string(p.Payload()); got != tt.payload {
				t.Errorf("Payload() = %q, want %q", got, tt.payload)
			}
		})
	}
}

// mutate returns a copy of b changed by f.
func mutate(b []byte, f func([]byte)) []byte {
	b = bytes.Clone(b)
	f(b)
	return b
}

func TestDecodeClassifiesInvalidPackets(t *testing.T) {
	tcp4 := buildTCPData(t, flow4)
	tcp6 := buildTCPData(t, flow6)
	udp4 := buildUDP(t, flow4, []byte("hello"))
	icmp4 := buildICMPEcho(t, flow4, 1, 1)
	icmp6 := buildICMPEcho(t, flow6, 1, 1)
	ext6 := buildIPv6ExtFragTCP(t)
	gre := buildGRE(t)
	dccp := buildDCCP(t, flow4)
	ah := buildAH4(t)

	// shorten cuts b to the IP header plus n bytes of L4, fixing the IP length.
	shorten := func(b []byte, n int) []byte {
		var p Packet
		p.Decode(b)
		b = bytes.Clone(b[:p.L4Off+n])
		if p.Family == IPv4 {
			binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
		} else {
			binary.BigEndian.PutUint16(b[4:6], uint16(len(b)-40))
		}
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want Invalid
	}{
		{"empty packet", nil, InvalidEmpty},
		{"version 5", mutate(tcp4, func(b []byte) { b[0] = 0x55 }), InvalidVersion},
		{"IPv4 shorter than 20 bytes", tcp4[:19], InvalidIPv4Truncated},
		{"IPv4 IHL below 5", mutate(tcp4, func(b []byte) { b[0] = 0x44 }), InvalidIPv4HeaderLength},
		{"IPv4 IHL past the packet", mutate(tcp4[:40], func(b []byte) { b[0] = 0x4f }), InvalidIPv4Truncated},
		{"IPv4 total length below IHL", mutate(tcp4, func(b []byte) { b[2], b[3] = 0, 19 }), InvalidIPv4TotalLength},
		{"IPv4 total length past the packet", tcp4[:151], InvalidIPv4LengthExceedsPacket},
		{"IPv6 shorter than 40 bytes", tcp6[:39], InvalidIPv6Truncated},
		{"IPv6 payload length past the packet", tcp6[:len(tcp6)-1], InvalidIPv6LengthExceedsPacket},
		{"IPv6 extension header past the packet", mutate(ext6, func(b []byte) { b[41] = 200 }), InvalidIPv6ExtHeader},
		{"IPv6 fragment header cut short", mutate(buildIPv6NoNext(t)[:44], func(b []byte) { b[5], b[6] = 4, ProtoFragment }), InvalidIPv6ExtHeader},
		{"IPv6 hop-by-hop header without its length byte", mutate(buildIPv6NoNext(t)[:41], func(b []byte) { b[5], b[6] = 1, ProtoHopByHop }), InvalidIPv6ExtHeader},
		{"IPv6 AH shorter than 8 bytes", mutate(buildIPv6NoNext(t)[:44], func(b []byte) { b[5], b[6] = 4, ProtoAH }), InvalidIPv6ExtHeader},
		{"IPv6 AH longer than the packet", mutate(buildIPv6AHTCP(t), func(b []byte) { b[41] = 100 }), InvalidIPv6ExtHeader},
		{"TCP shorter than 20 bytes", shorten(tcp4, 19), InvalidTCPTruncated},
		{"TCP data offset below 5", mutate(tcp4, func(b []byte) { b[32] = 4 << 4 }), InvalidTCPDataOffset},
		{"TCP data offset past the packet", shorten(tcp4, 24), InvalidTCPDataOffset},
		{"UDP shorter than 8 bytes", shorten(udp4, 7), InvalidUDPTruncated},
		{"UDP length below 8", mutate(udp4, func(b []byte) { b[24], b[25] = 0, 7 }), InvalidUDPLength},
		{"UDP length past the packet", mutate(udp4, func(b []byte) { b[24], b[25] = 0, 14 }), InvalidUDPLength},
		{"UDP-Lite coverage below 8", mutate(buildUDPLite(t, flow6), func(b []byte) { b[44], b[45] = 0, 7 }), InvalidUDPLiteCoverage},
		{"UDP-Lite coverage past the packet", mutate(buildUDPLite(t, flow6), func(b []byte) { b[44], b[45] = 0, 29 }), InvalidUDPLiteCoverage},
		{"ICMP shorter than 8 bytes", shorten(icmp4, 7), InvalidICMPTruncated},
		{"ICMPv6 shorter than 8 bytes", shorten(icmp6, 7), InvalidICMPv6Truncated},
		{"SCTP shorter than 12 bytes", shorten(buildSCTP(t, flow4), 11), InvalidSCTPTruncated},
		{"DCCP shorter than 12 bytes", shorten(dccp, 11), InvalidDCCPTruncated},
		{"DCCP data offset below the X header", mutate(dccp, func(b []byte) { b[24] = 3 }), InvalidDCCPDataOffset},
		{"DCCP data offset past the packet", mutate(dccp, func(b []byte) { b[24] = 8 }), InvalidDCCPDataOffset},
		{"GRE shorter than 4 bytes", shorten(gre, 3), InvalidGRETruncated},
		{"GRE shorter than its flags say", shorten(gre, 15), InvalidGRETruncated},
		{"GRE version 2", mutate(gre, func(b []byte) { b[21] = 2 }), InvalidGREHeader},
		{"GRE with routing", mutate(gre, func(b []byte) { b[20] |= greRouting }), InvalidGREHeader},
		{"PPTP GRE without key", mutate(buildPPTPGRE(t), func(b []byte) { b[20] &^= greKey }), InvalidGREHeader},
		{"ESP shorter than 8 bytes", shorten(buildESP(t), 7), InvalidESPTruncated},
		{"AH length below 12 bytes", mutate(ah, func(b []byte) { b[21] = 0 }), InvalidAHLength},
		{"AH longer than the packet", mutate(ah, func(b []byte) { b[21] = 20 }), InvalidAHTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			p.Decode(tt.b)
			if p.Invalid != tt.want {
				t.Fatalf("Invalid = %v, want %v", p.Invalid, tt.want)
			}
			if p.L4Off != 0 {
				t.Errorf("L4Off = %d, want 0 for an invalid packet", p.L4Off)
			}
			// The IP fields are valid when the failure came after the IP
			// header.
			wantIP := tt.want.L4() || tt.want == InvalidIPv6ExtHeader
			if ipOK := p.Length != 0; ipOK != wantIP {
				t.Errorf("Length = %d: IP fields valid = %v, want %v", p.Length, ipOK, wantIP)
			}
		})
	}
}

func TestFamilyString(t *testing.T) {
	for f, want := range map[Family]string{IPv4: "IPv4", IPv6: "IPv6", 0: "unknown", 5: "unknown"} {
		if got := f.String(); got != want {
			t.Errorf("Family(%d).String() = %q, want %q", f, got, want)
		}
	}
}

func TestInvalidStringsAreDistinct(t *testing.T) {
	seen := map[string]Invalid{}
	for i := OK; i < numInvalid; i++ {
		s := i.String()
		if s == "" {
			t.Errorf("Invalid(%d).String() is empty", i)
		}
		if j, dup := seen[s]; dup {
			t.Errorf("Invalid(%d) and Invalid(%d) both read %q", i, j, s)
		}
		seen[s] = i
	}
	if s := Invalid(200).String(); s == "" {
		t.Errorf("an out-of-range Invalid has no String")
	}
}

func TestDecodeTruncatedAtEveryLengthIsInvalid(t *testing.T) {
	for _, tp := range corpus(t) {
		var p Packet
		p.Decode(tp.b)
		if p.Invalid != OK {
			continue
		}
		for n := range len(tp.b) {
			p.Decode(tp.b[:n])
			if p.Invalid == OK {
				t.Errorf("%s cut to %d of %d bytes: Invalid = ok, want a reason", tp.name, n, len(tp.b))
			}
			if p.L4Off > n || p.PayloadOff > n || p.Length > n {
				t.Errorf("%s cut to %d bytes: offsets L4Off=%d PayloadOff=%d Length=%d point past the buffer",
					tp.name, n, p.L4Off, p.PayloadOff, p.Length)
			}
		}
	}
}

func TestDecodeEmbeddedToleratesTruncation(t *testing.T) {
	for _, tp := range []testPacket{
		{"tcp4", buildTCPData(t, flow4)},
		{"tcp6-syn", buildTCPSYN(t, flow6)},
		{"udp4", buildUDP(t, flow4, []byte("hello"))},
		{"udp6", buildUDP(t, flow6, []byte("hello"))},
		{"sctp4", buildSCTP(t, flow4)},
		{"dccp4", buildDCCP(t, flow4)},
		{"udplite6", buildUDPLite(t, flow6)},
	} {
		var full Packet
		full.Decode(tp.b)
		// From the IP header plus the 8 bytes RFC 792 promises, the ports
		// must be readable.
		for n := full.L4Off + embeddedL4Min; n <= len(tp.b); n++ {
			var p Packet
			p.DecodeEmbedded(tp.b[:n])
			if p.Invalid != OK {
				t.Errorf("%s cut to %d bytes: Invalid = %v, want ok", tp.name, n, p.Invalid)
				continue
			}
			if p.Truncated != (n < len(tp.b)) {
				t.Errorf("%s cut to %d of %d bytes: Truncated = %v", tp.name, n, len(tp.b), p.Truncated)
			}
			if p.SrcPort != full.SrcPort || p.DstPort != full.DstPort || p.Proto != full.Proto {
				t.Errorf("%s cut to %d bytes: proto %d ports %d>%d, want %d %d>%d", tp.name, n,
					p.Proto, p.SrcPort, p.DstPort, full.Proto, full.SrcPort, full.DstPort)
			}
			if p.Proto == ProtoTCP && p.Seq != full.Seq {
				t.Errorf("%s cut to %d bytes: Seq = %d, want %d", tp.name, n, p.Seq, full.Seq)
			}
			if n < len(tp.b) && p.L4ChecksumOK() {
				t.Errorf("%s cut to %d bytes: L4ChecksumOK() = true for a truncated packet", tp.name, n)
			}
		}
		// Fewer L4 bytes than that is still invalid.
		var p Packet
		p.DecodeEmbedded(tp.b[:full.L4Off+embeddedL4Min-1])
		if p.Invalid == OK {
			t.Errorf("%s with 7 bytes of L4: Invalid = ok, want a reason", tp.name)
		}
	}
}

func TestIPv6ExtensionHeaderWalk(t *testing.T) {
	// Each case is a chain of extension headers (as raw bytes) ending in
	// UDP; want is the Proto and L4Off Decode must find.
	udp := []byte{0, 1, 0, 2, 0, 8, 0, 0}
	tests := []struct {
		name      string
		first     uint8
		chain     []byte
		wantProto uint8
		wantL4    int
		wantFrag  bool
	}{
		{"no extension headers", ProtoUDP, nil, ProtoUDP, 40, false},
		{"hop-by-hop", ProtoHopByHop, []byte{ProtoUDP, 0, 1, 4, 0, 0, 0, 0}, ProtoUDP, 48, false},
		{"16-byte routing header", ProtoRouting, append([]byte{ProtoUDP, 1, 0, 0}, make([]byte, 12)...), ProtoUDP, 56, false},
		{"destination options twice", ProtoDestOpts,
			[]byte{ProtoDestOpts, 0, 1, 4, 0, 0, 0, 0, ProtoUDP, 0, 1, 4, 0, 0, 0, 0}, ProtoUDP, 56, false},
		{"atomic fragment (offset 0, no M)", ProtoFragment, []byte{ProtoUDP, 0, 0, 0, 0, 0, 0, 1}, ProtoUDP, 48, true},
		{"AH counts 4-byte units plus 2", ProtoAH, append([]byte{ProtoUDP, 1, 0, 0, 0, 0, 0, 7}, make([]byte, 4)...), ProtoUDP, 52, false},
		{"ESP ends the walk", ProtoESP, nil, ProtoESP, 40, false},
		{"no next header ends the walk", ProtoHopByHop, []byte{ProtoNoNextHeader, 0, 1, 4, 0, 0, 0, 0}, ProtoNoNextHeader, 0, false},
		{"later fragment reports the fragment's next header", ProtoFragment, []byte{ProtoUDP, 0, 0, 8, 0, 0, 0, 1}, ProtoUDP, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := make([]byte, 40)
			b[0] = 0x60
			b[6], b[7] = tt.first, 64
			b = append(b, tt.chain...)
			b = append(b, udp...)
			binary.BigEndian.PutUint16(b[4:6], uint16(len(b)-40))
			var p Packet
			p.Decode(b)
			if p.Invalid != OK || p.Proto != tt.wantProto || p.L4Off != tt.wantL4 || p.Fragment != tt.wantFrag {
				t.Errorf("Invalid, Proto, L4Off, Fragment = %v, %d, %d, %v; want ok, %d, %d, %v",
					p.Invalid, p.Proto, p.L4Off, p.Fragment, tt.wantProto, tt.wantL4, tt.wantFrag)
			}
		})
	}
}

func TestIPv6JumbogramTrustsTheBuffer(t *testing.T) {
	// RFC 2675: payload length 0 with a Hop-by-Hop header.
	b := make([]byte, 40)
	b[0], b[6] = 0x60, ProtoHopByHop
	b = append(b, ProtoUDP, 0, 0xc2, 4, 0, 1, 0, 0x10) // jumbo payload option
	b = append(b, 0, 1, 0, 2, 0, 8, 0, 0)
	var p Packet
	p.Decode(b)
	if p.Invalid != OK || p.Length != len(b) || p.Proto != ProtoUDP {
		t.Errorf("Invalid, Length, Proto = %v, %d, %d; want ok, %d, %d", p.Invalid, p.Length, p.Proto, len(b), ProtoUDP)
	}
}

func TestTCPOptionsParsing(t *testing.T) {
	tests := []struct {
		name string
		opts []byte
		want TCPOptions
	}{
		{"end stops parsing", []byte{0, 2, 4, 5, 0xb4}, TCPOptions{}},
		{"first MSS counts", []byte{2, 4, 5, 0xb4, 2, 4, 0, 1, 1, 1, 1, 1}, TCPOptions{MSS: 1460, HasMSS: true}},
		{"MSS of wrong length is skipped", []byte{2, 5, 5, 0xb4, 0, 1, 1, 1}, TCPOptions{}},
		{"window scale above 14 kept as sent", []byte{3, 3, 15, 1}, TCPOptions{WScale: 15, HasWScale: true}},
		{"SACK blocks", []byte{1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4},
			TCPOptions{NumSACK: 2, SACKBlocks: [4]SACKBlock{{1, 2}, {3, 4}}}},
		{"SACK with a partial block is skipped", []byte{5, 6, 0, 0, 0, 1, 1, 1}, TCPOptions{}},
		{"zero length is malformed", []byte{8, 0, 1, 1}, TCPOptions{Malformed: true}},
		{"length past the header is malformed", []byte{4, 2, 8, 10, 0, 0, 0, 1}, TCPOptions{SACKPermitted: true, Malformed: true}},
		{"kind without length byte is malformed", []byte{1, 1, 1, 30}, TCPOptions{Malformed: true}},
		{"unknown kinds are skipped", []byte{30, 4, 0, 0, 4, 2, 1, 1}, TCPOptions{SACKPermitted: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got TCPOptions
			got.parse(tt.opts)
			if got != tt.want {
				t.Errorf("parse(%x) = %+v, want %+v", tt.opts, got, tt.want)
			}
		})
	}
}

// tcpWithOptions is an IPv4 TCP packet whose options area is opts (a
// multiple of 4 bytes).
func tcpWithOptions(t *testing.T, opts []byte) []byte {
	b := buildTCPData(t, flow4)[:40]
	b[32] = byte(5+len(opts)/4) << 4
	b = append(b, opts...)
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	var p Packet
	p.Decode(b)
	p.ComputeChecksums()
	return b
}

func TestHasTCPOptionScansLikeXtTCPUDP(t *testing.T) {
	tests := []struct {
		name string
		opts []byte
		kind uint8
		want bool
	}{
		{"finds MSS", []byte{2, 4, 5, 0xb4}, TCPOptionMSS, true},
		{"finds timestamps after NOPs", []byte{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0}, TCPOptionTimestamps, true},
		{"finds NOP itself", []byte{1, 0, 0, 0}, TCPOptionNOP, true},
		{"finds End itself", []byte{2, 4, 5, 0xb4, 0, 0, 0, 0}, TCPOptionEnd, true},
		{"keeps scanning past End", []byte{0, 8, 2, 0}, 8, true},
		{"does not look inside an option's value", []byte{2, 4, 8, 8}, 8, false},
		{"zero length advances one byte", []byte{30, 0, 8, 2}, 8, true},
		{"absent", []byte{2, 4, 5, 0xb4}, TCPOptionSACKPermitted, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			p.Decode(tcpWithOptions(t, tt.opts))
			if got := p.HasTCPOption(tt.kind); got != tt.want {
				t.Errorf("HasTCPOption(%d) over %x = %v, want %v", tt.kind, tt.opts, got, tt.want)
			}
		})
	}
	var p Packet
	p.Decode(buildUDP(t, flow4, nil))
	if p.HasTCPOption(TCPOptionEnd) {
		t.Errorf("HasTCPOption on UDP = true, want false")
	}
}

func TestICMPQueryTypesCarryID(t *testing.T) {
	for typ := range 256 {
		want4 := map[int]bool{0: true, 8: true, 13: true, 14: true, 15: true, 16: true, 17: true, 18: true, 42: true, 43: true}[typ]
		want6 := map[int]bool{128: true, 129: true, 139: true, 140: true, 160: true, 161: true}[typ]
		if got := icmpHasID(ProtoICMP, uint8(typ)); got != want4 {
			t.Errorf("ICMP type %d: has id = %v, want %v", typ, got, want4)
		}
		if got := icmpHasID(ProtoICMPv6, uint8(typ)); got != want6 {
			t.Errorf("ICMPv6 type %d: has id = %v, want %v", typ, got, want6)
		}
	}
}

func TestWireLengthOfACutPacket(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
	}{{"tcp4", buildTCPData(t, flow4)}, {"tcp6", buildTCPData(t, flow6)}} {
		var p Packet
		p.DecodeEmbedded(c.b[:len(c.b)-30])
		if !p.Truncated || p.Length != len(c.b)-30 || p.WireLength != len(c.b) || p.L4Off == 0 {
			t.Errorf("%s cut by 30 bytes: truncated %v, Length %d, WireLength %d, L4Off %d; want true, %d, %d, set",
				c.name, p.Truncated, p.Length, p.WireLength, p.L4Off, len(c.b)-30, len(c.b))
		}
	}
}
