package nfgo

import (
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// Transit is what a packet carries from one hook to the next when the
// caller hands it to the engine a hook at a time and the kernel's own
// conntrack is off: NFQUEUE with a queue at every hook. In the kernel
// the skb carries its connection; here the Transit does. The zero value
// is a packet no hook has seen yet.
type Transit struct {
	ct     conntrack.Result
	ctDone bool
}

// Pending reports whether the packet's connection is new and not yet
// confirmed (it has hooks ahead of it).
func (t *Transit) Pending() bool { return t.ct.Pending() }

// Abandon gives up a packet that will not reach its last hook (the
// kernel dropped it between hooks): an unconfirmed connection leaves no
// trace, and its NAT reservation is freed.
func (e *Engine) Abandon(t *Transit) {
	if e.ct != nil {
		e.ct.Abandon(&t.ct)
	}
	*t = Transit{}
}

// HookTransit runs the tables of one hook, like Hook, for a packet the
// caller hands over a hook at a time: conntrack runs at the first hook
// (PREROUTING or OUTPUT), the connection travels in t to the next hooks,
// NAT binds and rewrites at its hooks as in Path, and the connection is
// confirmed at the last (INPUT or POSTROUTING). Routing, the TTL and the
// MTU are the kernel's business between the calls.
func (e *Engine) HookTransit(p *packet.Packet, m Meta, t *Transit) Verdict {
	ps := e.context(p, m)
	ps.ct, ps.ctDone = t.ct, t.ctDone
	t.ct = conntrack.Result{} // moved into ps, with any NAT reservation
	v := Verdict{Action: filter.Accept, Reason: ReasonNoRules}
	switch {
	case ps.ctDone && e.ct != nil:
		e.setCTInfo(ps)
	case !ps.ctDone && m.Hook != filter.Prerouting && m.Hook != filter.Output:
		// No earlier hook saw it (the plumbing queues no PREROUTING or
		// OUTPUT, or the caller lost its transit): track it here, as
		// Hook does.
		if !e.conntrackIn(ps, m.Hook, &v) {
			return e.finish(ps, v)
		}
	}
	e.runHook(ps, m.Hook, &v)
	if e.ct != nil && ps.ct.Tracked() && ps.Context.CT.Mark != ps.ct.Mark {
		// CONNMARK at this hook: keep it for the next.
		e.ct.SetMark(&ps.ct, ps.Context.CT.Mark, ps.Context.Now)
	}
	if v.Action != filter.Accept {
		return e.finish(ps, v) // dropped here: an unconfirmed connection goes
	}
	return e.finishInto(ps, v, t)
}
