package iptables

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -j NFQUEUE [--queue-num N | --queue-balance A:B] [--queue-bypass]
// [--queue-cpu-fanout] (libxt_NFQUEUE.c, revision 3).
func init() {
	register(&extension{
		name:   "NFQUEUE",
		target: true,
		parser: func(*ruleContext) extParser { return &nfqueueParser{t: filter.NFQueueTarget{Total: 1}, seen: tgSeen{}} },
		save: func(w *saver, x any) {
			t := x.(*filter.NFQueueTarget)
			if t.Total > 1 {
				w.opt(false, "queue-balance", fmt.Sprintf("%d:%d", t.Num, int(t.Num)+int(t.Total)-1))
			} else {
				w.opt(false, "queue-num", fmt.Sprint(t.Num))
			}
			if t.Bypass {
				w.opt(false, "queue-bypass", "")
			}
			if t.CPUFanout {
				w.opt(false, "queue-cpu-fanout", "")
			}
		},
		owns: ownedBy[filter.NFQueueTarget](),
	})
}

type nfqueueParser struct {
	t    filter.NFQueueTarget
	seen tgSeen
	// totalZero records --queue-balance 0:65535, whose queue count wraps
	// to 0 in the kernel's 16-bit field and is refused by
	// nfqueue_tg_check.
	totalZero bool
}

func (p *nfqueueParser) option(name string, invert bool, a *args) error {
	name, err := tgOption(name, "queue-num", "queue-balance", "queue-bypass", "queue-cpu-fanout")
	if err != nil {
		return err
	}
	if invert {
		return tgInvertErr("NFQUEUE", name)
	}
	if err := p.seen.once("NFQUEUE", name); err != nil {
		return err
	}
	if err := p.seen.excl("NFQUEUE", name, "queue-num", "queue-balance"); err != nil && (name == "queue-num" || name == "queue-balance") {
		return err
	}
	switch name {
	case "queue-num":
		v, err := a.value(name)
		if err != nil {
			return err
		}
		n, err := optUint("NFQUEUE", name, v, 0, 0xFFFF)
		if err != nil {
			return err
		}
		p.t.Num = uint16(n)
	case "queue-balance":
		v, err := a.value(name)
		if err != nil {
			return err
		}
		lo, hi, ok := strings.Cut(v, ":")
		if !ok {
			return fmt.Errorf("%w: Bad range \"%s\"", ErrBadArgument, v)
		}
		first, last := uint64(0), uint64(0xFFFF)
		if lo != "" {
			if first, err = optUint("NFQUEUE", name, lo, 0, 0xFFFF); err != nil {
				return err
			}
		}
		if hi != "" {
			if last, err = optUint("NFQUEUE", name, hi, 0, 0xFFFF); err != nil {
				return err
			}
		}
		if first >= last {
			return fmt.Errorf("%w: %d should be less than %d", ErrBadArgument, first, last)
		}
		p.t.Num = uint16(first)
		p.t.Total = uint16(last - first + 1)
		p.totalZero = last-first+1 > 0xFFFF
	case "queue-bypass":
		p.t.Bypass = true
	case "queue-cpu-fanout":
		p.t.CPUFanout = true
	}
	return nil
}

func (p *nfqueueParser) done() (any, error) {
	if p.t.CPUFanout && !p.seen["queue-balance"] {
		return nil, fmt.Errorf("%w: NFQUEUE: option \"--queue-cpu-fanout\" also requires \"--queue-balance\"", ErrSyntax)
	}
	if p.totalZero {
		return nil, fmt.Errorf("%w: NFQUEUE: number of total queues is 0", ErrBadArgument)
	}
	t := p.t
	return &t, nil
}
