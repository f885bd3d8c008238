package filter

import (
	"fmt"
	"testing"
	"time"
)

// hashlimitRun sends packets from the given sources at the given offsets
// and reports which matched.
func hashlimitRun(t *testing.T, m *HashlimitMatch, srcs []string, offsets []time.Duration) []bool {
	t.Helper()
	start := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	got := make([]bool, len(srcs))
	for i, src := range srcs {
		c := matchCtx(matchPkt{src: src, dst: "10.0.0.2", proto: 17, sport: 1000, dport: 53}.decode(t))
		c.Now = start.Add(offsets[i])
		got[i] = m.Match(c)
	}
	return got
}

// newHashlimit returns an unbound match; bound binds it to its own table.
func newHashlimit(mode HashlimitMode, perSec, burst uint64) *HashlimitMatch {
	return &HashlimitMatch{TableName: "test", Mode: mode, Avg: HashlimitScale / perSec, Burst: burst,
		GCInterval: 1000, Expire: 1000, SrcMask: 32, DstMask: 32}
}

// bound binds m to its table in objs (a fresh Objects if nil), as
// Compile does.
func bound(t *testing.T, m *HashlimitMatch, objs *Objects) *HashlimitMatch {
	t.Helper()
	if objs == nil {
		objs = &Objects{}
	}
	x, err := m.Bind(&Binding{objs: objs, family: 4})
	if err != nil {
		t.Fatal(err)
	}
	return x.(*HashlimitMatch)
}

func TestHashlimitKeepsOneBucketPerFlow(t *testing.T) {
	m := bound(t, newHashlimit(HashSrcIP, 1, 2), nil)
	srcs := []string{"10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.3", "10.0.0.3", "10.0.0.3"}
	got := hashlimitRun(t, m, srcs, make([]time.Duration, len(srcs)))
	want := []bool{true, true, false, true, true, false}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("packet %d from %s: got %v, want %v", i, srcs[i], got[i], want[i])
		}
	}
}

func TestHashlimitSourceMaskGroupsAddresses(t *testing.T) {
	m := newHashlimit(HashSrcIP, 1, 1)
	m.SrcMask = 24
	m = bound(t, m, nil)
	got := hashlimitRun(t, m, []string{"10.0.0.1", "10.0.0.200"}, []time.Duration{0, 0})
	if !got[0] || got[1] {
		t.Errorf("got %v, want the /24 to share one bucket", got)
	}
}

func TestHashlimitAboveMatchesOverTheLimit(t *testing.T) {
	m := bound(t, newHashlimit(HashSrcIP|HashlimitAbove, 1, 1), nil)
	got := hashlimitRun(t, m, []string{"10.0.0.1", "10.0.0.1", "10.0.0.1"}, []time.Duration{0, 0, time.Second})
	want := []bool{false, true, false}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("packet %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

func TestHashlimitRefillsAndExpires(t *testing.T) {
	m := newHashlimit(HashSrcIP, 2, 1) // 2/sec, burst 1
	m.Expire = 10000
	m = bound(t, m, nil)
	offsets := []time.Duration{0, 100 * time.Millisecond, 500 * time.Millisecond, 600 * time.Millisecond, time.Minute}
	got := hashlimitRun(t, m, []string{"10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.1"}, offsets)
	want := []bool{true, false, true, false, true}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("packet at %v: got %v, want %v", offsets[i], got[i], want[i])
		}
	}
	if n := len(m.table.entries); n != 1 {
		t.Errorf("%d entries, want 1", n)
	}
}

func TestHashlimitFullTableDropsNewFlows(t *testing.T) {
	m := newHashlimit(HashSrcIP, 1, 5)
	m.Size, m.Max = 2, 2
	m.Expire = 60000
	m = bound(t, m, nil)
	start := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	for i, tc := range []struct {
		src            string
		match, hotdrop bool
	}{{"10.0.0.1", true, false}, {"10.0.0.2", true, false}, {"10.0.0.3", false, true}, {"10.0.0.1", true, false}} {
		c := matchCtx(matchPkt{src: tc.src, dst: "10.0.0.2", proto: 17, sport: 1000, dport: 53}.decode(t))
		c.Now = start
		if got := m.Match(c); got != tc.match || c.HotDrop != tc.hotdrop {
			t.Errorf("packet %d from %s: match %v hotdrop %v, want %v %v (dsthash_alloc_init: max count reached)", i, tc.src, got, c.HotDrop, tc.match, tc.hotdrop)
		}
	}
}

// Rules naming the same table share its flows, with the first rule's
// rate; another name is another table.
func TestHashlimitRulesShareATableByName(t *testing.T) {
	objs := &Objects{}
	first := bound(t, newHashlimit(HashSrcIP, 1, 2), objs)
	second := bound(t, newHashlimit(HashSrcIP, 1, 100), objs) // same name: the first's burst holds
	other := newHashlimit(HashSrcIP, 1, 2)
	other.TableName = "other"
	other = bound(t, other, objs)
	if objs.Len() != 2 {
		t.Fatalf("%d tables, want 2", objs.Len())
	}
	run := func(m *HashlimitMatch) bool { return hashlimitRun(t, m, []string{"10.0.0.1"}, []time.Duration{0})[0] }
	got := []bool{run(first), run(second), run(second), run(other)}
	if want := []bool{true, true, false, true}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v: the second rule shares the first's bucket of 2", got, want)
	}
}

func TestHashlimitCheckRuleRefusesOverflowingBursts(t *testing.T) {
	tests := []struct {
		name  string
		avg   uint64
		burst uint64
		ok    bool
	}{
		{"1/day burst 1", 86400 * HashlimitScale, 1, true},
		{"1/day burst 2", 86400 * HashlimitScale, 2, false},
		{"2/day burst 5 wraps past the check", 86400 * HashlimitScale / 2, 5, true},
		{"1/hour burst 37", 3600 * HashlimitScale, 37, true},
		{"1/hour burst 38", 3600 * HashlimitScale, 38, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &HashlimitMatch{Avg: tt.avg, Burst: tt.burst, GCInterval: 1000, Expire: 1000}
			if err := m.CheckRule(nil, Site{Table: Filter}); (err == nil) != tt.ok {
				t.Errorf("CheckRule = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestHashlimitKnownFlowDoesNotAllocate(t *testing.T) {
	m := bound(t, newHashlimit(HashSrcIP|HashDstPort, 1000, 1000), nil)
	c := matchCtx(mUDP4.decode(t))
	m.Match(c)
	if n := testing.AllocsPerRun(100, func() { m.Match(c) }); n != 0 {
		t.Errorf("Match allocates %v times for a known flow", n)
	}
}

// TestHashlimitByteRate is --hashlimit-upto 1kb/s --hashlimit-burst 2kb
// (Avg the cost of 16 bytes at 1024 B/s, Burst 2 refills, as iptables
// stores them) on 300-byte packets: a full bucket takes 3 of them, and
// the burst refills it twice at once, so 9 pass; a second later the
// bucket is full again (it refills in a second whatever the rate), and 3
// more pass.
func TestHashlimitByteRate(t *testing.T) {
	m := &HashlimitMatch{TableName: "bytes", Mode: HashlimitBytes, Avg: 0xFFFFFFFF / (1024/16 + 1), Burst: 2,
		GCInterval: 1000, Expire: 60000, SrcMask: 32, DstMask: 32}
	if err := m.CheckRule(nil, Site{}); err != nil {
		t.Fatal(err)
	}
	m = bound(t, m, nil)
	start := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	run := func(at time.Duration, n int) int {
		passed := 0
		for range n {
			c := matchCtx(matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 17, sport: 1, dport: 2, payload: 272}.decode(t))
			c.Now = start.Add(at)
			if m.Match(c) {
				passed++
			}
		}
		return passed
	}
	if got := run(0, 12); got != 9 {
		t.Errorf("at 0 s: %d of 12 passed, want 9", got)
	}
	if got := run(time.Second, 6); got != 3 {
		t.Errorf("at 1 s: %d of 6 passed, want 3", got)
	}
}

// With --hashlimit-rate-match a flow matches while its count in the
// current window stays within rate+burst and the window before was not
// over the rate (rateinfo_recalc and hashlimit_mt_common, revision 3).
func TestHashlimitRateMatchCountsWindows(t *testing.T) {
	m := newHashlimit(HashSrcIP|HashlimitRateMatch, 2, 1) // 2/sec, burst 1: 3 a window
	m.Interval, m.Expire = 1, 10000
	m = bound(t, m, nil)
	ms := time.Millisecond
	offsets := []time.Duration{0, 100 * ms, 200 * ms, 300 * ms, 1200 * ms, 2500 * ms, 2600 * ms}
	src := make([]string, len(offsets))
	for i := range src {
		src[i] = "10.0.0.1"
	}
	got := hashlimitRun(t, m, src, offsets)
	// The 4th packet overflows the first window; 4 packets in 1.2 s are
	// over 2/sec, so the whole second window is over the limit; the third
	// window follows one packet in 1.3 s and is under it again.
	want := []bool{true, true, true, false, false, true, true}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("packet at %v: got %v, want %v", offsets[i], got[i], want[i])
		}
	}
}

func TestHashlimitRateMatchRefusesAZeroInterval(t *testing.T) {
	m := newHashlimit(HashSrcIP|HashlimitRateMatch, 2, 1)
	if err := m.CheckRule(nil, Site{}); err == nil {
		t.Error("rate-match with interval 0: CheckRule accepted it, the kernel refuses it (EINVAL)")
	}
}
