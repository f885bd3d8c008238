package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
)

// TestClusterMatchesKernel sends connections from many sources through
// -m cluster rules in a kernel router and in nfgo replay, IPv4 and
// IPv6, and compares which rules matched: each ORs its bit into the
// mark, which POSTROUTING copies into the DSCP field. Some IPv6 sources
// differ only past their first 32 bits, which the kernel does not hash.
func TestClusterMatchesKernel(t *testing.T) {
	kernel.Require(t, "ip", "nft", "iptables-restore", "ip6tables-restore", "conntrack")
	var v4, v6 [][]byte
	for i := range 32 {
		src4 := netip.MustParseAddr(fmt.Sprintf("198.18.%d.%d", i%4, 1+i*7))
		src6 := netip.MustParseAddr(fmt.Sprintf("2001:%x::%x", 0x100+i*977, i+1))
		if i%4 == 3 {
			src6 = netip.MustParseAddr(fmt.Sprintf("2001:db8:%x::%x", i, i*31)) // the same first word
		}
		v4 = append(v4, testpkt.Build(testpkt.Spec{Src: src4, Dst: netip.MustParseAddr("203.0.113.9"), Proto: "udp", SrcPort: uint16(30000 + i), DstPort: 53, Payload: []byte("q")}))
		v6 = append(v6, testpkt.Build(testpkt.Spec{Src: src6, Dst: netip.MustParseAddr("2001:db8:77::9"), Proto: "udp", SrcPort: uint16(30000 + i), DstPort: 53, Payload: []byte("q")}))
	}
	var b strings.Builder
	b.WriteString("*mangle\n")
	for n := 1; n <= 4; n++ {
		fmt.Fprintf(&b, "-A FORWARD -m cluster --cluster-total-nodes 4 --cluster-local-node %d --cluster-hash-seed 0xdeadbeef -j MARK --or-mark %d\n", n, 1<<(n-1))
	}
	b.WriteString("-A FORWARD -m cluster --cluster-total-nodes 3 ! --cluster-local-nodemask 0x5 --cluster-hash-seed 7 -j MARK --or-mark 16\n")
	b.WriteString("-A FORWARD -m cluster --cluster-total-nodes 2 --cluster-local-node 2 --cluster-hash-seed 0 -j MARK --or-mark 32\n")
	for m := range 64 {
		fmt.Fprintf(&b, "-A POSTROUTING -m mark --mark %d -j DSCP --set-dscp %d\n", m, m)
	}
	b.WriteString("COMMIT\n")
	rules := b.String()
	dir := t.TempDir()
	p4, p6 := filepath.Join(dir, "cluster.rules"), filepath.Join(dir, "cluster.rules6")
	for _, p := range []string{p4, p6} {
		if err := os.WriteFile(p, []byte(rules), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := kernel.NewRouter(t, kernel.RouterOptions{Conntrack: true})
	for _, six := range []bool{false, true} {
		if err := r.Restore([]byte(rules), six); err != nil {
			t.Fatal(err)
		}
	}
	pkts := append(append([][]byte(nil), v4...), v6...)
	in := filepath.Join(dir, "cluster.pcap")
	writePcap(t, in, pkts)
	recs := replayJSON(t, "--rules", p4, "--rules6", p6, in)
	if len(recs) != len(pkts) {
		t.Fatalf("nfgo replay gave %d records for %d packets", len(recs), len(pkts))
	}
	nodes := map[bool]map[uint32]bool{false: {}, true: {}}
	for i, p := range pkts {
		f, err := r.Send(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Emitted) != 1 {
			t.Fatalf("packet %d: the kernel forwarded %d packets", i, len(f.Emitted))
		}
		want := uint32(dscpOf(f.Emitted[0]))
		if got := uint32(recs[i].Mark); got != want {
			t.Errorf("packet %d (from %s): nfgo's mark %#x, the kernel's %#x", i, recs[i].Src, got, want)
		}
		nodes[i >= len(v4)][want&15] = true
	}
	// Sources that all went to one node would not test the hash.
	for six, seen := range nodes {
		if len(seen) < 4 {
			t.Errorf("IPv6 %v: the sources reached only %d of 4 nodes", six, len(seen))
		}
	}
}
