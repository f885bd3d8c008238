package iptables

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -m state --state LIST (libxt_state.c, which iptables 1.8.9 implements
// as an alias of conntrack's state parser).
func init() {
	register(&extension{
		name:   "state",
		parser: func(*ruleContext) extParser { return &stateMatchParser{} },
		save: func(w *saver, x any) {
			m := x.(*filter.StateMatch)
			w.opt(m.Invert, "state", formatCTStates(m.States))
		},
		owns: ownedBy[filter.StateMatch](),
	})
}

// ctStateNames are the state names in the order iptables-save prints
// them (print_state in libxt_conntrack.c).
var ctStateNames = []struct {
	name string
	bit  filter.CTState
}{
	{"INVALID", filter.StateInvalid},
	{"NEW", filter.StateNew},
	{"RELATED", filter.StateRelated},
	{"ESTABLISHED", filter.StateEstablished},
	{"UNTRACKED", filter.StateUntracked},
	{"SNAT", filter.StateSNAT},
	{"DNAT", filter.StateDNAT},
}

// parseCTStates parses a comma list of state names (any case). The
// --state option knows the first five; --ctstate also SNAT and DNAT.
func parseCTStates(s string, nat bool, bad func(string) error, empty error) (filter.CTState, error) {
	var v filter.CTState
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			return 0, empty
		}
		found := false
		for _, n := range ctStateNames {
			if strings.EqualFold(item, n.name) && (nat || n.bit < filter.StateSNAT) {
				v |= n.bit
				found = true
			}
		}
		if !found {
			return 0, bad(item)
		}
	}
	return v, nil
}

func formatCTStates(v filter.CTState) string {
	var parts []string
	for _, n := range ctStateNames {
		if v&n.bit != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, ",")
}

type stateMatchParser struct {
	m    filter.StateMatch
	seen bool
}

func (p *stateMatchParser) option(name string, invert bool, a *args) error {
	if name != "state" {
		return errNotMine
	}
	if p.seen {
		return onceErr("state", name)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	states, err := parseCTStates(v, false,
		func(s string) error { return fmt.Errorf("%w: Bad state \"%s\"", ErrBadArgument, s) },
		fmt.Errorf("%w: \"--state\" requires a list of states with no spaces, e.g. ESTABLISHED,RELATED", ErrBadArgument))
	if err != nil {
		return err
	}
	p.m, p.seen = filter.StateMatch{States: states, Invert: invert}, true
	return nil
}

func (p *stateMatchParser) done() (any, error) {
	if !p.seen {
		return nil, mustErr("state", "state")
	}
	return &p.m, nil
}
