package iptables

import (
	"fmt"
	"strconv"

	"github.com/nfgo/nfgo/filter"
)

// -m ecn --ecn-tcp-cwr, --ecn-tcp-ece, --ecn-ip-ect N (libxt_ecn.c).
// iptables-save prints ECE, then CWR, then the IP field.
func init() {
	register(&extension{
		name:   "ecn",
		parser: func(*ruleContext) extParser { return &ecnMatchParser{} },
		save: func(w *saver, x any) {
			m := x.(*filter.ECNMatch)
			if m.MatchECE {
				w.opt(m.InvertECE, "ecn-tcp-ece", "")
			}
			if m.MatchCWR {
				w.opt(m.InvertCWR, "ecn-tcp-cwr", "")
			}
			if m.MatchIP {
				w.opt(m.InvertIP, "ecn-ip-ect", strconv.Itoa(int(m.IPECT)))
			}
		},
		owns: ownedBy[filter.ECNMatch](),
	})
}

type ecnMatchParser struct {
	m filter.ECNMatch
}

func (p *ecnMatchParser) option(name string, invert bool, a *args) error {
	m := &p.m
	switch name {
	case "ecn-tcp-cwr":
		if m.MatchCWR {
			return onceErr("ecn", name)
		}
		m.MatchCWR, m.InvertCWR = true, invert
	case "ecn-tcp-ece":
		if m.MatchECE {
			return onceErr("ecn", name)
		}
		m.MatchECE, m.InvertECE = true, invert
	case "ecn-ip-ect":
		if m.MatchIP {
			return onceErr("ecn", name)
		}
		v, err := a.value(name)
		if err != nil {
			return err
		}
		n, err := optUint("ecn", name, v, 0, 3)
		if err != nil {
			return err
		}
		m.MatchIP, m.InvertIP, m.IPECT = true, invert, uint8(n)
	default:
		return errNotMine
	}
	return nil
}

func (p *ecnMatchParser) done() (any, error) {
	if !p.m.MatchCWR && !p.m.MatchECE && !p.m.MatchIP {
		return nil, fmt.Errorf("%w: ecn: At least one option is required", ErrSyntax)
	}
	return &p.m, nil
}
