//lint:file-ignore ST1005 the messages are libxt_rateest's and libxt_RATEEST's own, word for word

package iptables

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -j RATEEST (libxt_RATEEST.c): --rateest-name, --rateest-interval and
// --rateest-ewmalog, all three mandatory. The times are iproute's: a
// number with s, sec, secs, ms, msec, msecs, us, usec or usecs (any
// case), microseconds without. The interval is rounded up to one of
// 250 ms × 2^k, k = 0…5; the averaging time becomes the weight
// 1 - 2^-e with e the last whose time constant (interval / -ln w) is
// not above it. iptables-save prints both back as the kernel keeps
// them: the rounded interval, and the interval × 2^e.
func init() {
	register(&extension{
		name: "RATEEST", target: true,
		parser: func(*ruleContext) extParser { return &rateestTargetParser{} },
		save: func(w *saver, x any) {
			t := x.(*filter.RATEESTTarget)
			interval := uint32(1e6<<uint(t.Interval+2)) / 4
			w.opt(false, "rateest-name", quote(t.Estimator))
			w.opt(false, "rateest-interval", rateestTime(interval))
			w.opt(false, "rateest-ewmalog", rateestTime(interval*(1<<t.EWMALog)))
		},
		owns: ownedBy[filter.RATEESTTarget](),
	})
	register(&extension{
		name:   "rateest",
		parser: func(*ruleContext) extParser { return &rateestMatchParser{} },
		save:   func(w *saver, x any) { saveRateest(w, x.(*filter.RateestMatch)) },
		owns:   ownedBy[filter.RateestMatch](),
	})
}

// rateestNameMax is the estimator name's room: IFNAMSIZ less the NUL.
// iptables cuts a longer name short without a word.
const rateestNameMax = 15

func rateestName(s string) string {
	if len(s) > rateestNameMax {
		return s[:rateestNameMax]
	}
	return s
}

type rateestTargetParser struct {
	x               filter.RATEESTTarget
	seen            [3]bool
	interval, ewmal uint32 // microseconds, as given
}

func (p *rateestTargetParser) option(name string, invert bool, a *args) error {
	opts := [...]string{"rateest-name", "rateest-interval", "rateest-ewmalog"}
	i := 0
	for i < len(opts) && opts[i] != name {
		i++
	}
	if i == len(opts) {
		return errNotMine
	}
	if p.seen[i] {
		return onceErr("RATEEST", name)
	}
	if invert {
		return noInvertErr("RATEEST", name)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	p.seen[i] = true
	switch i {
	case 0:
		p.x.Estimator = rateestName(v)
	case 1:
		t, ok := rateestParseTime(v)
		if !ok {
			return fmt.Errorf("%w: RATEEST: bad interval value \"%s\"", ErrBadArgument, v)
		}
		p.interval = t
	case 2:
		t, ok := rateestParseTime(v)
		if !ok {
			return fmt.Errorf("%w: RATEEST: bad ewmalog value \"%s\"", ErrBadArgument, v)
		}
		p.ewmal = t
	}
	return nil
}

// done is RATEEST_final_check: the interval's exponent and the weight's.
func (p *rateestTargetParser) done() (any, error) {
	for i, name := range [...]string{"rateest-name", "rateest-interval", "rateest-ewmalog"} {
		if !p.seen[i] {
			return nil, mustErr("RATEEST", name)
		}
	}
	k := 0
	for k <= 5 && p.interval > uint32(1<<k)*250000 {
		k++
	}
	if k > 5 {
		return nil, fmt.Errorf("%w: RATEEST: interval value is too large", ErrBadArgument)
	}
	p.x.Interval = int8(k - 2)
	e := 1
	for ; e < 32; e++ {
		// 1 << 31 is C's INT_MIN: w is then above 1 and the loop runs out.
		scale := float64(int32(uint32(1) << e))
		w := 1 - 1/scale
		if float64(p.interval)/-math.Log(w) > float64(p.ewmal) {
			break
		}
	}
	e--
	if e == 0 || e >= 31 {
		return nil, fmt.Errorf("%w: RATEEST: ewmalog value is out of range", ErrBadArgument)
	}
	p.x.EWMALog = uint8(e)
	return &p.x, nil
}

// rateestParseTime is RATEEST_get_time: a time in microseconds.
func rateestParseTime(s string) (uint32, bool) {
	t, rest, ok := cStrtod(s)
	if !ok {
		return 0, false
	}
	switch strings.ToLower(rest) {
	case "":
	case "s", "sec", "secs":
		t *= 1e6
	case "ms", "msec", "msecs":
		t *= 1e3
	case "us", "usec", "usecs":
	default:
		return 0, false
	}
	return cDoubleToUint32(t), true
}

// rateestTime is RATEEST_print_time.
func rateestTime(us uint32) string {
	t := float64(us)
	switch {
	case t >= 1e6:
		return strconv.FormatFloat(t/1e6, 'f', 1, 64) + "s"
	case t >= 1e3:
		return strconv.FormatFloat(t/1e3, 'f', 1, 64) + "ms"
	}
	return strconv.FormatUint(uint64(us), 10) + "us"
}

// cDoubleToUint32 converts as C's (unsigned int) cast does on x86-64:
// through a 64-bit integer, keeping the low 32 bits (a value out of
// range is undefined in C; this is what iptables' build does with it).
func cDoubleToUint32(f float64) uint32 {
	if math.IsNaN(f) || f >= 1<<63 || f < -(1<<63) {
		return 0
	}
	return uint32(int64(f))
}

// -m rateest (libxt_rateest.c), parsed as its old-style parser does:
// --rateest1 NAME (or --rateest NAME) and --rateest2 NAME (relative
// mode); --rateest-bps1, --rateest-pps1, --rateest-bps2 and
// --rateest-pps2 (--rateest-bps and --rateest-pps are the last two),
// each with an optional rate, taken when the next word starts with
// neither '-' nor '!'; --rateest-delta; and [!] --rateest-lt, -gt or
// -eq, the last one given deciding. A rate in bits or bytes a second
// takes iproute's suffixes (bit, kbit, Kibit, … TBps, any case; none
// is bytes) and is kept in bytes a second.
type rateestMatchParser struct {
	x    filter.RateestMatch
	seen uint16
}

// The old-style parser's option numbers, for its "twice" checks.
const (
	rateestOpt1 = iota
	rateestOpt2
	rateestOptBPS1
	rateestOptPPS1
	rateestOptBPS2
	rateestOptPPS2
	rateestOptDelta
	rateestOptLT
	rateestOptGT
	rateestOptEQ
)

var rateestOptions = map[string]int{
	"rateest1": rateestOpt1, "rateest": rateestOpt1, "rateest2": rateestOpt2,
	"rateest-bps1": rateestOptBPS1, "rateest-pps1": rateestOptPPS1,
	"rateest-bps2": rateestOptBPS2, "rateest-pps2": rateestOptPPS2,
	"rateest-bps": rateestOptBPS2, "rateest-pps": rateestOptPPS2,
	"rateest-delta": rateestOptDelta,
	"rateest-lt":    rateestOptLT, "rateest-gt": rateestOptGT, "rateest-eq": rateestOptEQ,
}

// rateestCanonical is the name the "twice" message gives each option.
var rateestCanonical = [...]string{"rateest1", "rateest2", "rateest-bps1", "rateest-pps1", "rateest-bps2", "rateest-pps2", "rateest-delta"}

func (p *rateestMatchParser) option(name string, invert bool, a *args) error {
	opt, ok := rateestOptions[name]
	if !ok {
		return errNotMine
	}
	x := &p.x
	if opt < rateestOptLT {
		if invert {
			what := [...]string{"rateest", "rateest", "rateest-bps", "rateest-pps", "rateest-bps", "rateest-pps", "rateest-delta"}[opt]
			return fmt.Errorf("%w: rateest: %s can't be inverted", ErrSyntax, what)
		}
		if p.seen&(1<<opt) != 0 {
			return fmt.Errorf("%w: rateest: can't specify --%s twice", ErrSyntax, rateestCanonical[opt])
		}
	} else if p.seen&(1<<opt) != 0 {
		return fmt.Errorf("%w: rateest: can't specify lt/gt/eq twice", ErrSyntax)
	}
	p.seen |= 1 << opt
	// optional is the rate an option may take: the next word, unless
	// there is none or it starts with '-' or '!'.
	optional := func() (string, bool) {
		w := a.peek()
		if a.i >= len(a.words) || strings.HasPrefix(w, "-") || strings.HasPrefix(w, "!") {
			return "", false
		}
		a.next()
		return w, true
	}
	switch opt {
	case rateestOpt1, rateestOpt2:
		v, verr := a.value(name)
		if verr != nil {
			return verr
		}
		if opt == rateestOpt1 {
			x.Est1 = rateestName(v)
		} else {
			x.Est2 = rateestName(v)
			x.Relative = true
		}
	case rateestOptBPS1, rateestOptBPS2:
		x.BPS = true
		if w, ok := optional(); ok {
			r, rok := rateestParseRate(w)
			if !rok {
				return fmt.Errorf("%w: rateest: could not parse rate `%s'", ErrBadArgument, w)
			}
			if opt == rateestOptBPS1 {
				x.BPS1 = r
			} else {
				x.BPS2 = r
			}
		}
	case rateestOptPPS1, rateestOptPPS2:
		x.PPS = true
		if w, ok := optional(); ok {
			v, vok := strtoui(w, 0, math.MaxUint32)
			if !vok {
				return fmt.Errorf("%w: rateest: could not parse pps `%s'", ErrBadArgument, w)
			}
			if opt == rateestOptPPS1 {
				x.PPS1 = uint32(v)
			} else {
				x.PPS2 = uint32(v)
			}
		}
	case rateestOptDelta:
		x.Delta = true
	case rateestOptLT, rateestOptGT, rateestOptEQ:
		x.Mode = [...]filter.RateestMode{filter.RateestLT, filter.RateestGT, filter.RateestEQ}[opt-rateestOptLT]
		if invert {
			x.Invert = true
		}
	}
	return nil
}

// done accepts what the old-style parser accepts; the kernel's checks
// (a rate and a comparison) are the match's CheckRule.
func (p *rateestMatchParser) done() (any, error) { return &p.x, nil }

// rateestSuffixes are iproute's rate units, in bits a second, in the
// order libxt_rateest tries them.
var rateestSuffixes = []struct {
	name  string
	scale float64
}{
	{"bit", 1}, {"Kibit", 1024}, {"kbit", 1000}, {"Mibit", 1 << 20}, {"mbit", 1e6},
	{"Gibit", 1 << 30}, {"gbit", 1e9}, {"Tibit", 1 << 40}, {"tbit", 1e12},
	{"Bps", 8}, {"KiBps", 8 * 1024}, {"KBps", 8000}, {"MiBps", 8 << 20}, {"MBps", 8e6},
	{"GiBps", 8 << 30}, {"GBps", 8e9}, {"TiBps", 8 << 40}, {"TBps", 8e12},
}

// rateestParseRate is rateest_get_rate: a rate in bytes a second.
func rateestParseRate(s string) (uint32, bool) {
	v, rest, ok := cStrtod(s)
	if !ok {
		return 0, false
	}
	if rest == "" {
		return cDoubleToUint32(v / 8), true
	}
	for _, u := range rateestSuffixes {
		if strings.EqualFold(u.name, rest) {
			return cDoubleToUint32(v * u.scale / 8), true
		}
	}
	return 0, false
}

// rateestRate is rateest_print_rate for a rate in bytes a second.
func rateestRate(r uint32) string {
	t := float64(r) * 8
	switch {
	case t >= 1e9:
		return strconv.FormatFloat(t/1e6, 'f', 0, 64) + "Mbit"
	case t >= 1e6:
		return strconv.FormatFloat(t/1e3, 'f', 0, 64) + "Kbit"
	}
	return strconv.FormatFloat(t, 'f', 0, 64) + "bit"
}

// saveRateest is rateest_save.
func saveRateest(w *saver, x *filter.RateestMatch) {
	if x.Delta {
		w.opt(false, "rateest-delta", "")
	}
	if x.Relative {
		w.opt(false, "rateest1", quote(x.Est1))
	} else {
		w.opt(false, "rateest", quote(x.Est1))
	}
	mode := "rateest-" + [...]string{"eq", "eq", "lt", "gt"}[min(int(x.Mode), 3)]
	rate := func(name, r1, r2 string) {
		if x.Delta {
			w.opt(false, name+"1", r1)
			w.opt(x.Invert, mode, "")
			w.opt(false, name+"2", "")
		} else {
			w.opt(x.Invert, mode, "")
			w.opt(false, name, "")
		}
		if !x.Relative || x.Delta {
			w.WriteByte(' ')
			w.WriteString(r2)
		}
	}
	if x.BPS {
		rate("rateest-bps", rateestRate(x.BPS1), rateestRate(x.BPS2))
	}
	if x.PPS {
		rate("rateest-pps", strconv.FormatUint(uint64(x.PPS1), 10), strconv.FormatUint(uint64(x.PPS2), 10))
	}
	if x.Relative {
		w.opt(false, "rateest2", quote(x.Est2))
	}
}
