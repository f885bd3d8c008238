//go:build ignore

// gen writes example.pcap, the capture "nfgo replay" runs by default:
//
//	go run ./cmd/nfgo/example/gen.go
package main

import (
	"log"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/nfgo/nfgo/internal/testpkt"
)

func main() {
	a := netip.MustParseAddr
	pkts := []testpkt.Spec{
		{Src: a("203.0.113.7"), Dst: a("192.0.2.1"), Proto: "tcp", SrcPort: 50000, DstPort: 22, Flags: "S", Seq: 1000, MSS: 1460},
		{Src: a("198.18.0.9"), Dst: a("192.0.2.1"), Proto: "tcp", SrcPort: 50001, DstPort: 22, Flags: "S", Seq: 2000},
		{Src: a("198.18.0.9"), Dst: a("192.0.2.1"), Proto: "tcp", SrcPort: 50002, DstPort: 23, Flags: "S", Seq: 3000},
		{Src: a("10.0.0.5"), Dst: a("192.0.2.1"), Proto: "icmp", ICMPType: 8, ICMPID: 7, ICMPSeq: 1},
		{Src: a("10.0.0.5"), Dst: a("192.0.2.1"), Proto: "udp", SrcPort: 40000, DstPort: 53, Payload: []byte("dns?")},
		{Src: a("10.0.0.5"), Dst: a("192.0.2.1"), Proto: "udp", SrcPort: 40001, DstPort: 161},
		{Src: a("10.0.0.5"), Dst: a("198.51.100.80"), Proto: "tcp", SrcPort: 41000, DstPort: 443, Flags: "S"},
		{Src: a("10.0.0.5"), Dst: a("198.51.100.80"), Proto: "tcp", SrcPort: 41001, DstPort: 25, Flags: "S"},
		{Src: a("10.0.0.5"), Dst: a("203.0.113.50"), Proto: "udp", SrcPort: 123, DstPort: 123},
		{Src: a("172.16.0.9"), Dst: a("203.0.113.50"), Proto: "udp", SrcPort: 5000, DstPort: 5001},
		{Src: a("2001:db8:1::5"), Dst: a("2001:db8::1"), Proto: "icmp", ICMPType: 128, ICMPID: 9, ICMPSeq: 1},
		{Src: a("2001:db8:1::5"), Dst: a("2001:db8:100::443"), Proto: "tcp", SrcPort: 42000, DstPort: 443, Flags: "S"},
		{Src: a("2001:db8:1::5"), Dst: a("2001:db8:200::1"), Proto: "tcp", SrcPort: 42001, DstPort: 80, Flags: "S"},
		// The web server answers the HTTPS connection of packet 6: the
		// reply is ESTABLISHED, and so is the client's ACK.
		{Src: a("198.51.100.80"), Dst: a("10.0.0.5"), Proto: "tcp", SrcPort: 443, DstPort: 41000, Flags: "SA", Seq: 7000, Ack: 1},
		{Src: a("10.0.0.5"), Dst: a("198.51.100.80"), Proto: "tcp", SrcPort: 41000, DstPort: 443, Flags: "A", Seq: 1, Ack: 7001},
		// The NTP server's host is down: the ICMP error about packet 8
		// is RELATED to that flow.
		{Src: a("203.0.113.50"), Dst: a("10.0.0.5"), Proto: "icmp", ICMPType: 3, ICMPCode: 3,
			Payload: testpkt.Build(testpkt.Spec{Src: a("10.0.0.5"), Dst: a("203.0.113.50"), Proto: "udp", SrcPort: 123, DstPort: 123})},
		// A stray SYN/ACK to the router belongs to nothing: INVALID.
		{Src: a("198.18.0.9"), Dst: a("192.0.2.1"), Proto: "tcp", SrcPort: 80, DstPort: 50010, Flags: "SA", Seq: 1, Ack: 1},
	}
	f, err := os.Create("cmd/nfgo/example/example.pcap")
	if err != nil {
		log.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		log.Fatal(err)
	}
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i, s := range pkts {
		b := testpkt.Build(s)
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * 10 * time.Millisecond), CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			log.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
