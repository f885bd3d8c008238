package filter

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// osfSYN builds a SYN with the raw TCP options given.
func osfSYN(t *testing.T, window uint16, ttl uint8, df bool, opts ...byte) *packet.Packet {
	t.Helper()
	b := testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("198.51.100.7"), Dst: netip.MustParseAddr("203.0.113.1"), Proto: "tcp",
		SrcPort: 40000, DstPort: 80, Flags: "S", Window: window, TTL: ttl, NoDF: !df, TCPOptions: opts})
	p := new(packet.Packet)
	p.Decode(b)
	if p.Length == 0 {
		t.Fatalf("SYN did not decode: %v", p.Invalid)
	}
	return p
}

func TestOSFMatch(t *testing.T) {
	var fp OSFingerprints
	linux := OSFingerprint{WindowKind: OSFWindowMSS, Window: 44, TTL: 64, DF: 1, Size: 60, Genre: "Linux", Version: "4.x",
		Options: []OSFOption{{Kind: 2, Length: 4}, {Kind: 4, Length: 2}, {Kind: 8, Length: 10}, {Kind: 1, Length: 1}, {Kind: 3, Length: 3}}}
	windows := OSFingerprint{Window: 64240, TTL: 128, DF: 1, Size: 52, Genre: "Windows", Version: "10",
		Options: []OSFOption{{Kind: 2, Length: 4}, {Kind: 1, Length: 1}, {Kind: 3, Length: 3}, {Kind: 1, Length: 1}, {Kind: 1, Length: 1}, {Kind: 4, Length: 2}}}
	modulo := OSFingerprint{WindowKind: OSFWindowModulo, Window: 8192, TTL: 64, Size: 44, Genre: "Mod", Options: []OSFOption{{Kind: 2, Length: 4}}}
	mtu := OSFingerprint{WindowKind: OSFWindowMTU, Window: 4, TTL: 64, Size: 44, Genre: "MTU", Options: []OSFOption{{Kind: 2, Length: 4}}}
	for _, f := range []OSFingerprint{linux, windows, modulo, mtu, linux} { // the second linux is passed over
		if err := fp.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	if n := fp.Len(); n != 4 {
		t.Fatalf("%d fingerprints, want 4 (a duplicate is passed over)", n)
	}
	mss := func(v uint16) []byte { return []byte{2, 4, byte(v >> 8), byte(v)} }
	linuxOpts := append(mss(1400), 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 7)
	winOpts := append(mss(1460), 1, 3, 3, 8, 1, 1, 4, 2)
	// The window scale option saying it has 9 bytes: the kernel walks
	// the fingerprint's lengths, not the packet's.
	badWScaleLen := osfSYN(t, 64240, 128, true, winOpts...)
	badWScaleLen.TransportHeader()[20+6] = 9
	for _, tt := range []struct {
		name string
		p    *packet.Packet
		m    OSFMatch
		want bool
	}{
		{"Linux: 44 × the SYN's own MSS", osfSYN(t, 44*1400, 64, true, linuxOpts...), OSFMatch{Genre: "Linux"}, true},
		{"Linux: 44 × 1460, a clamped MSS", osfSYN(t, 44*1460&0xffff, 64, true, linuxOpts...), OSFMatch{Genre: "Linux"}, 44*1460 < 1<<16},
		{"Linux: another window", osfSYN(t, 1000, 64, true, linuxOpts...), OSFMatch{Genre: "Linux"}, false},
		{"genre is case-sensitive", osfSYN(t, 44*1400, 64, true, linuxOpts...), OSFMatch{Genre: "linux"}, false},
		{"another genre", osfSYN(t, 44*1400, 64, true, linuxOpts...), OSFMatch{Genre: "Windows"}, false},
		{"! changes nothing, as in the kernel", osfSYN(t, 44*1400, 64, true, linuxOpts...), OSFMatch{Genre: "Linux", Invert: true}, true},
		{"no DF: the other list", osfSYN(t, 44*1400, 64, false, linuxOpts...), OSFMatch{Genre: "Linux"}, false},
		{"TTL one lower: not equal", osfSYN(t, 44*1400, 63, true, linuxOpts...), OSFMatch{Genre: "Linux"}, false},
		{"TTL one lower, --ttl 1", osfSYN(t, 44*1400, 63, true, linuxOpts...), OSFMatch{Genre: "Linux", HasTTL: true, TTL: OSFTTLLess}, true},
		{"TTL one higher, --ttl 1", osfSYN(t, 44*1400, 65, true, linuxOpts...), OSFMatch{Genre: "Linux", HasTTL: true, TTL: OSFTTLLess}, false},
		{"TTL one higher, --ttl 2", osfSYN(t, 44*1400, 65, true, linuxOpts...), OSFMatch{Genre: "Linux", HasTTL: true, TTL: OSFTTLNoCheck}, true},
		{"options in another order", osfSYN(t, 44*1400, 64, true, append(mss(1400), 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 4, 2, 1, 3, 3, 7)...), OSFMatch{Genre: "Linux"}, false},
		{"Windows: plain window", osfSYN(t, 64240, 128, true, winOpts...), OSFMatch{Genre: "Windows"}, true},
		{"an option's length byte is not read", badWScaleLen, OSFMatch{Genre: "Windows"}, true},
		{"modulo", osfSYN(t, 3*8192, 64, false, mss(536)...), OSFMatch{Genre: "Mod"}, true},
		{"modulo, not a multiple", osfSYN(t, 3*8192+1, 64, false, mss(536)...), OSFMatch{Genre: "Mod"}, false},
		{"MTU: 4 × (MSS + 40)", osfSYN(t, 4*(1200+40), 64, false, mss(1200)...), OSFMatch{Genre: "MTU"}, true},
		{"--log matches any genre", osfSYN(t, 64240, 128, true, winOpts...), OSFMatch{Genre: "Nothing", Log: true}, true},
		{"--log, nothing matches", osfSYN(t, 1, 128, true, winOpts...), OSFMatch{Genre: "Windows", Log: true}, false},
	} {
		m := tt.m
		m.fingers = &fp
		c := matchCtx(tt.p)
		if got := m.Match(c); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
		if m.Log {
			logs := c.Effects.Logs()
			if len(logs) == 0 {
				t.Errorf("%s: --log logged nothing", tt.name)
			} else if tt.want && !strings.HasPrefix(logs[0], "Windows [10:] : 198.51.100.7:40000 -> 203.0.113.1:80 hops=0\nIN=eth0 ") ||
				!tt.want && !strings.HasPrefix(logs[0], "Remote OS is not known: 198.51.100.7:40000 -> 203.0.113.1:80\n") {
				t.Errorf("%s: logged %q", tt.name, logs[0])
			}
		}
	}
	// Not a SYN, and no fingerprints at all.
	ack := testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("198.51.100.7"), Dst: netip.MustParseAddr("203.0.113.1"), Proto: "tcp", Flags: "A", Window: 64240, TTL: 128, TCPOptions: winOpts})
	p := new(packet.Packet)
	p.Decode(ack)
	if (&OSFMatch{Genre: "Windows", fingers: &fp}).Match(matchCtx(p)) {
		t.Error("an ACK matched")
	}
	if (&OSFMatch{Genre: "Windows"}).Match(matchCtx(osfSYN(t, 64240, 128, true, winOpts...))) {
		t.Error("matched without fingerprints")
	}
}

func TestOSFMatchDoesNotAllocate(t *testing.T) {
	var fp OSFingerprints
	for i := range 50 {
		if err := fp.Add(OSFingerprint{Window: uint32(i), TTL: 64, DF: 1, Size: 44, Genre: "G", Options: []OSFOption{{Kind: 2, Length: 4}}}); err != nil {
			t.Fatal(err)
		}
	}
	c := matchCtx(osfSYN(t, 49, 64, true, 2, 4, 5, 180))
	m := &OSFMatch{Genre: "G", fingers: &fp}
	if !m.Match(c) {
		t.Fatal("no match")
	}
	if n := testing.AllocsPerRun(100, func() { m.Match(c) }); n != 0 {
		t.Errorf("-m osf allocates %v times per packet", n)
	}
}

func TestOSFingerprintsAddRemove(t *testing.T) {
	var fp OSFingerprints
	for _, bad := range []OSFingerprint{
		{WindowKind: OSFWindowModulo},
		{WindowKind: 4},
		{Options: []OSFOption{{Kind: 2, Length: 3}}},
		{Options: []OSFOption{{Kind: 1, Length: 0}}},
		{Options: []OSFOption{{Kind: 8, Length: 10}, {Kind: 8, Length: 10}, {Kind: 8, Length: 10}, {Kind: 8, Length: 10}, {Kind: 1, Length: 1}}},
		{Genre: strings.Repeat("x", 32)},
	} {
		if err := fp.Add(bad); !errors.Is(err, ErrOSFInvalid) {
			t.Errorf("Add(%+v): %v, want ErrOSFInvalid", bad, err)
		}
	}
	a := OSFingerprint{TTL: 64, Size: 40, Genre: "A"}
	b := OSFingerprint{TTL: 64, DF: 1, Size: 40, Genre: "B"}
	c := OSFingerprint{TTL: 64, DF: 7, Size: 40, Genre: "C"} // filed with DF
	for _, f := range []OSFingerprint{a, b, c} {
		if err := fp.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	names := func() (s string) {
		for _, f := range fp.List() {
			s += f.Genre
		}
		return s
	}
	if got := names(); got != "ABC" {
		t.Errorf("list %q, want ABC (no DF, then DF, each in order)", got)
	}
	if err := fp.Remove(b); err != nil || names() != "AC" {
		t.Errorf("Remove(B): %v, list %q", err, names())
	}
	if err := fp.Remove(b); !errors.Is(err, ErrOSFNotFound) {
		t.Errorf("Remove(B) again: %v, want ErrOSFNotFound", err)
	}
	fp.Flush()
	if fp.Len() != 0 {
		t.Errorf("%d fingerprints after Flush", fp.Len())
	}
}
