package filter

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// RateEstimator is one named rate estimator of -j RATEEST
// (xt_RATEEST.c with net/core/gen_estimator.c): the bytes and packets
// the RATEEST rules naming it have seen, and their exponentially
// weighted moving averages, sampled every 2^(Interval+2)/4 seconds and
// weighted by 2^-EWMALog. Estimators are shared by both families and kept
// across rulesets while a rule names them. mu guards the counters and
// averages.
//
// The kernel samples from a timer; nfgo samples when a packet reaches a
// RATEEST rule or a rateest match reads the estimator, replaying the
// ticks that have passed since the last one. No packet arrives between
// two such moments, so every tick sees the counters it would have seen.
type RateEstimator struct {
	name     string
	interval int8  // -2..3: the sampling period is 2^(interval+2)/4 s
	ewmaLog  uint8 // the averaging weight is 2^-ewmaLog

	mu          sync.Mutex
	started     bool
	next        time.Time // the next tick
	bytes, pkts uint64
	lastBytes   uint64
	lastPkts    uint64
	avbps       uint64 // bytes a second, times 256
	avpps       uint64 // packets a second, times 256
}

// rateestMaxCatchUp bounds the ticks replayed at once; past it the
// averages have long settled.
const rateestMaxCatchUp = 1 << 16

// period is the sampling period.
func (e *RateEstimator) period() time.Duration {
	return (time.Second << (e.interval + 2)) / 4
}

// advance replays the ticks due by now (est_timer). e.mu must be held.
func (e *RateEstimator) advance(now time.Time) {
	if !e.started {
		e.started, e.next = true, now.Add(e.period())
		return
	}
	log := uint(e.interval + 2)
	for n := 0; !now.Before(e.next) && n < rateestMaxCatchUp; n++ {
		brate := (e.bytes - e.lastBytes) << (10 - log)
		brate = (brate >> e.ewmaLog) - (e.avbps >> e.ewmaLog)
		prate := (e.pkts - e.lastPkts) << (10 - log)
		prate = (prate >> e.ewmaLog) - (e.avpps >> e.ewmaLog)
		e.avbps += brate
		e.avpps += prate
		e.lastBytes, e.lastPkts = e.bytes, e.pkts
		e.next = e.next.Add(e.period())
		if brate == 0 && prate == 0 {
			// Settled: further ticks without traffic change nothing.
			for !now.Before(e.next) {
				e.next = e.next.Add(e.period())
			}
		}
	}
	if !now.Before(e.next) {
		e.next = now.Add(e.period())
	}
}

// Rates returns the estimated bytes and packets a second at now
// (gen_estimator_read).
func (e *RateEstimator) Rates(now time.Time) (bps, pps uint32) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance(now)
	return uint32(e.avbps >> 8), uint32(e.avpps >> 8)
}

// Name returns the estimator's name.
func (e *RateEstimator) Name() string { return e.name }

// RateEstimators returns o's estimators.
func RateEstimators(o *Objects) []*RateEstimator {
	var es []*RateEstimator
	Each(o, "rateest", func(_ ObjectKey, e *RateEstimator) { es = append(es, e) })
	return es
}

// RATEESTTarget is -j RATEEST (xt_RATEEST.c): it counts the packet in the
// estimator named Estimator and continues. The first rule naming an estimator makes
// it; a rule naming it with another interval or weight is refused, as the
// kernel refuses it (EINVAL).
type RATEESTTarget struct {
	// Estimator is --rateest-name.
	Estimator string
	// Interval is the sampling period's exponent, -2 (250 ms) to 3 (8 s).
	Interval int8
	// EWMALog is the averaging weight's exponent, 1 to 30.
	EWMALog uint8

	est *RateEstimator
}

// Name returns "RATEEST".
func (*RATEESTTarget) Name() string { return "RATEEST" }

// ErrRateEstParams is Bind's error for an estimator that exists with
// other parameters, and CheckRule's for parameters out of range.
var ErrRateEstParams = errors.New("RATEEST: invalid argument")

// CheckRule refuses what gen_new_estimator refuses.
func (t *RATEESTTarget) CheckRule(_ *Rule, _ Site) error {
	if t.Interval < -2 || t.Interval > 3 || t.EWMALog == 0 || t.EWMALog > 31 || t.Estimator == "" {
		return ErrRateEstParams
	}
	return nil
}

// Bind finds or makes the estimator.
func (t *RATEESTTarget) Bind(b *Binding) (any, error) {
	est := BindSharedObject(b, "rateest", t.Estimator, func() *RateEstimator {
		return &RateEstimator{name: t.Estimator, interval: t.Interval, ewmaLog: t.EWMALog}
	})
	if est.interval != t.Interval || est.ewmaLog != t.EWMALog {
		return nil, fmt.Errorf("%w: estimator %q exists with another interval or ewmalog", ErrRateEstParams, t.Estimator)
	}
	bound := *t
	bound.est = est
	return &bound, nil
}

// Do counts the packet and continues.
func (t *RATEESTTarget) Do(c *Context) Verdict {
	if e := t.est; e != nil {
		e.mu.Lock()
		e.advance(c.Now)
		e.bytes += uint64(c.Packet.WireLength)
		e.pkts++
		e.mu.Unlock()
	}
	return Verdict{Action: Continue}
}

// RateestMode is -m rateest's comparison (XT_RATEEST_MATCH_*).
type RateestMode uint8

// The comparisons.
const (
	RateestNone RateestMode = iota
	RateestEQ
	RateestLT
	RateestGT
)

// RateestMatch is -m rateest (xt_rateest.c): it compares the rate of
// estimator Est1 with fixed rates (absolute mode) or with the rate of
// Est2 (relative mode), in bytes a second (BPS) and/or packets
// a second (PPS); every comparison asked for must hold. With Delta the
// first rate is BPS1/PPS1 minus the estimate (0 when the estimate is
// higher), and in relative mode the second is BPS2/PPS2 minus Est2's.
// The estimators must exist when the rule is loaded (ENOENT).
type RateestMatch struct {
	// Est1 and Est2 are the estimators' names (--rateest1, --rateest2).
	Est1, Est2 string
	// Relative compares with Est2's rate (XT_RATEEST_MATCH_REL), not
	// with BPS2 and PPS2.
	Relative bool
	// Mode is the comparison, and Invert its "!".
	Mode   RateestMode
	Invert bool
	// Delta subtracts the estimates from BPS1/PPS1 (and in relative
	// mode Est2's from BPS2/PPS2) before comparing.
	Delta bool
	// BPS and PPS say which rates are compared: bytes a second and
	// packets a second.
	BPS, PPS bool
	// BPS1, BPS2, PPS1 and PPS2 are the rates given, in bytes and
	// packets a second.
	BPS1, BPS2 uint32
	PPS1, PPS2 uint32

	est1, est2 *RateEstimator
}

// Name returns "rateest".
func (*RateestMatch) Name() string { return "rateest" }

// Errors of CheckRule and Bind.
var (
	ErrRateestInvalid = errors.New("rateest: needs --rateest-bps or --rateest-pps and one of --rateest-lt, --rateest-gt and --rateest-eq")
	ErrRateestNoEst   = errors.New("rateest: no such estimator (no RATEEST rule made it)")
)

// CheckRule refuses what xt_rateest_mt_checkentry refuses before looking
// up the estimators.
func (m *RateestMatch) CheckRule(_ *Rule, _ Site) error {
	if !m.BPS && !m.PPS || m.Mode == RateestNone || m.Mode > RateestGT {
		return ErrRateestInvalid
	}
	return nil
}

// Bind finds the estimators.
func (m *RateestMatch) Bind(b *Binding) (any, error) {
	find := func(name string) (*RateEstimator, error) {
		if _, ok := Lookup[*RateEstimator](b.objs, ObjectKey{Kind: "rateest", Name: name}); !ok {
			return nil, fmt.Errorf("%w: %q", ErrRateestNoEst, name)
		}
		e := BindSharedObject(b, "rateest", name, func() *RateEstimator { return nil })
		if e == nil {
			return nil, fmt.Errorf("%w: %q", ErrRateestNoEst, name)
		}
		return e, nil
	}
	bound := *m
	var err error
	if bound.est1, err = find(m.Est1); err != nil {
		return nil, err
	}
	if m.Relative {
		if bound.est2, err = find(m.Est2); err != nil {
			return nil, err
		}
	}
	return &bound, nil
}

// Match compares the rates.
func (m *RateestMatch) Match(c *Context) bool {
	if m.est1 == nil {
		return false
	}
	sub := func(a, b uint32) uint32 {
		if a >= b {
			return a - b
		}
		return 0
	}
	bps1, pps1 := m.est1.Rates(c.Now)
	if m.Delta {
		bps1, pps1 = sub(m.BPS1, bps1), sub(m.PPS1, pps1)
	}
	bps2, pps2 := m.BPS2, m.PPS2
	if m.est2 != nil {
		bps2, pps2 = m.est2.Rates(c.Now)
		if m.Delta {
			bps2, pps2 = sub(m.BPS2, bps2), sub(m.PPS2, pps2)
		}
	}
	cmp := func(a, b uint32) bool {
		switch m.Mode {
		case RateestLT:
			return a < b
		case RateestGT:
			return a > b
		}
		return a == b
	}
	ok := true
	if m.BPS {
		ok = ok && cmp(bps1, bps2)
	}
	if m.PPS {
		ok = ok && cmp(pps1, pps2)
	}
	return ok != m.Invert
}
