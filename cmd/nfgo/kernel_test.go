package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
)

// statelessPackets are the packets of the stateless kernel comparison:
// each aims at one rule or one corner of the path (local delivery,
// forwarding, TTL, broadcast, fragments of the header space).
func statelessPackets() []testpkt.Spec {
	a := netip.MustParseAddr
	var ps []testpkt.Spec
	add := func(s testpkt.Spec) { ps = append(ps, s) }
	local, local6 := a(kernel.RouterAddr4), a(kernel.RouterAddr6)
	ext := a("198.18.0.7")
	// INPUT: ICMP through a user chain and RETURN.
	for _, typ := range []uint8{8, 13, 17, 0} {
		add(testpkt.Spec{Src: ext, Dst: local, Proto: "icmp", ICMPType: typ, ICMPID: 1, ICMPSeq: 1})
	}
	// INPUT: TCP flags and ports.
	for _, f := range []string{"S", "SA", "A", "", "FPU", "R"} {
		add(testpkt.Spec{Src: ext, Dst: local, Proto: "tcp", SrcPort: 40000, DstPort: 22, Flags: f})
	}
	for _, port := range []uint16{23, 25, 1000, 1500, 1999, 2000, 8080} {
		add(testpkt.Spec{Src: ext, Dst: local, Proto: "tcp", SrcPort: 40001, DstPort: port, Flags: "S"})
	}
	add(testpkt.Spec{Src: ext, Dst: local, Proto: "tcp", SrcPort: 80, DstPort: 1500, Flags: "S"})
	add(testpkt.Spec{Src: ext, Dst: local, Proto: "tcp", SrcPort: 40002, DstPort: 8080, Flags: "SA"})
	// INPUT: UDP, multiport ranges, length.
	for _, port := range []uint16{53, 67, 68, 69, 122, 123, 125, 126} {
		add(testpkt.Spec{Src: ext, Dst: local, Proto: "udp", SrcPort: 40000, DstPort: port})
	}
	add(testpkt.Spec{Src: ext, Dst: local, Proto: "udp", SrcPort: 5005, DstPort: 7000})
	add(testpkt.Spec{Src: ext, Dst: local, Proto: "udp", SrcPort: 5005, DstPort: 7000, Payload: make([]byte, 1200)})
	// statistic's nth mode: of six packets, the 1st and the 4th.
	for i := range uint16(6) {
		add(testpkt.Spec{Src: ext, Dst: local, Proto: "udp", SrcPort: 41000 + i, DstPort: 7100})
	}
	add(testpkt.Spec{Src: ext, Dst: local, Proto: "raw", RawProto: 47, Payload: []byte{0, 0, 8, 0}})
	add(testpkt.Spec{Src: ext, Dst: local, Proto: "raw", RawProto: 50, Payload: make([]byte, 16)})
	// Broadcast to the router's subnet: INPUT, addrtype BROADCAST.
	add(testpkt.Spec{Src: a("192.0.2.7"), Dst: a("192.0.2.255"), Proto: "udp", SrcPort: 40000, DstPort: 7777})
	// raw PREROUTING drop.
	add(testpkt.Spec{Src: a("198.18.66.5"), Dst: local, Proto: "udp", SrcPort: 40000, DstPort: 53})
	// FORWARD through the fwd chain.
	for _, port := range []uint16{80, 443, 8000, 8443, 22} {
		add(testpkt.Spec{Src: a("10.1.0.5"), Dst: a("198.51.100.10"), Proto: "tcp", SrcPort: 41000, DstPort: port, Flags: "S"})
	}
	add(testpkt.Spec{Src: a("10.9.0.5"), Dst: a("198.51.100.10"), Proto: "tcp", SrcPort: 41000, DstPort: 80, Flags: "S"})
	add(testpkt.Spec{Src: a("10.9.0.5"), Dst: a("198.51.100.10"), Proto: "tcp", SrcPort: 41000, DstPort: 8443, Flags: "S"})
	add(testpkt.Spec{Src: a("10.7.0.5"), Dst: a("198.51.100.10"), Proto: "udp", SrcPort: 41000, DstPort: 5353})
	add(testpkt.Spec{Src: a("10.7.1.5"), Dst: a("198.51.100.10"), Proto: "udp", SrcPort: 41000, DstPort: 5353})
	add(testpkt.Spec{Src: a("10.7.0.5"), Dst: a("198.51.100.10"), Proto: "udp", SrcPort: 41000, DstPort: 9999})
	for _, d := range []string{"203.0.113.9", "203.0.113.10", "203.0.113.15", "203.0.113.20", "203.0.113.21", "203.0.113.99"} {
		add(testpkt.Spec{Src: ext, Dst: a(d), Proto: "udp", SrcPort: 41000, DstPort: 4000})
	}
	for _, ttl := range []uint8{1, 2, 10, 11, 12, 64} {
		add(testpkt.Spec{Src: ext, Dst: a("203.0.113.50"), Proto: "icmp", ICMPType: 8, ICMPID: 5, ICMPSeq: uint16(ttl), TTL: ttl})
	}
	for _, tos := range []uint8{0x10, 0x08, 0x12} {
		add(testpkt.Spec{Src: ext, Dst: a("203.0.113.50"), Proto: "udp", SrcPort: 41000, DstPort: 4000, TOS: tos})
	}
	// ICMP errors carrying the packet they are about: to the router they
	// fall to the LOG rule, which prints the embedded packet in brackets.
	inner := testpkt.Build(testpkt.Spec{Src: local, Dst: ext, Proto: "udp", SrcPort: 53, DstPort: 40000, Payload: []byte("answer")})
	add(testpkt.Spec{Src: ext, Dst: local, Proto: "icmp", ICMPType: 3, ICMPCode: 3, Payload: inner[:28]})
	add(testpkt.Spec{Src: ext, Dst: a("203.0.113.50"), Proto: "icmp", ICMPType: 11, Payload: inner})
	// A TCP segment with options through the logging HTTPS rule.
	add(testpkt.Spec{Src: a("10.1.0.5"), Dst: a("198.51.100.10"), Proto: "tcp", SrcPort: 41000, DstPort: 443, Flags: "S", Seq: 123456789, MSS: 1400})
	// Too big for eth1's MTU of 1500, with DF: fragmentation needed.
	add(testpkt.Spec{Src: ext, Dst: a("203.0.113.15"), Proto: "udp", SrcPort: 41000, DstPort: 4000, Payload: make([]byte, 1600)})
	// IPv6.
	ext6 := a("2001:db8:1::5")
	add(testpkt.Spec{Src: ext6, Dst: local6, Proto: "icmp", ICMPType: 128, ICMPID: 1, ICMPSeq: 1})
	add(testpkt.Spec{Src: ext6, Dst: local6, Proto: "icmp", ICMPType: 129, ICMPID: 1, ICMPSeq: 1})
	add(testpkt.Spec{Src: ext6, Dst: local6, Proto: "tcp", SrcPort: 40000, DstPort: 22, Flags: "S"})
	add(testpkt.Spec{Src: ext6, Dst: local6, Proto: "tcp", SrcPort: 40000, DstPort: 80, Flags: "S"})
	add(testpkt.Spec{Src: a("2001:db8:bad::1"), Dst: local6, Proto: "udp", SrcPort: 40000, DstPort: 53})
	add(testpkt.Spec{Src: ext6, Dst: local6, Proto: "udp", SrcPort: 40000, DstPort: 53})
	add(testpkt.Spec{Src: ext6, Dst: local6, Proto: "udp", SrcPort: 40000, DstPort: 54, TTL: 4})
	add(testpkt.Spec{Src: ext6, Dst: a("2001:db8:100::9"), Proto: "tcp", SrcPort: 40000, DstPort: 443, Flags: "S"})
	add(testpkt.Spec{Src: ext6, Dst: a("2001:db8:200::9"), Proto: "tcp", SrcPort: 40000, DstPort: 443, Flags: "S"})
	add(testpkt.Spec{Src: ext6, Dst: a("2001:db8:200::9"), Proto: "udp", SrcPort: 999, DstPort: 1000})
	add(testpkt.Spec{Src: ext6, Dst: a("2001:db8:200::9"), Proto: "udp", SrcPort: 999, DstPort: 998})
	add(testpkt.Spec{Src: ext6, Dst: a("2001:db8:200::9"), Proto: "udp", SrcPort: 999, DstPort: 1500, TTL: 1})
	add(testpkt.Spec{Src: ext6, Dst: a("2001:db8:200::9"), Proto: "udp", SrcPort: 999, DstPort: 1500, Payload: make([]byte, 1500)})
	return ps
}

// restoreFiles loads an IPv4 and an IPv6 ruleset file into the router.
func restoreFiles(t *testing.T, r *kernel.Router, rules, rules6 string) {
	t.Helper()
	for _, in := range []struct {
		path string
		v6   bool
	}{{rules, false}, {rules6, true}} {
		data, err := os.ReadFile(in.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Restore(data, in.v6); err != nil {
			t.Fatal(err)
		}
	}
}

func trimAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// normalize clears the fields a kernel fills from its own state rather
// than from the packet: the IPv4 identification (and so the header
// checksum) and the IPv6 flow label.
func normalize(b []byte) []byte {
	b = append([]byte(nil), b...)
	switch {
	case len(b) >= 20 && b[0]>>4 == 4:
		b[4], b[5], b[10], b[11] = 0, 0, 0, 0
	case len(b) >= 40 && b[0]>>4 == 6:
		b[1] &= 0xf0
		b[2], b[3] = 0, 0
	}
	return b
}

// malformedPackets are well-formed IP packets with broken transport
// headers: where the kernel's matches read only the bytes they need, or
// drop a "tinygram" outright, nfgo must do the same.
func malformedPackets() [][]byte {
	a := netip.MustParseAddr
	local, ext := a(kernel.RouterAddr4), a("198.18.0.7")
	tcp22 := testpkt.Build(testpkt.Spec{Src: ext, Dst: local, Proto: "tcp", SrcPort: 40000, DstPort: 22, Flags: "S"})
	udp53 := testpkt.Build(testpkt.Spec{Src: ext, Dst: local, Proto: "udp", SrcPort: 40000, DstPort: 53, Payload: []byte("query")})
	udp67 := testpkt.Build(testpkt.Spec{Src: ext, Dst: local, Proto: "udp", SrcPort: 40000, DstPort: 67})
	ping := testpkt.Build(testpkt.Spec{Src: ext, Dst: local, Proto: "icmp", ICMPType: 8, ICMPID: 1, ICMPSeq: 1})
	fwd := testpkt.Build(testpkt.Spec{Src: a("10.1.0.5"), Dst: a("198.51.100.10"), Proto: "tcp", SrcPort: 41000, DstPort: 443, Flags: "S"})
	badLen := append([]byte(nil), udp53...)
	badLen[25] = 200 // UDP length past the end of the packet
	badDoff := append([]byte(nil), fwd...)
	badDoff[32] = 0x20 // TCP data offset of 8 bytes
	ping6 := testpkt.Build(testpkt.Spec{Src: a("2001:db8:1::5"), Dst: a(kernel.RouterAddr6), Proto: "icmp", ICMPType: 128, ICMPID: 1, ICMPSeq: 1})
	return [][]byte{
		testpkt.Truncate(tcp22, 30), // ports, no flags
		testpkt.Truncate(tcp22, 22), // source port only
		testpkt.Truncate(udp53, 24), // the destination port is there
		testpkt.Truncate(udp67, 22), // multiport: tinygram
		testpkt.Truncate(ping, 24),  // icmp: tinygram
		badLen,
		badDoff,
		testpkt.Truncate(ping6, 44), // icmp6: tinygram
	}
}

func writePcap(t *testing.T, path string, pkts [][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_700_000_000, 0)
	for i, b := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// replayJSON runs "nfgo replay --json" and returns one record per packet.
func replayJSON(t *testing.T, args ...string) []packetRecord {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(append([]string{"replay", "--json"}, args...), &out, &errb); code != 0 {
		t.Fatalf("nfgo replay exited %d: %s", code, errb.String())
	}
	var recs []packetRecord
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r packetRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

// TestReplayVerdictsMatchKernel is the stateless kernel comparison: the
// same ruleset is loaded into a kernel router with iptables-restore and
// into nfgo replay, the same packets go through both, and every verdict
// must agree.
func TestReplayVerdictsMatchKernel(t *testing.T) {
	kernel.Require(t, "ip", "nft", "iptables-restore", "ip6tables-restore")
	specs := statelessPackets()
	pkts := make([][]byte, len(specs))
	for i, s := range specs {
		pkts[i] = testpkt.Build(s)
	}
	pkts = append(pkts, malformedPackets()...)
	dir := t.TempDir()
	capPath := filepath.Join(dir, "stateless.pcap")
	writePcap(t, capPath, pkts)
	rules, rules6 := "testdata/kernel/stateless.rules", "testdata/kernel/stateless.rules6"
	recs := replayJSON(t, "--rules", rules, "--rules6", rules6,
		"--local", kernel.RouterAddr4+"/24,"+kernel.RouterAddr6+"/64", capPath)
	if len(recs) != len(pkts) {
		t.Fatalf("replay printed %d records for %d packets", len(recs), len(pkts))
	}

	r := kernel.NewRouter(t, kernel.RouterOptions{LocalReplies: true})
	klog := kernel.OpenKernelLog(t)
	restoreFiles(t, r, rules, rules6)
	agree, responses, logs := 0, 0, 0
	for i, p := range pkts {
		fate, err := r.Send(p)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		// The LOG lines must be the kernel's, character for character.
		klines := klog.Lines("nfgo-")
		if strings.Join(trimAll(klines), "\n") != strings.Join(trimAll(recs[i].Logs), "\n") {
			t.Errorf("packet %d: LOG lines differ:\n kernel %q\n nfgo   %q", i, klines, recs[i].Logs)
		} else {
			logs += len(klines)
		}
		kv := "DROP"
		if fate.Accepted() {
			kv = "ACCEPT"
		}
		if recs[i].Verdict != kv {
			t.Errorf("packet %d (%s → %s %s): kernel %s, nfgo %s (%s)", i, recs[i].Src, recs[i].Dst, recs[i].Proto, kv, recs[i].Verdict, recs[i].Reason)
			continue
		}
		agree++
		if kv == "DROP" {
			// A dropped packet's only trace is the REJECT response, if
			// any: the kernel's must equal nfgo's.
			replies := append(fate.Replies, fate.Emitted...)
			switch {
			case recs[i].Response == "" && len(replies) > 0:
				t.Errorf("packet %d: the kernel sent %d response(s), nfgo none", i, len(replies))
			case recs[i].Response != "" && len(replies) != 1:
				t.Errorf("packet %d: nfgo sent a response, the kernel %d", i, len(replies))
			case recs[i].Response != "":
				got, want := normalize(mustHex(t, recs[i].Response)), normalize(replies[0])
				if !bytes.Equal(got, want) {
					t.Errorf("packet %d: REJECT response differs from the kernel's:\n nfgo   %x\n kernel %x", i, got, want)
				} else {
					responses++
				}
			}
		}
	}
	t.Logf("%d/%d packets: same verdict as the kernel; %d REJECT responses byte-identical; %d LOG lines identical", agree, len(pkts), responses, logs)
	if agree < len(pkts) {
		fmt.Fprintln(os.Stderr, "kernel comparison disagreements above")
	}
}
