package iptables

import (
	"fmt"
	"strconv"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -j TCPMSS --set-mss N | --clamp-mss-to-pmtu (libxt_TCPMSS.c). Both may
// be given; the last one counts. N is at most 65535 less the IP and TCP
// header sizes: 65515 for IPv4, 65495 for IPv6.
func init() {
	register(&extension{
		name:   "TCPMSS",
		target: true,
		parser: func(rc *ruleContext) extParser { return &tcpmssParser{family: rc.family, seen: tgSeen{}} },
		save: func(w *saver, x any) {
			t := x.(*filter.TCPMSSTarget)
			if t.ClampPMTU {
				w.opt(false, "clamp-mss-to-pmtu", "")
			} else {
				w.opt(false, "set-mss", strconv.Itoa(int(t.MSS)))
			}
		},
		owns: ownedBy[filter.TCPMSSTarget](),
	})
}

type tcpmssParser struct {
	family packet.Family
	t      filter.TCPMSSTarget
	seen   tgSeen
}

func (p *tcpmssParser) option(name string, invert bool, a *args) error {
	name, err := tgOption(name, "set-mss", "clamp-mss-to-pmtu")
	if err != nil {
		return err
	}
	if invert {
		return tgInvertErr("TCPMSS", name)
	}
	if err := p.seen.once("TCPMSS", name); err != nil {
		return err
	}
	if name == "clamp-mss-to-pmtu" {
		p.t.ClampPMTU = true
		return nil
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	hi := uint64(65535 - 20)
	if p.family == packet.IPv6 {
		hi = 65535 - 40
	}
	n, err := optUint("TCPMSS", name, v, 0, hi)
	if err != nil {
		return err
	}
	p.t.MSS, p.t.ClampPMTU = uint16(n), false
	return nil
}

func (p *tcpmssParser) done() (any, error) {
	if len(p.seen) == 0 {
		return nil, fmt.Errorf("%w: TCPMSS target: At least one parameter is required", ErrSyntax)
	}
	t := p.t
	return &t, nil
}
