package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
)

// TestHMARKMatchesKernel sends the same packets through -j HMARK in a
// kernel router and in nfgo replay, and compares the marks. The kernel's
// mark is read from the forwarded packet: the ruleset copies the mark,
// one of 64 after the offset, into the DSCP field at POSTROUTING. The
// connection variant hashes the conntrack tuples, with a DNAT in the
// way.
func TestHMARKMatchesKernel(t *testing.T) {
	kernel.Require(t, "ip", "nft", "iptables-restore", "ip6tables-restore", "conntrack")
	a := netip.MustParseAddr
	var v4, v6 [][]byte
	for i := range 24 {
		src4 := a(fmt.Sprintf("198.18.%d.%d", i%3, 7+i*9))
		dst4 := a(fmt.Sprintf("203.0.113.%d", 9+i*7))
		src6 := a(fmt.Sprintf("2001:db8:5:%x::%x", i%4, 9+i*257))
		dst6 := a(fmt.Sprintf("2001:db8:77:%x::%x", i, 5+i*3))
		sport, dport := uint16(40000+i*7), uint16(53+i*1000)
		v4 = append(v4,
			testpkt.Build(testpkt.Spec{Src: src4, Dst: dst4, Proto: "udp", SrcPort: sport, DstPort: dport, Payload: []byte("q")}),
			testpkt.Build(testpkt.Spec{Src: src4, Dst: dst4, Proto: "tcp", SrcPort: dport, DstPort: sport, Flags: "S", Seq: 1}),
		)
		v6 = append(v6,
			testpkt.Build(testpkt.Spec{Src: src6, Dst: dst6, Proto: "udp", SrcPort: sport, DstPort: dport, Payload: []byte("q")}),
			testpkt.Build(testpkt.Spec{Src: src6, Dst: dst6, Proto: "tcp", SrcPort: sport, DstPort: dport, Flags: "S", Seq: 1}),
		)
		if i%4 == 0 {
			// ESP (the SPI is hashed in place of the ports) and an
			// ICMP error, whose embedded packet is hashed.
			spi := binary.BigEndian.AppendUint32(nil, uint32(0x1000+i*0x10001))
			v4 = append(v4, testpkt.Build(testpkt.Spec{Src: src4, Dst: dst4, Proto: "raw", RawProto: 50, Payload: append(spi, 0, 0, 0, 1)}))
			v6 = append(v6, testpkt.Build(testpkt.Spec{Src: src6, Dst: dst6, Proto: "raw", RawProto: 50, Payload: append(spi, 0, 0, 0, 1)}))
			inner := testpkt.Build(testpkt.Spec{Src: dst4, Dst: a("192.0.2.77"), Proto: "udp", SrcPort: dport, DstPort: sport, Payload: []byte("r")})
			v4 = append(v4, testpkt.Build(testpkt.Spec{Src: src4, Dst: dst4, Proto: "icmp", ICMPType: 3, ICMPCode: 3, Payload: inner}))
		}
	}
	variants := []struct {
		name      string
		hmark     string
		offset    int
		conntrack bool
	}{
		{"five-tuple", "--hmark-tuple src,dst,sport,dport,proto --hmark-mod 64 --hmark-rnd 0xcafe", 0, false},
		{"spi", "--hmark-src-prefix 32 --hmark-spi-mask 0x00ffffff --hmark-spi 0x1000000 --hmark-mod 64 --hmark-rnd 3", 0, false},
		{"masks", "--hmark-src-prefix 16 --hmark-dst-prefix 24 --hmark-sport-mask 0xff00 --hmark-dport-mask 0x0fff --hmark-proto-mask 0xff --hmark-rnd 0x1234 --hmark-mod 64 --hmark-offset 1000", 1000, false},
		{"ports set", "--hmark-tuple src --hmark-sport 0x8000 --hmark-dport-mask 0xff --hmark-rnd 0x9e3779b9 --hmark-mod 64 --hmark-offset 7", 7, false},
		{"connection", "--hmark-tuple ct,src,dst,sport,dport,proto --hmark-mod 64 --hmark-rnd 0xfeed", 0, true},
	}
	dir := t.TempDir()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			r := kernel.NewRouter(t, kernel.RouterOptions{Conntrack: v.conntrack})
			var args []string
			var pkts [][]byte
			for fam, list := range map[string][][]byte{"4": v4, "6": v6} {
				var b strings.Builder
				fmt.Fprintf(&b, "*mangle\n-A FORWARD -j HMARK %s\n", strings.ReplaceAll(v.hmark, "--hmark-src-prefix 16 --hmark-dst-prefix 24", prefixes(fam)))
				for m := range 64 {
					fmt.Fprintf(&b, "-A POSTROUTING -m mark --mark %d -j DSCP --set-dscp %d\n", v.offset+m, m)
				}
				b.WriteString("COMMIT\n")
				if v.conntrack {
					// The reply tuple's source is the DNAT target:
					// the hash sees the connection as NAT left it.
					to := "203.0.113.200"
					if fam == "6" {
						to = "2001:db8:77:ff::1"
					}
					fmt.Fprintf(&b, "*nat\n-A PREROUTING -p udp -j DNAT --to-destination %s\nCOMMIT\n", to)
				}
				path := filepath.Join(dir, v.name+fam+".rules")
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := r.Restore([]byte(b.String()), fam == "6"); err != nil {
					t.Fatal(err)
				}
				flag := "--rules"
				if fam == "6" {
					flag = "--rules6"
				}
				args = append(args, flag, path)
				pkts = append(pkts, list...)
			}
			in := filepath.Join(dir, v.name+".pcap")
			writePcap(t, in, pkts)
			recs := replayJSON(t, append(args, in)...)
			if len(recs) != len(pkts) {
				t.Fatalf("nfgo replay gave %d records for %d packets", len(recs), len(pkts))
			}
			marks := map[uint32]bool{}
			for i, p := range pkts {
				f, err := r.Send(p)
				if err != nil {
					t.Fatal(err)
				}
				if len(f.Emitted) != 1 {
					t.Fatalf("packet %d: the kernel forwarded %d packets", i, len(f.Emitted))
				}
				got := uint32(recs[i].Mark)
				want := uint32(v.offset) + uint32(dscpOf(f.Emitted[0]))
				if got != want {
					t.Errorf("packet %d (%s > %s %s): nfgo's mark %d, the kernel's %d", i, recs[i].Src, recs[i].Dst, recs[i].Proto, got, want)
				}
				marks[want] = true
			}
			// The hash spreads: a constant mark would pass the
			// comparison without testing it.
			if len(marks) < 16 {
				t.Errorf("only %d distinct marks over %d packets", len(marks), len(pkts))
			}
			t.Logf("%d packets, %d distinct marks, each as the kernel's", len(pkts), len(marks))
		})
	}
}

// prefixes is the address prefixes of the "masks" variant for the
// family: IPv6 masks inside the second and fourth words.
func prefixes(fam string) string {
	if fam == "6" {
		return "--hmark-src-prefix 48 --hmark-dst-prefix 112"
	}
	return "--hmark-src-prefix 16 --hmark-dst-prefix 24"
}

// dscpOf is the DSCP of an IPv4 or IPv6 packet.
func dscpOf(p []byte) uint8 {
	if p[0]>>4 == 6 {
		return uint8(binary.BigEndian.Uint16(p)>>4) >> 2
	}
	return p[1] >> 2
}
