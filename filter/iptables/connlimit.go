package iptables

import (
	"fmt"
	"strconv"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -m connlimit (libxt_connlimit.c, revision 1). iptables-save always
// prints the mask and the address selector; "! --connlimit-above N" is
// --connlimit-upto N and the other way round. A mask beyond the family's
// width is clamped to it (128 is refused for IPv6 only past 128).
func init() {
	register(&extension{
		name:   "connlimit",
		parser: func(rc *ruleContext) extParser { return &connlimitMatchParser{family: rc.family} },
		save: func(w *saver, x any) {
			m := x.(*filter.ConnlimitMatch)
			if m.Upto {
				w.opt(false, "connlimit-upto", strconv.FormatUint(uint64(m.Limit), 10))
			} else {
				w.opt(false, "connlimit-above", strconv.FormatUint(uint64(m.Limit), 10))
			}
			w.opt(false, "connlimit-mask", strconv.Itoa(int(m.PrefixLen)))
			if m.Dst {
				w.opt(false, "connlimit-daddr", "")
			} else {
				w.opt(false, "connlimit-saddr", "")
			}
		},
		owns: ownedBy[filter.ConnlimitMatch](),
	})
}

type connlimitMatchParser struct {
	family             packet.Family
	m                  filter.ConnlimitMatch
	limit, mask, saddr bool
	daddr              bool
	limitName          string
}

func (p *connlimitMatchParser) option(name string, invert bool, a *args) error {
	switch name {
	case "connlimit-above", "connlimit-upto":
		if p.limitName == name {
			return onceErr("connlimit", name)
		}
		if p.limitName != "" {
			return fmt.Errorf("%w: connlimit: option \"--%s\" cannot be used together with \"--%s\"", ErrSyntax, name, p.limitName)
		}
		v, err := a.value(name)
		if err != nil {
			return err
		}
		n, err := optUint("connlimit", name, v, 0, 0xFFFFFFFF)
		if err != nil {
			return err
		}
		p.limit, p.limitName = true, name
		p.m.Limit = uint32(n)
		p.m.Upto = (name == "connlimit-upto") != invert
	case "connlimit-mask":
		if p.mask {
			return onceErr("connlimit", name)
		}
		if invert {
			return noInvertErr("connlimit", name)
		}
		v, err := a.value(name)
		if err != nil {
			return err
		}
		n, err := optUint("connlimit", name, v, 0, 128)
		if err != nil {
			return err
		}
		if p.family == packet.IPv4 && n > 32 {
			n = 32
		}
		p.mask = true
		p.m.PrefixLen = uint8(n)
	case "connlimit-saddr", "connlimit-daddr":
		if invert {
			return noInvertErr("connlimit", name)
		}
		if p.saddr || p.daddr {
			if (name == "connlimit-daddr") == p.daddr {
				return onceErr("connlimit", name)
			}
			other := "connlimit-saddr"
			if name == other {
				other = "connlimit-daddr"
			}
			return fmt.Errorf("%w: connlimit: option \"--%s\" cannot be used together with \"--%s\"", ErrSyntax, name, other)
		}
		p.saddr, p.daddr = name == "connlimit-saddr", name == "connlimit-daddr"
		p.m.Dst = p.daddr
	default:
		return errNotMine
	}
	return nil
}

func (p *connlimitMatchParser) done() (any, error) {
	if !p.limit {
		return nil, fmt.Errorf("%w: connlimit: You must specify \"--connlimit-above\" or \"--connlimit-upto\"", ErrSyntax)
	}
	if !p.mask {
		p.m.PrefixLen = 32
		if p.family == packet.IPv6 {
			p.m.PrefixLen = 128
		}
	}
	return &p.m, nil
}
