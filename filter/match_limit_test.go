package filter

import (
	"sync"
	"testing"
	"time"
)

// limitRun sends packets at the given offsets from start through a fresh
// LimitMatch and reports which matched.
func limitRun(t *testing.T, m *LimitMatch, offsets []time.Duration) []bool {
	t.Helper()
	c := matchCtx(mUDP4.decode(t))
	start := c.Now
	got := make([]bool, len(offsets))
	for i, off := range offsets {
		c.Now = start.Add(off)
		got[i] = m.Match(c)
	}
	return got
}

func TestLimitLetsTheBurstThroughThenDrops(t *testing.T) {
	m := &LimitMatch{Avg: LimitScale, Burst: 3} // 1/sec, burst 3
	got := limitRun(t, m, []time.Duration{0, 0, 0, 0, 0})
	want := []bool{true, true, true, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("packet %d: got %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestLimitRefillsAfterInterval(t *testing.T) {
	m := &LimitMatch{Avg: LimitScale, Burst: 1} // 1/sec, burst 1
	offsets := []time.Duration{0, 500 * time.Millisecond, 999 * time.Millisecond, 1000 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second}
	want := []bool{true, false, false, true, false, true}
	got := limitRun(t, m, offsets)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("packet at %v: got %v, want %v", offsets[i], got[i], want[i])
		}
	}
}

func TestLimitLongPauseRefillsOnlyToBurst(t *testing.T) {
	m := &LimitMatch{Avg: LimitScale * 60, Burst: 2} // 1/min, burst 2
	offsets := []time.Duration{0, 0, 72 * time.Hour, 72 * time.Hour, 72 * time.Hour}
	want := []bool{true, true, true, true, false}
	got := limitRun(t, m, offsets)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("packet %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

func TestLimitIsSafeForConcurrentUse(t *testing.T) {
	m := &LimitMatch{Avg: LimitScale, Burst: 100}
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for range 4 {
		wg.Go(func() {
			c := matchCtx(mUDP4.decode(t))
			for range 100 {
				if m.Match(c) {
					mu.Lock()
					n++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if n != 100 {
		t.Errorf("%d packets passed at one instant, want the burst of 100", n)
	}
}

func TestStatisticNthMatchesEveryNth(t *testing.T) {
	tests := []struct {
		name          string
		every, packet uint32
		invert        bool
		want          string
	}{
		// The kernel matches the (p+1)th packet, then every nth.
		{"every 3 packet 0", 3, 0, false, "x..x..x.."},
		{"every 3 packet 2", 3, 2, false, "..x..x..x"},
		{"every 2 packet 0", 2, 0, false, "x.x.x.x.x"},
		{"every 2 packet 1, inverted", 2, 1, true, "x.x.x.x.x"},
		{"every 1", 1, 0, false, "xxxxxxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &StatisticMatch{Mode: StatisticNth, Every: tt.every, Packet: tt.packet, Invert: tt.invert}
			c := matchCtx(mUDP4.decode(t))
			got := ""
			for range len(tt.want) {
				if m.Match(c) {
					got += "x"
				} else {
					got += "."
				}
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestStatisticRandomExtremes(t *testing.T) {
	c := matchCtx(mUDP4.decode(t))
	always := &StatisticMatch{Probability: 0x80000000}
	never := &StatisticMatch{Probability: 0}
	for range 1000 {
		if !always.Match(c) || never.Match(c) {
			t.Fatal("probability 1 must always match and 0 never")
		}
	}
	half := &StatisticMatch{Probability: 0x40000000}
	n := 0
	for range 10000 {
		if half.Match(c) {
			n++
		}
	}
	if n < 4500 || n > 5500 {
		t.Errorf("probability 0.5 matched %d of 10000", n)
	}
}
