package main

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
)

// TestManglingMatchesKernel forwards TCP segments through the ECN and
// TCPOPTSTRIP targets of a kernel router and of nfgo replay --write: each
// must leave byte for byte the same, checksums included.
func TestManglingMatchesKernel(t *testing.T) {
	kernel.Require(t, "ip", "nft", "iptables-restore")
	a := netip.MustParseAddr
	seg := func(dport uint16, flags string, tos uint8, opts func(*testpkt.Spec)) []byte {
		s := testpkt.Spec{Src: a("198.18.0.7"), Dst: a("203.0.113.9"), Proto: "tcp", SrcPort: 40000, DstPort: dport, Flags: flags, Seq: 77, TOS: tos}
		if opts != nil {
			opts(&s)
		}
		return testpkt.Build(s)
	}
	allOpts := func(s *testpkt.Spec) {
		s.MSS, s.WScale, s.HasWScale, s.SACKPermitted, s.Timestamps = 1460, 7, true, true, true
	}
	var pkts [][]byte
	for _, dp := range []uint16{80, 81, 82, 83, 84, 85} {
		pkts = append(pkts,
			seg(dp, "SEC", 0, allOpts),
			seg(dp, "A", 3, nil),
			seg(dp, "SE", 1, func(s *testpkt.Spec) { s.MSS = 536 }),
			seg(dp, "PA", 2, func(s *testpkt.Spec) { s.Timestamps, s.Payload = true, []byte("data") }),
		)
	}
	// SNPT and DNPT: prefixes of 64, 56 against 40 and 48 bits, an
	// identifier the /64 cannot adjust (all 0xffff: dropped).
	for _, pair := range [][2]string{
		{"fd00:1::1", "2001:db8:99::1"},
		{"fd00:1::abcd:1234:0:ffff", "2001:db8:99::1"},
		{"fd00:1::ffff:ffff:ffff:ffff", "2001:db8:99::1"},
		{"fd00:2:0:ff::42", "2001:db8:99::1"},
		{"2001:db8:5::9", "2001:db8:77:0:1::5"},
		{"2001:db8:5::9", "2001:db8:77:abcd::ffff"},
	} {
		pkts = append(pkts, testpkt.Build(testpkt.Spec{Src: a(pair[0]), Dst: a(pair[1]), Proto: "udp", SrcPort: 40000, DstPort: 53, Payload: []byte("q")}))
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap")
	writePcap(t, in, pkts)
	rules, rules6 := "testdata/kernel/mangle.rules", "testdata/kernel/mangle.rules6"
	recs := replayJSON(t, "--rules", rules, "--rules6", rules6, "--local", kernel.RouterAddr4+"/24,"+kernel.RouterAddr6+"/64", "--write", out, in)
	written := readPcap(t, out)
	r := kernel.NewRouter(t, kernel.RouterOptions{})
	for _, f := range []struct {
		path string
		v6   bool
	}{{rules, false}, {rules6, true}} {
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Restore(data, f.v6); err != nil {
			t.Fatal(err)
		}
	}
	agree, w, rewritten := 0, 0, 0
	for i, p := range pkts {
		f, err := r.Send(p)
		if err != nil {
			t.Fatal(err)
		}
		var ours []byte
		if recs[i].Verdict == "ACCEPT" && w < len(written) {
			ours = written[w]
			w++
		}
		switch {
		case len(f.Emitted) == 0 && ours == nil:
			// Dropped by both (the kernel's SNPT also answers with a
			// parameter problem, which nfgo does not send).
			agree++
		case len(f.Emitted) != 1 || ours == nil:
			t.Errorf("packet %d: the kernel forwarded %d packets, nfgo %v (%s)", i, len(f.Emitted), ours != nil, recs[i].Reason)
		case !bytes.Equal(f.Emitted[0], ours):
			t.Errorf("packet %d leaves differently:\n kernel %x\n nfgo   %x", i, f.Emitted[0], ours)
		default:
			agree++
			if p[0]>>4 == 6 && !bytes.Equal(p[8:40], ours[8:40]) || p[0]>>4 == 4 && (p[1] != ours[1] || !bytes.Equal(p[20:], ours[20:])) {
				rewritten++
			}
		}
	}
	// Most segments must have been rewritten, or the rules did not run.
	if rewritten < len(pkts)/2 {
		t.Errorf("only %d of %d segments were rewritten", rewritten, len(pkts))
	}
	t.Logf("%d/%d segments (%d rewritten) leave the mangle rules exactly as they leave the kernel's", agree, len(pkts), rewritten)
}
