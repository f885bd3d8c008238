package iptables

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -m statistic --mode random --probability P | --mode nth --every N
// --packet P (libxt_statistic.c). The probability is stored scaled to
// 2^31 and printed with 11 decimals ("0.50000000000"), so 0.1 saves as
// 0.10000000009.
func init() {
	register(&extension{
		name:   "statistic",
		parser: func(*ruleContext) extParser { return &statisticMatchParser{} },
		save: func(w *saver, x any) {
			m := x.(*filter.StatisticMatch)
			if m.Mode == filter.StatisticRandom {
				w.opt(false, "mode", "random")
				w.opt(m.Invert, "probability", strconv.FormatFloat(float64(m.Probability)/0x80000000, 'f', 11, 64))
				return
			}
			w.opt(false, "mode", "nth")
			w.opt(m.Invert, "every", strconv.FormatUint(uint64(m.Every), 10))
			w.opt(false, "packet", strconv.FormatUint(uint64(m.Packet), 10))
		},
		owns: ownedBy[filter.StatisticMatch](),
	})
}

type statisticMatchParser struct {
	mode                            string
	prob                            float64
	every, packet                   uint64
	invert                          bool
	seenProb, seenEvery, seenPacket bool
}

func (p *statisticMatchParser) option(name string, invert bool, a *args) error {
	var seen *bool
	switch name {
	case "mode":
		if p.mode != "" {
			return onceErr("statistic", name)
		}
	case "probability":
		seen = &p.seenProb
	case "every":
		seen = &p.seenEvery
	case "packet":
		seen = &p.seenPacket
	default:
		return errNotMine
	}
	if seen != nil && *seen {
		return onceErr("statistic", name)
	}
	if invert && (name == "mode" || name == "packet") {
		return noInvertErr("statistic", name)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	switch name {
	case "mode":
		if v != "random" && v != "nth" {
			return fmt.Errorf("%w: Bad mode \"%s\"", ErrBadArgument, v)
		}
		p.mode = v
		return nil
	case "probability":
		f, err := strconv.ParseFloat(strings.TrimLeft(v, " \t\n\v\f\r"), 64)
		if err != nil || !(f >= 0 && f <= 1) {
			return fmt.Errorf("%w: statistic: bad value for option \"--probability\", or out of range (0-1)", ErrBadArgument)
		}
		p.prob = f
	case "every":
		if p.every, err = optUint("statistic", name, v, 1, 0xFFFFFFFF); err != nil {
			return err
		}
	case "packet":
		if p.packet, err = optUint("statistic", name, v, 0, 0xFFFFFFFF); err != nil {
			return err
		}
	}
	if invert {
		p.invert = true
	}
	*seen = true
	return nil
}

func (p *statisticMatchParser) done() (any, error) {
	switch p.mode {
	case "random":
		if !p.seenProb {
			return nil, fmt.Errorf("%w: statistic: --probability must be specified with --mode random", ErrSyntax)
		}
		if p.seenEvery || p.seenPacket {
			return nil, fmt.Errorf("%w: statistic: --every and --packet can only be used with --mode nth", ErrSyntax)
		}
		return &filter.StatisticMatch{Mode: filter.StatisticRandom, Invert: p.invert,
			Probability: uint32(math.Round(p.prob * 0x80000000))}, nil
	case "nth":
		if p.seenProb {
			return nil, fmt.Errorf("%w: statistic: --probability can only be used with --mode random", ErrSyntax)
		}
		if !p.seenEvery || !p.seenPacket {
			return nil, fmt.Errorf("%w: statistic: --every and --packet must be specified with --mode nth", ErrSyntax)
		}
		if p.packet > p.every-1 {
			return nil, fmt.Errorf("%w: the --packet p must be 0 <= p <= n-1", ErrBadArgument)
		}
		return &filter.StatisticMatch{Mode: filter.StatisticNth, Invert: p.invert,
			Every: uint32(p.every), Packet: uint32(p.packet)}, nil
	}
	return nil, mustErr("statistic", "mode")
}
