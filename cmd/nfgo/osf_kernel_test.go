package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
)

// TestOSFMatchesKernel loads the same fingerprints into the kernel (with
// nfnl_osf, as a user does) and into nfgo replay (--osf), sends SYNs
// made to fit each fingerprint and others that miss it by one field
// (TTL, window, DF, flags), and compares which -m osf rules matched:
// each rule ORs its bit into the mark, which POSTROUTING copies into
// the DSCP field for the kernel's side. The fingerprints are nfgo's
// test file and, when iptables' source is at hand, its own pf.os.
//
// The kernel's fingerprints are global, not per namespace: the test
// removes what it loaded.
func TestOSFMatchesKernel(t *testing.T) {
	kernel.Require(t, "ip", "nft", "iptables-restore", "nfnl_osf")
	type fingerprintFile struct {
		path   string
		genres []string
		every  int // test every n-th fingerprint
	}
	files := []fingerprintFile{
		{"../../filter/iptables/testdata/osf/fingerprints.os", []string{"Linux", "Windows", "MacOS", "Other", "Tiny", "Scanner"}, 1},
	}
	if dir := os.Getenv("NFGO_IPTABLES_T"); dir != "" {
		if p := filepath.Join(dir, "..", "utils", "pf.os"); fileExists(p) {
			files = append(files, fingerprintFile{p, []string{"Linux", "Windows", "FreeBSD", "OpenBSD", "Solaris", "NMAP"}, 10})
		}
	}
	variants := []struct {
		name, hook, opts string
	}{
		{"genre", "PREROUTING", ""},
		{"ttl less", "PREROUTING", "--ttl 1"},
		{"ttl none", "PREROUTING", "--ttl 2"},
		// FORWARD sees the TTL the router has already decremented.
		{"forward", "FORWARD", ""},
		{"invert and log", "PREROUTING", ""},
	}
	dir := t.TempDir()
	for _, file := range files {
		t.Run(filepath.Base(file.path), func(t *testing.T) {
			list, err := iptables.ParseOSFingerprints(openFile(t, file.path))
			if err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("nfnl_osf", "-f", file.path).CombinedOutput(); err != nil {
				t.Fatalf("nfnl_osf -f %s: %v\n%s", file.path, err, out)
			}
			t.Cleanup(func() { exec.Command("nfnl_osf", "-f", file.path, "-d").Run() })
			var pkts [][]byte
			for i, f := range list {
				if i%file.every == 0 {
					pkts = append(pkts, osfProbes(f, i)...)
				}
			}
			in := filepath.Join(dir, filepath.Base(file.path)+".pcap")
			writePcap(t, in, pkts)
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					var b strings.Builder
					b.WriteString("*mangle\n")
					if v.name == "invert and log" {
						// As in the kernel, "!" changes nothing, and
						// --log matches any genre.
						fmt.Fprintf(&b, "-A %s -p tcp -m osf ! --genre %s -j MARK --or-mark 1\n", v.hook, file.genres[1])
						fmt.Fprintf(&b, "-A %s -p tcp -m osf --genre %s -j MARK --or-mark 2\n", v.hook, file.genres[1])
						fmt.Fprintf(&b, "-A %s -p tcp -m osf --genre none --log 1 -j MARK --or-mark 4\n", v.hook)
						fmt.Fprintf(&b, "-A %s -p tcp -m osf --genre none --log 0 --ttl 2 -j MARK --or-mark 8\n", v.hook)
					} else {
						for i, g := range file.genres {
							fmt.Fprintf(&b, "-A %s -p tcp -m osf --genre %s %s -j MARK --or-mark %d\n", v.hook, g, v.opts, 1<<i)
						}
					}
					for m := range 64 {
						fmt.Fprintf(&b, "-A POSTROUTING -m mark --mark %d -j DSCP --set-dscp %d\n", m, m)
					}
					b.WriteString("COMMIT\n")
					rules := filepath.Join(dir, v.name+".rules")
					if err := os.WriteFile(rules, []byte(b.String()), 0o644); err != nil {
						t.Fatal(err)
					}
					r := kernel.NewRouter(t, kernel.RouterOptions{})
					if err := r.Restore([]byte(b.String()), false); err != nil {
						t.Fatal(err)
					}
					recs := replayJSON(t, "--rules", rules, "--osf", file.path, in)
					if len(recs) != len(pkts) {
						t.Fatalf("nfgo replay gave %d records for %d packets", len(recs), len(pkts))
					}
					matched := 0
					for i, p := range pkts {
						fate, err := r.Send(p)
						if err != nil {
							t.Fatal(err)
						}
						if len(fate.Emitted) != 1 {
							t.Fatalf("packet %d: the kernel forwarded %d packets", i, len(fate.Emitted))
						}
						want := uint32(dscpOf(fate.Emitted[0]))
						if got := uint32(recs[i].Mark); got != want {
							t.Errorf("packet %d (%s): nfgo's genres %#x, the kernel's %#x", i, osfDescribe(p), got, want)
						}
						if want != 0 {
							matched++
						}
					}
					// Probes that all miss would pass the comparison
					// without testing it.
					if matched < len(pkts)/20 {
						t.Errorf("only %d of %d probes matched a genre", matched, len(pkts))
					}
					t.Logf("%d SYNs, %d matching a genre, each as the kernel's", len(pkts), matched)
				})
			}
		})
	}
}

// osfProbes builds a SYN that fits f, and SYNs that miss it by one
// field: a TTL one lower and one higher, a window one more, the other
// DF, and the same as SYN-ACK and as a bare ACK.
func osfProbes(f filter.OSFingerprint, n int) [][]byte {
	mss := uint16(1400 + n%7*8)
	var opts []byte
	for _, o := range f.Options {
		switch {
		case o.Length == 1:
			opts = append(opts, o.Kind)
		case o.Kind == 2:
			opts = binary.BigEndian.AppendUint16(append(opts, 2, 4), mss)
		default:
			opts = append(opts, o.Kind, o.Length)
			for i := 2; i < int(o.Length); i++ {
				opts = append(opts, byte(n+i))
			}
		}
	}
	window := uint32(f.Window)
	switch f.WindowKind {
	case filter.OSFWindowPlain:
		if window == 0 {
			window = 5840
		}
	case filter.OSFWindowMSS:
		window *= uint32(mss)
	case filter.OSFWindowMTU:
		window *= uint32(mss) + 40
	case filter.OSFWindowModulo:
		window *= 3
	}
	if window > 0xffff {
		// Too large for the field: the modems' MSS of 1448 may fit.
		window = f.Window * 1448
	}
	spec := testpkt.Spec{Src: netip.AddrFrom4([4]byte{198, 18, byte(n / 200), byte(1 + n%200)}), Dst: netip.MustParseAddr("203.0.113.9"),
		Proto: "tcp", SrcPort: uint16(20000 + n), DstPort: 80, Flags: "S", Seq: 1,
		Window: uint16(window), ZeroWindow: window&0xffff == 0, TTL: max(f.TTL, 3), NoDF: f.DF == 0, TCPOptions: opts}
	probes := [][]byte{testpkt.Build(spec)}
	for _, change := range []func(s *testpkt.Spec){
		func(s *testpkt.Spec) { s.TTL-- },
		func(s *testpkt.Spec) { s.TTL = min(s.TTL, 254) + 1 },
		func(s *testpkt.Spec) { s.Window++; s.ZeroWindow = false },
		func(s *testpkt.Spec) { s.NoDF = !s.NoDF },
		func(s *testpkt.Spec) { s.Flags = "SA" },
		func(s *testpkt.Spec) { s.Flags = "A" },
	} {
		s := spec
		change(&s)
		probes = append(probes, testpkt.Build(s))
	}
	return probes
}

// osfDescribe says what osf looks at in an IPv4 TCP packet.
func osfDescribe(p []byte) string {
	ihl := int(p[0]&15) * 4
	th := p[ihl:]
	return fmt.Sprintf("len %d ttl %d df %v flags %#x window %d options % x", binary.BigEndian.Uint16(p[2:]), p[8], p[6]&0x40 != 0,
		th[13], binary.BigEndian.Uint16(th[14:]), th[20:int(th[12]>>4)*4])
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func openFile(t *testing.T, p string) *os.File {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
