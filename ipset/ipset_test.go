package ipset

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// fakeClock is a settable clock for timeouts.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

func mustExec(t *testing.T, ss *Sets, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if err := ss.Exec(l, false); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
	}
}

func TestTestAnswersAsIpsetTest(t *testing.T) {
	ss := &Sets{}
	mustExec(t, ss,
		"create n hash:net",
		"add n 10.0.0.0/8",
		"add n 10.1.0.0/16 nomatch",
		"create ip hash:ip,port",
		"add ip 1.2.3.4,udp:53",
		"add ip 1.2.3.4,80-81",
	)
	tests := []struct {
		set, elem string
		want      bool
	}{
		{"n", "10.2.3.4", true},    // an address: the networks holding it
		{"n", "10.1.3.4", false},   // inside the nomatch hole
		{"n", "10.0.0.0/8", true},  // a network: exactly it
		{"n", "10.0.0.0/9", false}, // not added as such
		{"n", "11.0.0.1", false},   // outside
		{"ip", "1.2.3.4,udp:53", true},
		{"ip", "1.2.3.4,tcp:53", false},
		{"ip", "1.2.3.4,81", true}, // tcp by default
		{"ip", "1.2.3.4,tcp:80-81", true},
		{"ip", "1.2.3.4,tcp:80-82", false},
	}
	for _, tt := range tests {
		got, err := ss.Test(tt.set, tt.elem)
		if err != nil || got != tt.want {
			t.Errorf("test %s %s = %v, %v; want %v", tt.set, tt.elem, got, err, tt.want)
		}
	}
}

func TestTimeoutsFollowTheClock(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	ss := &Sets{Clock: clk.Now}
	mustExec(t, ss, "create s hash:ip timeout 10", "add s 1.1.1.1", "add s 1.1.1.2 timeout 0", "add s 1.1.1.3 timeout 30")
	clk.t = clk.t.Add(11 * time.Second)
	for elem, want := range map[string]bool{"1.1.1.1": false, "1.1.1.2": true, "1.1.1.3": true} {
		if got, _ := ss.Test("s", elem); got != want {
			t.Errorf("after 11s, test %s = %v, want %v", elem, got, want)
		}
	}
	// An expired element may be added again without -exist.
	mustExec(t, ss, "add s 1.1.1.1")
	var b strings.Builder
	if err := ss.SaveSet(&b, "s"); err != nil {
		t.Fatal(err)
	}
	want := "create s hash:ip family inet hashsize 1024 maxelem 65536 timeout 10 bucketsize 12 initval 0x"
	if !strings.HasPrefix(b.String(), want) || !strings.Contains(b.String(), "add s 1.1.1.3 timeout 19\n") || !strings.Contains(b.String(), "add s 1.1.1.2 timeout 0\n") {
		t.Errorf("save:\n%s", b.String())
	}
}

func TestFullSetRefusesUnlessForceadd(t *testing.T) {
	ss := &Sets{}
	mustExec(t, ss, "create f hash:ip maxelem 2", "add f 1.1.1.1", "add f 1.1.1.2")
	if err := ss.Add("f", "1.1.1.3", Ext{}, false); !errors.Is(err, ErrFull) {
		t.Errorf("add to a full set: %v, want ErrFull", err)
	}
	mustExec(t, ss, "create g hash:ip maxelem 2 forceadd", "add g 1.1.1.1", "add g 1.1.1.2", "add g 1.1.1.3")
	if n := ss.Ref("g").Set().Len(); n != 2 {
		t.Errorf("forceadd set holds %d elements, want 2", n)
	}
	if ok, _ := ss.Test("g", "1.1.1.3"); !ok {
		t.Error("forceadd did not add the new element")
	}
}

func TestSwapRenameDestroy(t *testing.T) {
	ss := &Sets{}
	mustExec(t, ss, "create a hash:ip", "add a 1.1.1.1", "create b hash:ip", "add b 2.2.2.2", "create c hash:net")
	held, err := ss.LookupSet("a")
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.Swap("a", "c"); !errors.Is(err, ErrIncompatible) {
		t.Errorf("swap of different types: %v", err)
	}
	mustExec(t, ss, "swap a b")
	c := ipContext("2.2.2.2", "9.9.9.9")
	q := &filter.SetQuery{Dim: 1, Src: [filter.SetDims]bool{true}}
	if !held.Test(c, q) {
		t.Error("a rule holding a did not see b's elements after the swap")
	}
	if err := ss.Destroy("a"); !errors.Is(err, ErrInUse) {
		t.Errorf("destroy of a held set: %v", err)
	}
	mustExec(t, ss, "rename a z")
	if !held.Test(c, q) {
		t.Error("the rule lost its set with the rename")
	}
	held.Release()
	mustExec(t, ss, "destroy z")
	if ss.Ref("z") != nil {
		t.Error("z still exists")
	}
}

func ipContext(src, dst string) *filter.Context {
	b := testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Proto: "udp", SrcPort: 1000, DstPort: 53})
	p := &packet.Packet{}
	p.Decode(b)
	return &filter.Context{Packet: p, Now: time.Unix(1000, 0)}
}

func TestPacketLookupsDoNotAllocate(t *testing.T) {
	ss := &Sets{}
	mustExec(t, ss, "create n hash:net counters", "add n 10.0.0.0/8", "add n 10.1.0.0/16 nomatch",
		"create p hash:ip,port", "add p 10.1.2.3,udp:53",
		"create i hash:net,iface", "add i 10.0.0.0/8,et wildcard",
		"create l list:set", "add l p", "add l n")
	c := ipContext("10.1.2.3", "10.9.9.9")
	c.In = "eth0"
	for _, tc := range []struct {
		set string
		q   filter.SetQuery
	}{
		{"n", filter.SetQuery{Dim: 1, Src: [filter.SetDims]bool{true}, ReturnNomatch: true, Packets: filter.CounterTest{Op: filter.CounterGt, Value: 0}}},
		{"p", filter.SetQuery{Dim: 2, Src: [filter.SetDims]bool{true, false}}},
		{"i", filter.SetQuery{Dim: 2, Src: [filter.SetDims]bool{true, true}}},
		{"l", filter.SetQuery{Dim: 2, Src: [filter.SetDims]bool{true, false}}},
	} {
		s, err := ss.LookupSet(tc.set)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Test(c, &tc.q) {
			t.Errorf("%s: the packet does not match", tc.set)
		}
		if n := testing.AllocsPerRun(100, func() { s.Test(c, &tc.q) }); n != 0 {
			t.Errorf("%s: Test allocates %v times per packet", tc.set, n)
		}
	}
}

// FuzzRestore feeds restore files to the parser: it must refuse or take
// each without panicking, and what it took must save and restore again
// to the same save.
func FuzzRestore(f *testing.F) {
	f.Add(fidelityRestore)
	for _, bad := range badRestores {
		f.Add(bad)
	}
	f.Fuzz(func(t *testing.T, file string) {
		if len(file) > 4096 {
			return
		}
		ss := &Sets{Clock: func() time.Time { return time.Unix(1000, 0) }}
		ss.Restore(strings.NewReader(file), true)
		var a strings.Builder
		if err := ss.Save(&a); err != nil {
			t.Fatal(err)
		}
		again := &Sets{Clock: ss.Clock}
		if err := again.Restore(strings.NewReader(a.String()), false); err != nil {
			t.Fatalf("its own save does not restore: %v\n%s", err, a.String())
		}
		var b strings.Builder
		again.Save(&b)
		if a.String() != b.String() {
			t.Fatalf("save changed through a restore:\n%s\n----\n%s", a.String(), b.String())
		}
	})
}

// BenchmarkHashNetLookup looks a packet up in hash:net sets of 10 and of
// 1M networks of mixed prefix lengths: the cost is per prefix length
// the set holds, not per element.
func BenchmarkHashNetLookup(b *testing.B) {
	for _, n := range []int{10, 1_000_000} {
		b.Run(fmt.Sprintf("elements=%d", n), func(b *testing.B) {
			ss := &Sets{}
			if err := ss.Create("n", "hash:net", Options{MaxElem: uint32(n)}, false); err != nil {
				b.Fatal(err)
			}
			s := ss.Ref("n").Set()
			for i := range n {
				// /24s, /28s and /32s spread over 10.0.0.0/8 and beyond.
				cidr := []uint8{24, 28, 32}[i%3]
				var ip [16]byte
				ip[0], ip[1], ip[2], ip[3] = byte(10+i>>24), byte(i>>16), byte(i>>8), byte(i)
				e := &entry{k: key{ip: mask(ip, cidr), cidr: cidr}}
				if err := s.addEntry(e, true, 0); err != nil {
					b.Fatal(err)
				}
			}
			rs, _ := ss.LookupSet("n")
			c := ipContext("10.0.0.1", "192.0.2.1")
			q := &filter.SetQuery{Dim: 1, Src: [filter.SetDims]bool{true}}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				rs.Test(c, q)
			}
		})
	}
}

// TestSwapWhilePacketsFlow looks packets up from several goroutines
// while the sets are swapped, added to and deleted from: every lookup
// sees one set or the other, whole (run with -race).
func TestSwapWhilePacketsFlow(t *testing.T) {
	ss := &Sets{}
	mustExec(t, ss, "create live hash:net", "add live 10.0.0.0/8", "create next hash:net", "add next 10.0.0.0/8",
		"create l list:set", "add l live")
	held, err := ss.LookupSet("live")
	if err != nil {
		t.Fatal(err)
	}
	list, err := ss.LookupSet("l")
	if err != nil {
		t.Fatal(err)
	}
	q := &filter.SetQuery{Dim: 1, Src: [filter.SetDims]bool{true}}
	done := make(chan bool)
	for range 4 {
		go func() {
			c := ipContext("10.1.2.3", "192.0.2.1")
			missed := false
			for range 2000 {
				// 10.0.0.0/8 is in both sets at every moment.
				if !held.Test(c, q) || !list.Test(c, q) {
					missed = true
				}
			}
			done <- missed
		}()
	}
	for i := range 200 {
		mustExec(t, ss, "swap live next", fmt.Sprintf("add next 11.0.%d.0/24", i), fmt.Sprintf("del next 11.0.%d.0/24", i))
		if i%50 == 0 {
			mustExec(t, ss, "add l next", "del l next")
		}
	}
	for range 4 {
		if <-done {
			t.Error("a lookup missed an element both sets hold")
		}
	}
}
