package packet

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// benchTCP4 is a 152-byte IPv4/TCP packet with the timestamps option and a
// 100-byte payload, the packet of the project's reference measurements.
func benchTCP4(b *testing.B) []byte {
	pkt := buildTCPData(b, flow4)
	if len(pkt) != 152 {
		b.Fatalf("benchmark packet is %d bytes, want 152", len(pkt))
	}
	return pkt
}

func BenchmarkDecodeIPv4TCP(b *testing.B) {
	pkt := benchTCP4(b)
	var p Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		p.Decode(pkt)
	}
	if p.Invalid != OK || !p.TCPOptions.HasTimestamps {
		b.Fatalf("Invalid %v, timestamps %v", p.Invalid, p.TCPOptions.HasTimestamps)
	}
}

// BenchmarkGopacketDecodingLayerParserIPv4TCP is the baseline: gopacket's
// fastest decoding path on the same bytes as BenchmarkDecodeIPv4TCP.
func BenchmarkGopacketDecodingLayerParserIPv4TCP(b *testing.B) {
	pkt := benchTCP4(b)
	var (
		ip4     layers.IPv4
		tcp     layers.TCP
		payload gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeIPv4, &ip4, &tcp, &payload)
	decoded := make([]gopacket.LayerType, 0, 4)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if err := parser.DecodeLayers(pkt, &decoded); err != nil {
			b.Fatal(err)
		}
	}
	if len(decoded) != 3 || tcp.DstPort != 80 {
		b.Fatalf("decoded %v, TCP dst port %d", decoded, tcp.DstPort)
	}
}

func BenchmarkDecodeIPv6UDP(b *testing.B) {
	pkt := buildUDP(b, flow6, seqBytes(100))
	var p Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		p.Decode(pkt)
	}
	if p.Invalid != OK || p.Proto != ProtoUDP {
		b.Fatalf("Invalid %v, Proto %d", p.Invalid, p.Proto)
	}
}

func BenchmarkChecksum(b *testing.B) {
	for _, n := range []int{20, 152, 1500, 9000} {
		buf := seqBytes(n)
		b.Run(itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				Checksum(buf, 0)
			}
		})
	}
}

func BenchmarkL4ChecksumOKIPv4TCP(b *testing.B) {
	pkt := benchTCP4(b)
	var p Packet
	p.Decode(pkt)
	b.ReportAllocs()
	for b.Loop() {
		if !p.L4ChecksumOK() {
			b.Fatal("bad checksum")
		}
	}
}

func BenchmarkSetSrc(b *testing.B) {
	for _, tt := range []struct {
		name string
		pkt  []byte
		addr [2]netip.Addr
	}{
		{"IPv4TCP", buildTCPData(b, flow4), [2]netip.Addr{addrN4, addrA4}},
		{"IPv6TCP", buildTCPData(b, flow6), [2]netip.Addr{addrN6, addrA6}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			var p Packet
			p.Decode(tt.pkt)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				p.SetSrc(tt.addr[i&1])
				i++
			}
			if !p.L4ChecksumOK() {
				b.Fatal("checksum broken by SetSrc")
			}
		})
	}
}

func BenchmarkSetSrcPortIPv4TCP(b *testing.B) {
	var p Packet
	p.Decode(benchTCP4(b))
	b.ReportAllocs()
	var port uint16
	for b.Loop() {
		p.SetSrcPort(port)
		port++
	}
	if !p.L4ChecksumOK() {
		b.Fatal("checksum broken by SetSrcPort")
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}
