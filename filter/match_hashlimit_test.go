package filter

import (
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

func newHashlimit(mode HashlimitMode, perSec, burst uint64) *HashlimitMatch {
	return &HashlimitMatch{Mode: mode, Avg: HashlimitScale / perSec, Burst: burst,
		GCInterval: 1000, Expire: 1000, SrcMask: 32, DstMask: 32}
}

func TestHashlimitKeepsOneBucketPerFlow(t *testing.T) {
	m := newHashlimit(HashSrcIP, 1, 2)
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
	got := hashlimitRun(t, m, []string{"10.0.0.1", "10.0.0.200"}, []time.Duration{0, 0})
	if !got[0] || got[1] {
		t.Errorf("got %v, want the /24 to share one bucket", got)
	}
}

func TestHashlimitAboveMatchesOverTheLimit(t *testing.T) {
	m := newHashlimit(HashSrcIP|HashlimitAbove, 1, 1)
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
	offsets := []time.Duration{0, 100 * time.Millisecond, 500 * time.Millisecond, 600 * time.Millisecond, time.Minute}
	got := hashlimitRun(t, m, []string{"10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.1"}, offsets)
	want := []bool{true, false, true, false, true}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("packet at %v: got %v, want %v", offsets[i], got[i], want[i])
		}
	}
	if n := len(m.entries); n != 1 {
		t.Errorf("%d entries, want 1", n)
	}
}

func TestHashlimitFullTableRefusesNewFlows(t *testing.T) {
	m := newHashlimit(HashSrcIP, 1, 5)
	m.Size, m.Max = 2, 2
	m.Expire = 60000
	got := hashlimitRun(t, m, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1"}, make([]time.Duration, 4))
	want := []bool{true, true, false, true}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("packet %d: got %v, want %v", i, got[i], want[i])
		}
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
	m := newHashlimit(HashSrcIP|HashDstPort, 1000, 1000)
	c := matchCtx(mUDP4.decode(t))
	m.Match(c)
	if n := testing.AllocsPerRun(100, func() { m.Match(c) }); n != 0 {
		t.Errorf("Match allocates %v times for a known flow", n)
	}
}
