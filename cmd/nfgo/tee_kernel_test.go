package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
)

// TestTEECopiesMatchKernel sends packets through -j TEE in a kernel
// router and in nfgo replay, at PREROUTING and FORWARD, and compares
// the copy's bytes: the kernel sends it out of eth1 (the route to the
// gateway) before the packet itself, and nfgo gives it as the record's
// tee copy. The copy's TTL, DF bit and checksum are what they test.
func TestTEECopiesMatchKernel(t *testing.T) {
	kernel.Require(t, "ip", "nft", "iptables-restore", "ip6tables-restore")
	a := netip.MustParseAddr
	var v4, v6 [][]byte
	for i := range 6 {
		ttl := uint8(2 + i*40)
		v4 = append(v4,
			testpkt.Build(testpkt.Spec{Src: a("192.0.2.7"), Dst: a(fmt.Sprintf("203.0.113.%d", 10+i)), Proto: "udp", SrcPort: 5000, DstPort: 53, TTL: ttl, NoDF: i%2 == 0, ID: uint16(0x100 + i), Payload: []byte("q")}),
			testpkt.Build(testpkt.Spec{Src: a("192.0.2.7"), Dst: a("203.0.113.50"), Proto: "tcp", SrcPort: uint16(40000 + i), DstPort: 80, Flags: "S", Seq: 1, TTL: ttl, NoDF: i%3 == 0, ID: uint16(0x200 + i)}),
		)
		v6 = append(v6,
			testpkt.Build(testpkt.Spec{Src: a("2001:db8:1::7"), Dst: a(fmt.Sprintf("2001:db8:9::%x", 10+i)), Proto: "udp", SrcPort: 5000, DstPort: 53, TTL: ttl, Payload: []byte("q")}),
		)
	}
	dir := t.TempDir()
	for _, hook := range []string{"PREROUTING", "FORWARD"} {
		t.Run(hook, func(t *testing.T) {
			// The copy is the router's own packet (ip_local_out).
			r := kernel.NewRouter(t, kernel.RouterOptions{LocalReplies: true})
			rules4 := fmt.Sprintf("*mangle\n-A %s -j TEE --gateway 198.51.100.77\nCOMMIT\n", hook)
			rules6 := fmt.Sprintf("*mangle\n-A %s -j TEE --gateway 2001:db8:77::1\nCOMMIT\n", hook)
			if err := r.Restore([]byte(rules4), false); err != nil {
				t.Fatal(err)
			}
			if err := r.Restore([]byte(rules6), true); err != nil {
				t.Fatal(err)
			}
			p4, p6 := filepath.Join(dir, hook+".rules"), filepath.Join(dir, hook+".rules6")
			os.WriteFile(p4, []byte(rules4), 0o644)
			os.WriteFile(p6, []byte(rules6), 0o644)
			pkts := append(append([][]byte(nil), v4...), v6...)
			in := filepath.Join(dir, hook+".pcap")
			writePcap(t, in, pkts)
			recs := replayJSON(t, "--rules", p4, "--rules6", p6, in)
			if len(recs) != len(pkts) {
				t.Fatalf("nfgo replay gave %d records for %d packets", len(recs), len(pkts))
			}
			for i, p := range pkts {
				f, err := r.Send(p)
				if err != nil {
					t.Fatal(err)
				}
				if len(f.Emitted) != 2 {
					t.Fatalf("packet %d: the kernel sent %d packets out of eth1, want the copy and the packet", i, len(f.Emitted))
				}
				if len(recs[i].Tee) != 1 {
					t.Errorf("packet %d: nfgo made %d copies", i, len(recs[i].Tee))
					continue
				}
				got, _ := hex.DecodeString(recs[i].Tee[0].Packet)
				if !bytes.Equal(got, f.Emitted[0]) {
					t.Errorf("packet %d: nfgo's copy\n% x\nthe kernel's\n% x", i, got, f.Emitted[0])
				}
			}
		})
	}
}
