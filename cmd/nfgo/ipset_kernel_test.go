package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
)

// ipsetPackets aim at each rule of testdata/kernel/ipset.rules: each set
// type, both directions, nomatch with and without --return-nomatch,
// inversion, counters and their tests, and SET adding and deleting
// elements that later packets match.
func ipsetPackets() []testpkt.Spec {
	a := netip.MustParseAddr
	local, local6 := a(kernel.RouterAddr4), a(kernel.RouterAddr6)
	var ps []testpkt.Spec
	udp := func(src string, sport, dport uint16) {
		ps = append(ps, testpkt.Spec{Src: a(src), Dst: local, Proto: "udp", SrcPort: sport, DstPort: dport})
	}
	// hash:ip, an address and a CIDR expanded.
	for _, src := range []string{"198.18.0.7", "198.18.0.6", "198.18.1.3", "198.18.1.4"} {
		udp(src, 40000, 1001)
		udp(src, 40000, 1004)
		udp(src, 40000, 1017)
	}
	// hash:net with a nomatch hole and a more specific net inside it.
	for _, src := range []string{"198.18.9.9", "198.18.5.1", "198.18.5.200", "198.19.0.1"} {
		udp(src, 40000, 1002)
		udp(src, 40000, 1003)
	}
	// hash:ip,port: UDP, TCP, ICMP type/code, a protocol without ports.
	udp("198.18.0.7", 40000, 1005)
	udp("198.18.0.7", 40000, 1006)
	ps = append(ps,
		testpkt.Spec{Src: a("198.18.0.8"), Dst: local, Proto: "tcp", SrcPort: 40000, DstPort: 22, Flags: "S"},
		testpkt.Spec{Src: a("198.18.0.8"), Dst: local, Proto: "tcp", SrcPort: 40000, DstPort: 23, Flags: "S"},
		testpkt.Spec{Src: a("198.18.0.9"), Dst: local, Proto: "icmp", ICMPType: 8, ICMPID: 1, ICMPSeq: 1},
		testpkt.Spec{Src: a("198.18.0.9"), Dst: local, Proto: "icmp", ICMPType: 13, ICMPID: 1, ICMPSeq: 1},
		testpkt.Spec{Src: a("198.18.0.10"), Dst: local, Proto: "raw", RawProto: 47, Payload: []byte{0, 0, 8, 0}},
	)
	// hash:net,port with the source port, and a nomatch inside.
	for _, sp := range []uint16{40000, 40001, 40003} {
		udp("198.18.2.5", sp, 1006)
		udp("198.18.2.70", sp, 1006)
	}
	// hash:ip,port,ip and hash:ip,port,net.
	udp("198.18.0.7", 40000, 1007)
	udp("198.18.0.6", 40000, 1007)
	udp("198.18.3.77", 40000, 1008)
	udp("198.18.4.77", 40000, 1008)
	// hash:net,iface: the input interface, a wildcard, another one.
	for _, src := range []string{"198.18.4.1", "198.18.6.1", "198.18.7.1", "198.18.10.1", "198.18.11.1", "198.18.12.1"} {
		udp(src, 40000, 1009)
	}
	// bitmap:ip and bitmap:port.
	for _, src := range []string{"198.18.8.5", "198.18.8.6", "198.18.8.18", "198.18.9.5"} {
		udp(src, 40000, 1010)
	}
	for _, dp := range []uint16{1011, 1012, 2500} {
		udp("198.18.100.1", 40000, dp)
	}
	// list:set: a member that is a hash:ip, one that is a hash:net,port.
	udp("198.18.0.7", 40000, 1013)
	udp("198.18.2.5", 40002, 1013)
	udp("198.18.200.1", 40000, 1013)
	// Counters: the third packet on is accepted; ! --update-counters
	// looks without counting.
	for range 2 {
		udp("198.18.0.7", 40000, 1020)
	}
	for range 4 {
		udp("198.18.0.7", 40000, 1014)
	}
	// SET: an address is added, then matches; deleted, then does not.
	udp("198.18.50.1", 40000, 1016)
	udp("198.18.50.1", 40000, 1015)
	udp("198.18.50.1", 40000, 1016)
	udp("198.18.50.1", 40000, 1019)
	udp("198.18.50.1", 40000, 1016)
	// Fewer dimensions than the set has: never a match.
	udp("198.18.0.7", 1005, 1018)
	// esp, ah and tcpmss, in the same ruleset: SPIs in and out of range,
	// a header too short for its SPI, MSS options in and out of range
	// and none.
	esp := func(spi uint32, n int) {
		b := make([]byte, n)
		if n >= 4 {
			b[0], b[1], b[2], b[3] = byte(spi>>24), byte(spi>>16), byte(spi>>8), byte(spi)
		}
		ps = append(ps, testpkt.Spec{Src: a("198.18.0.7"), Dst: local, Proto: "raw", RawProto: 50, Payload: b})
	}
	esp(300, 16)
	esp(600, 16)
	esp(300, 4)
	for _, spi := range []byte{5, 6} {
		ps = append(ps, testpkt.Spec{Src: a("198.18.0.7"), Dst: local, Proto: "raw", RawProto: 51,
			Payload: []byte{59, 2, 0, 0, 0, 0, 0, spi, 0, 0, 0, 1, 0, 0, 0, 0}})
	}
	for _, dp := range []uint16{1030, 1031} {
		for _, mss := range []uint16{1200, 1500, 0} {
			ps = append(ps, testpkt.Spec{Src: a("198.18.0.7"), Dst: local, Proto: "tcp", SrcPort: 40000, DstPort: dp, Flags: "S", MSS: mss})
		}
	}
	// quota: three 300-byte packets fit in 1000 bytes, the fourth does
	// not and exhausts it, so a 50-byte one after it does not match
	// either; inverted, the quota's packets are dropped, the rest not.
	for _, n := range []int{272, 272, 272, 272, 22} {
		ps = append(ps, testpkt.Spec{Src: a("198.18.0.7"), Dst: local, Proto: "udp", SrcPort: 40000, DstPort: 1040, Payload: make([]byte, n)})
	}
	for _, n := range []int{22, 22, 22} {
		ps = append(ps, testpkt.Spec{Src: a("198.18.0.7"), Dst: local, Proto: "udp", SrcPort: 40000, DstPort: 1041, Payload: make([]byte, n)})
	}
	// connbytes: a connection's packets (counted before the rules, a
	// dropped one included), its bytes in both directions, its average
	// packet size.
	for range 5 {
		udp("198.18.60.1", 41000, 1050)
	}
	for range 4 {
		ps = append(ps, testpkt.Spec{Src: a("198.18.60.1"), Dst: local, Proto: "udp", SrcPort: 41001, DstPort: 1051, Payload: make([]byte, 12)})
	}
	for _, n := range []int{12, 12, 172, 12} {
		ps = append(ps, testpkt.Spec{Src: a("198.18.60.1"), Dst: local, Proto: "udp", SrcPort: 41002, DstPort: 1052, Payload: make([]byte, n)})
	}
	// cluster: which node the connection's source hashes to (IPv6 in
	// TestClusterMatchesKernel).
	for i := range 8 {
		for _, dp := range []uint16{1060, 1061} {
			udp(fmt.Sprintf("198.18.70.%d", i+1), 42000, dp)
		}
	}
	// recent: the fourth packet of a source within a minute is
	// dropped (--update --hitcount 3), another source is not; a /24
	// mask; --remove; an inverted --rcheck; --rttl against the TTL the
	// entry was set with; the list forgetting its least recently seen
	// address at 100 (ip_list_tot); --rdest counting destinations.
	for range 5 {
		udp("198.18.80.1", 40000, 1070)
	}
	for range 2 {
		udp("198.18.80.2", 40000, 1070)
	}
	udp("198.18.81.5", 40000, 1071)
	udp("198.18.81.99", 40000, 1072)
	udp("198.18.82.1", 40000, 1072)
	udp("198.18.81.7", 40000, 1073)
	udp("198.18.81.5", 40000, 1072)
	udp("198.18.80.1", 40000, 1074)
	udp("198.18.80.9", 40000, 1074)
	udp("198.18.80.2", 40000, 1075)
	ps = append(ps, testpkt.Spec{Src: a("198.18.80.2"), Dst: local, Proto: "udp", SrcPort: 40000, DstPort: 1075, TTL: 9})
	for i := range 101 {
		udp(fmt.Sprintf("198.18.90.%d", i), 40000, 1076)
	}
	udp("198.18.90.0", 40000, 1077)
	udp("198.18.90.1", 40000, 1077)
	udp("198.18.90.100", 40000, 1077)
	udp("198.18.91.1", 40000, 1078)
	udp("198.18.91.2", 40000, 1079)
	udp("198.18.91.3", 40000, 1078)
	udp("198.18.91.4", 40000, 1079)
	// string: "nfgo" at offsets 38-41 of the packet (10 bytes into the
	// UDP payload), against --from and --to at and beyond its bounds;
	// --icase with a Latin-1 letter; a pattern in the IP header; a
	// --from past the packet's end.
	withText := func(dport uint16, text string) {
		ps = append(ps, testpkt.Spec{Src: a("198.18.0.7"), Dst: local, Proto: "udp", SrcPort: 40000, DstPort: dport, Payload: []byte(text)})
	}
	for _, dp := range []uint16{1080, 1081, 1082, 1083, 1084, 1086, 1087} {
		withText(dp, "0123456789nfgo-and-more")
		withText(dp, "0123456789NfGo-and-more")
		withText(dp, "no pattern here")
	}
	withText(1085, "caf\xc9")
	withText(1085, "caf\xe9")
	withText(1085, "cafe")
	// u32: the UDP payload's first word through the header length,
	// ranges on part of it, a read past the end (inverted), two tests,
	// an offset that overflows, a shift.
	for _, dp := range []uint16{1090, 1091, 1092, 1093, 1094, 1095} {
		withText(dp, "nfgo")
		withText(dp, "nfgz")
		withText(dp, "A")
		withText(dp, string(make([]byte, 120)))
	}
	// bpf: the protocol byte, the first payload byte through
	// 4*([0]&0xf), a load past the end, the protocol ancillary load, a
	// division by a zero X, SKF_NET_OFF, the payload offset, scratch
	// memory.
	for dp := uint16(1100); dp <= 1107; dp++ {
		withText(dp, "nfgo")
		withText(dp, "xfgo")
		withText(dp, "")
	}
	// sctp: chunk lists (any, all, only with a flag test, inverted),
	// and ports.
	sctp := func(sport, dport uint16, chunks ...[]byte) {
		b := []byte{byte(sport >> 8), byte(sport), byte(dport >> 8), byte(dport), 0, 0, 0, 1, 0, 0, 0, 0}
		for _, c := range chunks {
			b = append(b, c...)
		}
		ps = append(ps, testpkt.Spec{Src: a("198.18.0.7"), Dst: local, Proto: "raw", RawProto: 132, Payload: b})
	}
	chunk := func(typ, flags byte) []byte { return []byte{typ, flags, 0, 8, 0, 0, 0, 0} }
	for dp := uint16(1110); dp <= 1113; dp++ {
		sctp(40000, dp, chunk(1, 0))
		sctp(40000, dp, chunk(0, 1), chunk(3, 0))
		sctp(40000, dp, chunk(0, 0))
		sctp(40000, dp, chunk(0, 1), chunk(0, 3))
		sctp(40000, dp, chunk(6, 0), chunk(0, 1))
		sctp(40000, dp, chunk(0, 1), []byte{3, 0, 0, 0})
	}
	sctp(5000, 2000, chunk(1, 0))
	sctp(5000, 1111, chunk(1, 0))
	sctp(5002, 2000, chunk(1, 0))
	// rpfilter: a source routed back by eth0 (its /24) and one routed
	// by eth1 (the default route), strict, loose and inverted.
	for dp := uint16(1120); dp <= 1123; dp++ {
		udp("192.0.2.50", 40000, dp)
		udp("198.18.0.7", 40000, dp)
	}
	// The IPv6 extension-header matches: chains built by hand, each
	// ending in "no next header" (59).
	ext6 := func(src string, first uint8, chain ...byte) {
		ps = append(ps, testpkt.Spec{Src: a(src), Dst: local6, Proto: "raw", RawProto: first, Payload: chain})
	}
	padN := func(next byte, size int) []byte { // an options header of size bytes, PadN-filled
		h := make([]byte, size)
		h[0], h[1], h[2], h[3] = next, byte(size/8-1), 1, byte(size-4)
		return h
	}
	pad1 := func(next byte) []byte { return []byte{next, 0, 0, 0, 0, 0, 0, 0} }
	ext6("2001:db8:e1::1", 0, padN(59, 8)...)
	ext6("2001:db8:e1::2", 0, padN(59, 16)...)
	ext6("2001:db8:e2::1", 0, padN(59, 8)...)
	ext6("2001:db8:e2::2", 0, pad1(59)...)
	ext6("2001:db8:e3::1", 60, padN(59, 8)...)
	ext6("2001:db8:e3::2", 60, padN(59, 16)...)
	ext6("2001:db8:e3::3", 0, append(padN(60, 8), padN(59, 16)...)...)
	rt0 := func(segs byte, addrs ...string) []byte {
		h := []byte{59, byte(2 * len(addrs)), 0, segs, 0, 0, 0, 0}
		for _, s := range addrs {
			b := a(s).As16()
			h = append(h, b[:]...)
		}
		return h
	}
	ext6("2001:db8:e4::1", 43, rt0(1, "2001:db8::1")...)
	ext6("2001:db8:e4::2", 43, rt0(2, "2001:db8::1", "2001:db8::2")...)
	frag := func(off uint16, more bool) []byte {
		fo := off << 3
		if more {
			fo |= 1
		}
		return []byte{59, 0, byte(fo >> 8), byte(fo), 0, 0, 0, 7}
	}
	ext6("2001:db8:e5::1", 44, frag(0, false)...)
	ext6("2001:db8:e6::1", 0, pad1(59)...)
	ext6("2001:db8:e6::2", 0, append(pad1(60), pad1(59)...)...)
	ext6("2001:db8:e7::1", 0, append(pad1(60), pad1(59)...)...)
	ext6("2001:db8:e7::2", 0, pad1(59)...)
	ah := func(spi uint32) []byte {
		return []byte{59, 2, 0, 0, byte(spi >> 24), byte(spi >> 16), byte(spi >> 8), byte(spi), 0, 0, 0, 1, 0, 0, 0, 0}
	}
	ext6("2001:db8:e8::1", 51, ah(150)...)
	ext6("2001:db8:e8::2", 51, ah(250)...)
	ext6("2001:db8:e9::1", 135, 59, 0, 5, 0, 0, 0, 0, 0)
	ext6("2001:db8:e9::2", 135, 59, 0, 6, 0, 0, 0, 0, 0)
	ext6("2001:db8:ea::1", 43, rt0(1, "2001:db8::1", "2001:db8::2", "2001:db8::3")...)
	ext6("2001:db8:ea::2", 43, rt0(1, "2001:db8::3", "2001:db8::1")...)
	// srh: segments left and last entry, the last, previous and next
	// SIDs, the tag (compared byte-swapped, as the kernel loads it), the
	// header length, and a type 0 header, which is not a segment
	// routing header.
	srh := func(typ, segs, last byte, tag uint16, sids ...string) []byte {
		h := []byte{59, byte(2 * len(sids)), typ, segs, last, 0, byte(tag >> 8), byte(tag)}
		for _, s := range sids {
			b := a(s).As16()
			h = append(h, b[:]...)
		}
		return h
	}
	three := []string{"2001:db8:aa::1", "2001:db8:cc::1", "2001:db8:bb::1"}
	for _, pre := range []string{"eb", "ec", "ed", "ee", "ef"} {
		src := "2001:db8:" + pre + "::1"
		ext6(src, 43, srh(4, 1, 2, 1, three...)...)
		ext6(src, 43, srh(4, 2, 2, 256, three...)...)
		ext6(src, 43, srh(4, 0, 1, 0, "2001:db8:aa::9", "2001:db8:cc::9")...)
		ext6(src, 43, srh(0, 1, 2, 1, three...)...)
	}
	// IPv6 hash:net with nomatch.
	for _, src := range []string{"2001:db8:100::1", "2001:db8:100:5::1", "2001:db8:200::1"} {
		for _, dp := range []uint16{1002, 1003} {
			ps = append(ps, testpkt.Spec{Src: a(src), Dst: local6, Proto: "udp", SrcPort: 40000, DstPort: dp})
		}
	}
	return ps
}

// TestIpsetVerdictsMatchKernel loads the same sets (ipset restore) and
// rules into a kernel router and into nfgo replay --ipsets, sends the
// same packets through both, and compares every verdict. The ruleset
// also holds the esp, ah and tcpmss matches.
func TestIpsetVerdictsMatchKernel(t *testing.T) {
	kernel.Require(t, "ip", "ipset", "iptables-restore", "ip6tables-restore")
	specs := ipsetPackets()
	pkts := make([][]byte, len(specs))
	for i, s := range specs {
		pkts[i] = testpkt.Build(s)
	}
	capPath := filepath.Join(t.TempDir(), "ipset.pcap")
	writePcap(t, capPath, pkts)
	sets, rules, rules6 := "testdata/kernel/ipset.sets", "testdata/kernel/ipset.rules", "testdata/kernel/ipset.rules6"
	recs := replayJSON(t, "--ipsets", sets, "--rules", rules, "--rules6", rules6,
		"--local", kernel.RouterAddr4+"/24,"+kernel.RouterAddr6+"/64", capPath)
	if len(recs) != len(pkts) {
		t.Fatalf("replay printed %d records for %d packets", len(recs), len(pkts))
	}

	r := kernel.NewRouter(t, kernel.RouterOptions{LocalReplies: true})
	data, err := os.ReadFile(sets)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := r.Exec("ipset restore", data); err != nil {
		t.Fatalf("ipset restore: %v: %s", err, out)
	}
	restoreFiles(t, r, rules, rules6)
	agree, accepted := 0, 0
	for i, p := range pkts {
		fate, err := r.Send(p)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		kv := "DROP"
		if fate.Accepted() {
			kv = "ACCEPT"
			accepted++
		}
		if recs[i].Verdict != kv {
			t.Errorf("packet %d (%s → %s %s): kernel %s, nfgo %s (%s)", i, recs[i].Src, recs[i].Dst, recs[i].Proto, kv, recs[i].Verdict, recs[i].Reason)
			continue
		}
		agree++
	}
	t.Logf("%d/%d packets: same verdict as the kernel (%d accepted)", agree, len(pkts), accepted)
}
