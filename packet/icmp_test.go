package packet

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestIsICMPError(t *testing.T) {
	for typ := range 256 {
		var p Packet
		p.Decode(build(t, newIPv4(layers.IPProtocolICMPv4, addrA4, addrB4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(uint8(typ), 0)}))
		want4 := typ == 3 || typ == 4 || typ == 5 || typ == 11 || typ == 12
		if got := p.IsICMPError(); got != want4 {
			t.Errorf("ICMP type %d: IsICMPError() = %v, want %v", typ, got, want4)
		}
		p.Decode(build(t, newIPv6(layers.IPProtocolICMPv6, addrA6, addrB6),
			&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(uint8(typ), 0)}, gopacket.Payload{0, 0, 0, 0}))
		if got, want6 := p.IsICMPError(), typ < 128; got != want6 {
			t.Errorf("ICMPv6 type %d: IsICMPError() = %v, want %v", typ, got, want6)
		}
	}
	// ICMPv6's number inside IPv4, and ICMP's inside IPv6, are not errors.
	var p Packet
	p.Decode(build(t, newIPv4(layers.IPProtocolICMPv6, addrA4, addrB4), gopacket.Payload(make([]byte, 8))))
	if p.IsICMPError() {
		t.Errorf("ICMPv6 inside IPv4: IsICMPError() = true")
	}
}

func TestEmbeddedDecodesTheOffendingPacket(t *testing.T) {
	tcp4 := buildTCPData(t, flow4)
	udp6 := buildUDP(t, flow6, []byte("hello"))
	tests := []struct {
		name          string
		err           []byte
		wantTruncated bool
		wantInner     []byte
	}{
		{"whole TCP packet", buildICMPError(t, addrR4, tcp4), false, tcp4},
		{"IP header and 8 bytes (RFC 792)", buildICMPError(t, addrR4, tcp4[:28]), true, tcp4},
		{"cut inside the TCP options", buildICMPError(t, addrR4, tcp4[:44]), true, tcp4},
		{"whole UDP6 packet", buildICMPError(t, addrR6, udp6), false, udp6},
		{"UDP6 header only", buildICMPError(t, addrR6, udp6[:48]), true, udp6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p, inner, want Packet
			p.Decode(tt.err)
			if p.Invalid != OK || !p.IsICMPError() {
				t.Fatalf("outer: Invalid %v, IsICMPError %v", p.Invalid, p.IsICMPError())
			}
			if !p.Embedded(&inner) {
				t.Fatalf("Embedded = false, inner Invalid %v", inner.Invalid)
			}
			want.Decode(tt.wantInner)
			if inner.Truncated != tt.wantTruncated {
				t.Errorf("Truncated = %v, want %v", inner.Truncated, tt.wantTruncated)
			}
			if inner.Src() != want.Src() || inner.Dst() != want.Dst() || inner.Proto != want.Proto ||
				inner.SrcPort != want.SrcPort || inner.DstPort != want.DstPort {
				t.Errorf("inner %v:%d > %v:%d proto %d, want %v:%d > %v:%d proto %d",
					inner.Src(), inner.SrcPort, inner.Dst(), inner.DstPort, inner.Proto,
					want.Src(), want.SrcPort, want.Dst(), want.DstPort, want.Proto)
			}
		})
	}
}

func TestEmbeddedRefuses(t *testing.T) {
	tcp4 := buildTCPData(t, flow4)
	unreach := func(quote []byte) []byte {
		return build(t, newIPv4(layers.IPProtocolICMPv4, addrR4, addrA4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, gopacket.Payload(quote))
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"not ICMP", tcp4},
		{"ICMP echo", buildICMPEcho(t, flow4, 1, 1)},
		{"nothing embedded", unreach(nil)},
		{"embedded packet too short for ports", buildICMPError(t, addrR4, tcp4[:27])},
		{"IPv6 embedded in ICMPv4", unreach(buildUDP(t, flow6, nil))},
		{"garbage embedded", unreach([]byte{0x99, 1, 2, 3})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p, inner Packet
			p.Decode(tt.b)
			if p.Embedded(&inner) {
				t.Errorf("Embedded = true, want false")
			}
		})
	}
}

func TestICMPv4ErrorTypesAsIcmpSendCountsThem(t *testing.T) {
	// icmp_pointers: only echo, timestamp, information and address mask
	// messages are not errors; types past 18 are assumed to be errors.
	notErrors := map[int]bool{0: true, 8: true, 13: true, 14: true, 15: true, 16: true, 17: true, 18: true}
	for typ := range 256 {
		if got, want := isICMPv4ErrorType(uint8(typ)), !notErrors[typ]; got != want {
			t.Errorf("isICMPv4ErrorType(%d) = %v, want %v", typ, got, want)
		}
	}
}
