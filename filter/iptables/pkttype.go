package iptables

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -m pkttype --pkt-type TYPE (libxt_pkttype.c). "host" is another name
// for unicast; iptables-save prints unicast.
func init() {
	register(&extension{
		name:   "pkttype",
		parser: func(*ruleContext) extParser { return &pkttypeMatchParser{} },
		save: func(w *saver, x any) {
			m := x.(*filter.PktTypeMatch)
			name := "unicast"
			for _, n := range pktTypeNames {
				if n.t == m.Type {
					name = n.name
					break
				}
			}
			w.opt(m.Invert, "pkt-type", name)
		},
		owns: ownedBy[filter.PktTypeMatch](),
	})
}

// pktTypeNames are the accepted names, the saved one first for each type.
var pktTypeNames = []struct {
	name string
	t    filter.PktType
}{
	{"unicast", filter.PacketHost},
	{"broadcast", filter.PacketBroadcast},
	{"multicast", filter.PacketMulticast},
	{"otherhost", filter.PacketOtherHost},
	{"host", filter.PacketHost},
}

type pkttypeMatchParser struct {
	m    filter.PktTypeMatch
	seen bool
}

func (p *pkttypeMatchParser) option(name string, invert bool, a *args) error {
	if name != "pkt-type" {
		return errNotMine
	}
	if p.seen {
		return onceErr("pkttype", name)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	for _, n := range pktTypeNames {
		if strings.EqualFold(v, n.name) {
			p.m, p.seen = filter.PktTypeMatch{Type: n.t, Invert: invert}, true
			return nil
		}
	}
	return fmt.Errorf("%w: Bad packet type '%s'", ErrBadArgument, v)
}

func (p *pkttypeMatchParser) done() (any, error) {
	if !p.seen {
		return nil, mustErr("pkttype", "pkt-type")
	}
	return &p.m, nil
}
