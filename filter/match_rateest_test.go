package filter

import (
	"errors"
	"testing"
	"time"
)

// rateestBind binds x (a *RATEESTTarget or *RateestMatch) in objs.
func rateestBind[T any](t *testing.T, x interface {
	Bind(*Binding) (any, error)
}, objs *Objects) T {
	t.Helper()
	b, err := x.Bind(&Binding{objs: objs, family: 4})
	if err != nil {
		t.Fatal(err)
	}
	return b.(T)
}

// rateestFeed sends n packets a tick through tg for ticks ticks of the
// estimator's period, starting at start, and returns the time after.
func rateestFeed(t *testing.T, tg *RATEESTTarget, start time.Time, period time.Duration, ticks, n int) time.Time {
	t.Helper()
	c := matchCtx(mTCP4.decode(t))
	now := start
	for range ticks {
		for i := range n {
			c.Now = now.Add(time.Duration(i) * period / time.Duration(n+1))
			tg.Do(c)
		}
		now = now.Add(period)
	}
	return now
}

// TestRateEstimatorAveragesAsTheKernel: the estimator samples every
// 2^(interval+2)/4 s and moves its average by 2^-ewmalog of the gap each
// sample, in fixed point as gen_estimator does: from zero, a steady rate
// is approached by halving the gap (ewmalog 1) and then held exactly.
func TestRateEstimatorAveragesAsTheKernel(t *testing.T) {
	objs := &Objects{}
	tg := rateestBind[*RATEESTTarget](t, &RATEESTTarget{Estimator: "e", Interval: -2, EWMALog: 1}, objs)
	c := matchCtx(mTCP4.decode(t))
	wire := uint64(c.Packet.WireLength)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	period := 250 * time.Millisecond
	// The first packet starts the clock; 10 packets a period follow.
	c.Now = start
	tg.Do(c)
	est := tg.est
	if bps, pps := est.Rates(start); bps != 0 || pps != 0 {
		t.Fatalf("before the first sample: %d B/s %d pkt/s, want 0", bps, pps)
	}
	now := rateestFeed(t, tg, start, period, 1, 9)
	// One sample: 10 packets in 250 ms is 40/s; half of the gap from 0.
	if _, pps := est.Rates(now); pps != 20 {
		t.Errorf("after one sample: %d pkt/s, want 20", pps)
	}
	now = rateestFeed(t, tg, now, period, 40, 10)
	bps, pps := est.Rates(now)
	if pps != 40 || uint64(bps) != 40*wire {
		t.Errorf("steady: %d B/s %d pkt/s, want %d and 40", bps, pps, 40*wire)
	}
	// Silence: the average decays by half a sample, and long silence
	// (replayed lazily, without a packet) brings it to zero.
	if _, pps := est.Rates(now.Add(period)); pps != 20 {
		t.Errorf("one silent sample: %d pkt/s, want 20", pps)
	}
	if bps, pps := est.Rates(now.Add(time.Hour)); bps != 0 || pps != 0 {
		t.Errorf("an hour later: %d B/s %d pkt/s, want 0", bps, pps)
	}
}

// TestRateEstimatorIsSharedByName: RATEEST rules naming one estimator
// count into it, and one with another interval is refused (EINVAL).
func TestRateEstimatorIsSharedByName(t *testing.T) {
	objs := &Objects{}
	a := rateestBind[*RATEESTTarget](t, &RATEESTTarget{Estimator: "e", Interval: 0, EWMALog: 3}, objs)
	b := rateestBind[*RATEESTTarget](t, &RATEESTTarget{Estimator: "e", Interval: 0, EWMALog: 3}, objs)
	if a.est != b.est {
		t.Error("two rules naming the estimator got two estimators")
	}
	_, err := (&RATEESTTarget{Estimator: "e", Interval: 1, EWMALog: 3}).Bind(&Binding{objs: objs, family: 4})
	if !errors.Is(err, ErrRateEstParams) {
		t.Errorf("another interval: %v, want ErrRateEstParams", err)
	}
	if got := RateEstimators(objs); len(got) != 1 || got[0].Name() != "e" {
		t.Errorf("RateEstimators = %v, want the one estimator e", got)
	}
}

func TestRateestMatchComparesRates(t *testing.T) {
	objs := &Objects{}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	period := 250 * time.Millisecond
	fast := rateestBind[*RATEESTTarget](t, &RATEESTTarget{Estimator: "fast", Interval: -2, EWMALog: 1}, objs)
	slow := rateestBind[*RATEESTTarget](t, &RATEESTTarget{Estimator: "slow", Interval: -2, EWMALog: 1}, objs)
	c := matchCtx(mTCP4.decode(t))
	c.Now = start
	fast.Do(c)
	slow.Do(c)
	now := rateestFeed(t, fast, start, period, 40, 10) // 40 pkt/s
	rateestFeed(t, slow, start, period, 40, 2)         // 8 pkt/s
	c.Now = now
	tests := []struct {
		name string
		m    RateestMatch
		want bool
	}{
		{"above 30 pkt/s", RateestMatch{Est1: "fast", PPS: true, Mode: RateestGT, PPS2: 30}, true},
		{"above 40 pkt/s", RateestMatch{Est1: "fast", PPS: true, Mode: RateestGT, PPS2: 40}, false},
		{"equal to 40 pkt/s", RateestMatch{Est1: "fast", PPS: true, Mode: RateestEQ, PPS2: 40}, true},
		{"not below 40 pkt/s", RateestMatch{Est1: "fast", PPS: true, Mode: RateestLT, Invert: true, PPS2: 40}, true},
		{"fast above slow", RateestMatch{Est1: "fast", Est2: "slow", Relative: true, PPS: true, Mode: RateestGT}, true},
		{"slow above fast", RateestMatch{Est1: "slow", Est2: "fast", Relative: true, PPS: true, Mode: RateestGT}, false},
		// Delta: 50 - 40 = 10 left below 50 pkt/s, compared with 12.
		{"headroom below 12", RateestMatch{Est1: "fast", Delta: true, PPS: true, Mode: RateestLT, PPS1: 50, PPS2: 12}, true},
		{"headroom below 10", RateestMatch{Est1: "fast", Delta: true, PPS: true, Mode: RateestLT, PPS1: 50, PPS2: 10}, false},
		// A headroom that is used up is 0, not negative.
		{"no headroom", RateestMatch{Est1: "fast", Delta: true, PPS: true, Mode: RateestEQ, PPS1: 30, PPS2: 0}, true},
		// Both rates must hold.
		{"pps holds, bps does not", RateestMatch{Est1: "fast", PPS: true, BPS: true, Mode: RateestGT, PPS2: 30, BPS2: 1 << 30}, false},
	}
	for _, tt := range tests {
		if err := tt.m.CheckRule(nil, Site{}); err != nil {
			t.Fatalf("%s: CheckRule: %v", tt.name, err)
		}
		m := rateestBind[*RateestMatch](t, &tt.m, objs)
		if got := m.Match(c); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRateestMatchRefusesWhatTheKernelRefuses(t *testing.T) {
	objs := &Objects{}
	rateestBind[*RATEESTTarget](t, &RATEESTTarget{Estimator: "e", Interval: 0, EWMALog: 2}, objs)
	for _, tt := range []struct {
		name string
		m    RateestMatch
		want error
	}{
		{"no rate", RateestMatch{Est1: "e", Mode: RateestGT}, ErrRateestInvalid},
		{"no comparison", RateestMatch{Est1: "e", PPS: true}, ErrRateestInvalid},
	} {
		if err := tt.m.CheckRule(nil, Site{}); !errors.Is(err, tt.want) {
			t.Errorf("%s: CheckRule %v, want %v", tt.name, err, tt.want)
		}
	}
	for _, m := range []*RateestMatch{
		{Est1: "nope", PPS: true, Mode: RateestGT},
		{Est1: "e", Est2: "nope", Relative: true, PPS: true, Mode: RateestGT},
		{Est1: "e", Relative: true, PPS: true, Mode: RateestGT},
	} {
		if _, err := m.Bind(&Binding{objs: objs, family: 4}); !errors.Is(err, ErrRateestNoEst) {
			t.Errorf("%+v: Bind %v, want ErrRateestNoEst", m, err)
		}
	}
}
