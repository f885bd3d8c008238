package iptables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -m limit --limit RATE[/UNIT] --limit-burst N (libxt_limit.c). The rate
// is stored as the kernel stores it, the mean interval in 1/10000 s, and
// printed back in the largest unit that keeps it whole (print_rate), so
// 60/min saves as 1/sec.
func init() {
	register(&extension{
		name:   "limit",
		parser: func(*ruleContext) extParser { return &limitMatchParser{} },
		save: func(w *saver, x any) {
			m := x.(*filter.LimitMatch)
			w.opt(false, "limit", formatLimitRate(m.Avg))
			if m.Burst != limitDefaultBurst {
				w.opt(false, "limit-burst", strconv.FormatUint(uint64(m.Burst), 10))
			}
		},
		owns: ownedBy[filter.LimitMatch](),
	})
}

// The defaults: 3/hour, burst 5 (XT_LIMIT_AVG, XT_LIMIT_BURST).
const (
	limitDefaultAvg   = filter.LimitScale * 3600 / 3
	limitDefaultBurst = 5
)

// limitUnits are the rate units, largest first, as print_rate scans them.
var limitUnits = []struct {
	name string
	mult uint32
}{
	{"day", 24 * 60 * 60 * filter.LimitScale},
	{"hour", 60 * 60 * filter.LimitScale},
	{"min", 60 * filter.LimitScale},
	{"sec", filter.LimitScale},
}

// parseLimitRate is parse_rate: atoi of the number, and a unit given by
// any prefix of second, minute, hour or day.
func parseLimitRate(s string) (uint32, error) {
	num, unit, slash := strings.Cut(s, "/")
	mult := uint32(1)
	if slash {
		u := strings.ToLower(unit)
		switch {
		case u == "":
			mult = 0
		case strings.HasPrefix("second", u):
			mult = 1
		case strings.HasPrefix("minute", u):
			mult = 60
		case strings.HasPrefix("hour", u):
			mult = 3600
		case strings.HasPrefix("day", u):
			mult = 86400
		default:
			mult = 0
		}
	}
	r := atoi(num)
	if mult == 0 || r == 0 {
		return 0, fmt.Errorf("%w: bad rate \"%s\"'", ErrBadArgument, s)
	}
	avg := uint32(filter.LimitScale) * mult / r
	if avg == 0 {
		return 0, fmt.Errorf("%w: Rate too fast \"%s\"", ErrBadArgument, s)
	}
	return avg, nil
}

// atoi is C's atoi for the values that matter here: leading blanks, an
// optional sign and decimal digits, stopping at the first other byte.
func atoi(s string) uint32 {
	v, _, ok := cStrtoul(s, 10)
	if !ok {
		return 0
	}
	return uint32(v)
}

// formatLimitRate is print_rate.
func formatLimitRate(period uint32) string {
	if period == 0 {
		return "inf"
	}
	i := 1
	for ; i < len(limitUnits); i++ {
		m := limitUnits[i].mult
		if period > m || m/period < m%period {
			break
		}
	}
	u := limitUnits[i-1]
	return strconv.FormatUint(uint64(u.mult/period), 10) + "/" + u.name
}

type limitMatchParser struct {
	avg, burst         uint32
	seenAvg, seenBurst bool
}

func (p *limitMatchParser) option(name string, invert bool, a *args) error {
	switch name {
	case "limit", "limit-burst":
	default:
		return errNotMine
	}
	if invert {
		return noInvertErr("limit", name)
	}
	seen := &p.seenAvg
	if name == "limit-burst" {
		seen = &p.seenBurst
	}
	if *seen {
		return onceErr("limit", name)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	if name == "limit" {
		p.avg, err = parseLimitRate(v)
	} else {
		var n uint64
		n, err = optUint("limit", name, v, 0, 10000)
		p.burst = uint32(n)
	}
	*seen = err == nil
	return err
}

// done applies the defaults. A burst of 0 is taken as the default 5:
// iptables-nft accepts it and saves the rule without --limit-burst.
func (p *limitMatchParser) done() (any, error) {
	m := &filter.LimitMatch{Avg: limitDefaultAvg, Burst: limitDefaultBurst}
	if p.seenAvg {
		m.Avg = p.avg
	}
	if p.seenBurst && p.burst != 0 {
		m.Burst = p.burst
	}
	return m, nil
}
