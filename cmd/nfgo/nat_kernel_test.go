package main

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/capture"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
)

// natPackets exercise SNAT, NETMAP, a DNAT port forward and a DNAT
// without a port, both directions, and ICMP through NAT.
func natPackets() [][]byte {
	a := netip.MustParseAddr
	client, server, public := a("10.8.0.5"), a("203.0.113.5"), a("198.51.100.7")
	syn := testpkt.Spec{Src: client, Dst: server, Proto: "tcp", SrcPort: 40000, DstPort: 443, Flags: "S", Seq: 1000}
	// What the server sees of the SYN: the source translated.
	seen := syn
	seen.Src, seen.TTL = public, 63
	// What the port-forward target sees of its SYN, and what the outside
	// sees of the IPv6 MASQUERADE SYN.
	fwd := testpkt.Spec{Src: a("198.18.0.9"), Dst: a("203.0.113.80"), Proto: "tcp", SrcPort: 50000, DstPort: 80, Flags: "S", Seq: 1, TTL: 63}
	seen6 := testpkt.Spec{Src: a(kernel.OutsideAddr6), Dst: a("2001:db8:5::5"), Proto: "tcp", SrcPort: 40000, DstPort: 443, Flags: "S", Seq: 1, TTL: 63}
	return [][]byte{
		testpkt.Build(syn),
		testpkt.Build(testpkt.Spec{Src: server, Dst: public, Proto: "tcp", SrcPort: 443, DstPort: 40000, Flags: "SA", Seq: 5000, Ack: 1001}),
		testpkt.Build(testpkt.Spec{Src: client, Dst: server, Proto: "tcp", SrcPort: 40000, DstPort: 443, Flags: "A", Seq: 1001, Ack: 5001}),
		// A port forward: the router's 8080 is 203.0.113.80:80.
		testpkt.Build(testpkt.Spec{Src: a("198.18.0.9"), Dst: a("192.0.2.1"), Proto: "tcp", SrcPort: 50000, DstPort: 8080, Flags: "S", Seq: 1}),
		testpkt.Build(testpkt.Spec{Src: a("203.0.113.80"), Dst: a("198.18.0.9"), Proto: "tcp", SrcPort: 80, DstPort: 50000, Flags: "SA", Seq: 9, Ack: 2}),
		// DNAT of the address only.
		testpkt.Build(testpkt.Spec{Src: a("198.18.0.9"), Dst: a("192.0.2.1"), Proto: "udp", SrcPort: 6000, DstPort: 5353}),
		testpkt.Build(testpkt.Spec{Src: a("203.0.113.53"), Dst: a("198.18.0.9"), Proto: "udp", SrcPort: 5353, DstPort: 6000}),
		// NETMAP maps 10.9.0.0/16 into 198.51.100.128/25.
		testpkt.Build(testpkt.Spec{Src: a("10.9.1.2"), Dst: server, Proto: "udp", SrcPort: 1234, DstPort: 53}),
		testpkt.Build(testpkt.Spec{Src: server, Dst: a("198.51.100.130"), Proto: "udp", SrcPort: 53, DstPort: 1234}),
		// An ICMP error about the SNATed connection, as the server's side
		// saw it: translated back inside and out.
		testpkt.Build(testpkt.Spec{Src: server, Dst: public, Proto: "icmp", ICMPType: 3, ICMPCode: 1, Payload: testpkt.Build(seen)}),
		// Ping through SNAT and its answer.
		testpkt.Build(testpkt.Spec{Src: client, Dst: server, Proto: "icmp", ICMPType: 8, ICMPID: 77, ICMPSeq: 1}),
		testpkt.Build(testpkt.Spec{Src: server, Dst: public, Proto: "icmp", ICMPType: 0, ICMPID: 77, ICMPSeq: 1}),
		// MASQUERADE takes eth1's address.
		testpkt.Build(testpkt.Spec{Src: a("10.7.0.5"), Dst: server, Proto: "udp", SrcPort: 3000, DstPort: 53}),
		testpkt.Build(testpkt.Spec{Src: server, Dst: a(kernel.OutsideAddr4), Proto: "udp", SrcPort: 53, DstPort: 3000}),
		// IPv6: MASQUERADE, and a port forward.
		testpkt.Build(testpkt.Spec{Src: a("2001:db8:7::5"), Dst: a("2001:db8:5::5"), Proto: "tcp", SrcPort: 40000, DstPort: 443, Flags: "S", Seq: 1}),
		testpkt.Build(testpkt.Spec{Src: a("2001:db8:5::5"), Dst: a(kernel.OutsideAddr6), Proto: "tcp", SrcPort: 443, DstPort: 40000, Flags: "SA", Seq: 7, Ack: 2}),
		testpkt.Build(testpkt.Spec{Src: a("2001:db8:9::9"), Dst: a(kernel.RouterAddr6), Proto: "tcp", SrcPort: 50000, DstPort: 8080, Flags: "S", Seq: 1}),
		testpkt.Build(testpkt.Spec{Src: a("2001:db8:80::80"), Dst: a("2001:db8:9::9"), Proto: "tcp", SrcPort: 80, DstPort: 50000, Flags: "SA", Seq: 9, Ack: 2}),
		// ICMP errors from a router on the way, not the peer: about the
		// SNATed flow (only the outer destination and the inner source
		// change), about the port forward (the outer source becomes the
		// router's address, as the kernel's reply translation makes it),
		// and an ICMPv6 error about the IPv6 MASQUERADE flow.
		testpkt.Build(testpkt.Spec{Src: a("203.0.113.1"), Dst: public, Proto: "icmp", ICMPType: 11, Payload: testpkt.Build(seen)}),
		testpkt.Build(testpkt.Spec{Src: a("203.0.113.1"), Dst: a("198.18.0.9"), Proto: "icmp", ICMPType: 11, Payload: testpkt.Build(fwd)}),
		testpkt.Build(testpkt.Spec{Src: a("2001:db8:5::1"), Dst: a(kernel.OutsideAddr6), Proto: "icmp", ICMPType: 1, ICMPCode: 4, Payload: testpkt.Build(seen6)}),
		// REDIRECT to a local transparent proxy, TCP and UDP, IPv4 and
		// IPv6: delivered to the router itself, so the binding is compared
		// in the final tables.
		testpkt.Build(testpkt.Spec{Src: client, Dst: a("203.0.113.99"), Proto: "tcp", SrcPort: 40002, DstPort: 80, Flags: "S", Seq: 1}),
		testpkt.Build(testpkt.Spec{Src: client, Dst: a("203.0.113.99"), Proto: "udp", SrcPort: 40003, DstPort: 53}),
		testpkt.Build(testpkt.Spec{Src: a("2001:db8:7::5"), Dst: a("2001:db8:99::99"), Proto: "tcp", SrcPort: 40004, DstPort: 80, Flags: "S", Seq: 1}),
	}
}

// TestNATMatchesKernel sends the same packets through a kernel router
// running the NAT rules and through nfgo replay --write: what leaves must
// be the same, byte for byte, packet by packet; what the router keeps for
// itself must be too (both accept it at INPUT); and the final conntrack
// tables, which hold every binding, must list the same connections.
func TestNATMatchesKernel(t *testing.T) {
	kernel.Require(t, "ip", "nft", "iptables-restore", "conntrack")
	pkts := natPackets()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap")
	writePcap(t, in, pkts)
	rules, rules6 := "testdata/nat/nat.rules", "testdata/nat/nat.rules6"
	local := kernel.RouterAddr4 + "/24," + kernel.RouterAddr6 + "/64," + kernel.OutsideAddr4 + "/32@eth1," + kernel.OutsideAddr6 + "/128@eth1"
	recs := replayJSON(t, "--rules", rules, "--rules6", rules6, "--local", local, "--write", out, in)
	written := readPcap(t, out)

	r := kernel.NewRouter(t, kernel.RouterOptions{Outside: true})
	restoreFiles(t, r, rules, rules6)
	// The NAT rules brought conntrack in: count per connection, as nfgo
	// does, so that the tables compare packets and bytes too.
	if out, err := r.Exec("sysctl -qw net.netfilter.nf_conntrack_acct=1", nil); err != nil {
		t.Fatalf("sysctl: %v %s", err, out)
	}
	agree, w := 0, 0
	for i, p := range pkts {
		f, err := r.Send(p)
		if err != nil {
			t.Fatal(err)
		}
		left := append(f.Emitted, f.Replies...)
		var ours []byte
		if recs[i].Verdict == "ACCEPT" && w < len(written) {
			ours = written[w]
			w++
		}
		if local := recs[i].Verdict == "ACCEPT" && recs[i].Out == ""; local || f.Input {
			if !local || !f.Input || len(left) != 0 {
				t.Errorf("packet %d: delivered locally by the kernel %v (and sent out %d), by nfgo %v", i, f.Input, len(left), local)
			} else {
				agree++
			}
			continue
		}
		switch {
		case len(left) != 1 && ours != nil:
			t.Errorf("packet %d: the kernel sent out %d packets, nfgo 1 (%s)", i, len(left), recs[i].Reason)
		case len(left) == 1 && ours == nil:
			t.Errorf("packet %d: the kernel sent it out, nfgo did not (%s)", i, recs[i].Reason)
		case len(left) == 1 && !bytes.Equal(left[0], ours):
			t.Errorf("packet %d leaves differently:\n kernel %x\n nfgo   %x", i, left[0], ours)
		default:
			agree++
		}
	}
	t.Logf("%d/%d packets leave the NAT router exactly as they leave the kernel's (or are delivered to it alike)", agree, len(pkts))

	klines, err := r.Conntrack()
	if err != nil {
		t.Fatal(err)
	}
	_, outText, _ := runCLI(t, "replay", "--conntrack", "--rules", rules, "--rules6", rules6, "--local", local, in)
	var nlines []string
	for _, l := range strings.Split(outText, "\n") {
		if ctLineRE.MatchString(l) {
			nlines = append(nlines, l)
		}
	}
	if k, n := normalizeCT(klines), normalizeCT(nlines); strings.Join(k, "\n") != strings.Join(n, "\n") {
		t.Errorf("final tables differ:\n kernel:\n  %s\n nfgo:\n  %s", strings.Join(k, "\n  "), strings.Join(n, "\n  "))
	} else {
		t.Logf("final conntrack tables identical: %d connections with their NAT bindings", len(k))
	}
}

func readPcap(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := capture.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		fr, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fr.L3)
	}
}
