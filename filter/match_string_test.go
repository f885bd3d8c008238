package filter

import (
	"fmt"
	"testing"
)

func stringCtx(t testing.TB, payload string) *Context {
	p := matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 17, sport: 1, dport: 2, payload: len(payload)}.decode(t)
	copy(p.Bytes()[28:], payload)
	return matchCtx(p)
}

func bindString(t testing.TB, m *StringMatch) *StringMatch {
	if err := m.CheckRule(nil, Site{}); err != nil {
		t.Fatal(err)
	}
	x, err := m.Bind(nil)
	if err != nil {
		t.Fatal(err)
	}
	return x.(*StringMatch)
}

// TestStringOffsets: offsets count from the IP header, and the whole
// pattern must lie between From and To.
func TestStringOffsets(t *testing.T) {
	// "nfgo" is at bytes 38-41: 20 of IP header, 8 of UDP, 10 of payload.
	c := stringCtx(t, "0123456789nfgo-and-more")
	for _, tt := range []struct {
		m    StringMatch
		want bool
	}{
		{StringMatch{Algo: "bm", Pattern: []byte("nfgo"), To: 65535}, true},
		{StringMatch{Algo: "bm", Pattern: []byte("nfgo"), From: 38, To: 42}, true},
		{StringMatch{Algo: "bm", Pattern: []byte("nfgo"), From: 39, To: 65535}, false},
		{StringMatch{Algo: "kmp", Pattern: []byte("nfgo"), From: 0, To: 41}, false},
		{StringMatch{Algo: "bm", Pattern: []byte("nfgo"), From: 200, To: 65535}, false},
		{StringMatch{Algo: "bm", Pattern: []byte("nfgo"), To: 65535, Invert: true}, false},
		{StringMatch{Algo: "bm", Pattern: []byte("NFGO"), To: 65535}, false},
		{StringMatch{Algo: "bm", Pattern: []byte("NFGO"), To: 65535, ICase: true}, true},
		{StringMatch{Algo: "bm", Pattern: []byte("NFGO"), From: 39, To: 65535, ICase: true}, false},
		{StringMatch{Algo: "bm", Pattern: []byte("more"), From: 47, To: 51, ICase: true}, true},
		// The source address, 10.0.0.1, in the IP header.
		{StringMatch{Algo: "bm", Pattern: []byte{10, 0, 0, 1}, From: 12, To: 16}, true},
	} {
		m := bindString(t, &tt.m)
		if got := m.Match(c); got != tt.want {
			t.Errorf("%q from %d to %d icase %v invert %v: %v, want %v", tt.m.Pattern, tt.m.From, tt.m.To, tt.m.ICase, tt.m.Invert, got, tt.want)
		}
		// Unbound, the same answer.
		if got := tt.m.Match(c); got != tt.want {
			t.Errorf("unbound %q: %v, want %v", tt.m.Pattern, got, tt.want)
		}
	}
}

// TestStringICaseIsTheKernelsToupper: the kernel's toupper folds the
// Latin-1 letters (é with É), but not × and ÷.
func TestStringICaseIsTheKernelsToupper(t *testing.T) {
	for _, tt := range []struct {
		pattern, text string
		want          bool
	}{
		{"\xe9", "caf\xc9", true},
		{"\xc9", "caf\xe9", true},
		{"\xf7", "\xd7", false},
		{"[", "{", false},
	} {
		m := bindString(t, &StringMatch{Algo: "bm", Pattern: []byte(tt.pattern), To: 65535, ICase: true})
		if got := m.Match(stringCtx(t, tt.text)); got != tt.want {
			t.Errorf("%q in %q: %v, want %v", tt.pattern, tt.text, got, tt.want)
		}
	}
}

// FuzzStringICase checks the shift-table search against trying every
// position.
func FuzzStringICase(f *testing.F) {
	f.Add([]byte("abc"), []byte("xxABCxx"))
	f.Add([]byte("aab"), []byte("aaab"))
	f.Fuzz(func(t *testing.T, p, text []byte) {
		if len(p) == 0 || len(p) > StringMaxPattern {
			return
		}
		folded := make([]byte, len(p))
		for i, c := range p {
			folded[i] = kernelUpper[c]
		}
		if got, want := indexFolded(text, folded, horspoolShifts(folded)), indexFoldedSlow(text, p); got != want {
			t.Errorf("%q in %q: %v, want %v", p, text, got, want)
		}
	})
}

func TestStringCheckRule(t *testing.T) {
	for _, m := range []StringMatch{
		{Algo: "fsm", Pattern: []byte("x"), To: 65535},
		{Algo: "xyz", Pattern: []byte("x"), To: 65535},
		{Algo: "bm", To: 65535},
		{Algo: "bm", Pattern: make([]byte, 129), To: 65535},
		{Algo: "bm", Pattern: []byte("x"), From: 10, To: 9},
	} {
		if err := m.CheckRule(nil, Site{}); err == nil {
			t.Errorf("%+v: accepted, the kernel refuses it", m)
		}
	}
}

func TestStringDoesNotAllocate(t *testing.T) {
	c := stringCtx(t, "0123456789nfgo-and-more")
	for _, m := range []*StringMatch{
		bindString(t, &StringMatch{Algo: "bm", Pattern: []byte("and"), To: 65535}),
		bindString(t, &StringMatch{Algo: "bm", Pattern: []byte("AND"), To: 65535, ICase: true}),
	} {
		if n := testing.AllocsPerRun(100, func() { m.Match(c) }); n != 0 {
			t.Errorf("%+v allocates %v times", m, n)
		}
	}
}

// BenchmarkStringMatch is a pattern that is not there, in payloads of
// several sizes: the cost per byte searched (MB/s).
func BenchmarkStringMatch(b *testing.B) {
	for _, icase := range []bool{false, true} {
		for _, n := range []int{64, 512, 1460} {
			payload := make([]byte, n)
			for i := range payload {
				payload[i] = "abcdefghijklmnopqrstuvwxyz"[i%26]
			}
			c := stringCtx(b, string(payload))
			m := bindString(b, &StringMatch{Algo: "bm", Pattern: []byte("GET /admin"), To: 65535, ICase: icase})
			b.Run(fmt.Sprintf("icase=%v/payload=%d", icase, n), func(b *testing.B) {
				b.SetBytes(int64(len(c.Packet.Bytes())))
				for b.Loop() {
					if m.Match(c) {
						b.Fatal("matched")
					}
				}
			})
		}
	}
}
