package nfgo

import (
	"net/netip"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/nat"
	"github.com/nfgo/nfgo/packet"
)

// Flow offload (Config.FlowOffload): a forwarded packet the slow path
// accepted, of an ESTABLISHED connection, offloads its connection when
// the running program proves that the rules accept every established
// packet (filter.Program.Offload); from then on Path forwards the
// connection's packets by offloaded, which does what the kernel's
// flowtable does (nf_flow_offload_ip_hook): conntrack's lookup, timeout
// and counters, the connection's NAT, the routing decision, the TTL, and
// nothing else. Anything it does not handle goes down the slow path,
// which ends the offload (conntrack.Table.Forward says what).

// offload offloads the connection of a packet the slow path forwarded,
// if the program that judged it allows.
func (e *Engine) offload(ps *pktState) {
	if e.ct == nil || ps.ct.State != conntrack.Established || ps.ct.Status&conntrack.StatusOffload != 0 ||
		!e.offloadAllowed(ps.Packet.Family) {
		return
	}
	e.ct.Offload(&ps.ct)
}

// offloadAllowed reports whether the running program of family f lets
// connections be offloaded (no program: no rules, so it does).
func (e *Engine) offloadAllowed(f packet.Family) bool {
	prog := e.Program(f)
	if prog == nil {
		return true
	}
	ok, _ := prog.Offload()
	return ok
}

// offloaded forwards p by the fast path if its connection is offloaded
// and the running program still allows offload, filling v; it reports
// false, having changed nothing, for a packet the slow path must judge.
func (e *Engine) offloaded(p *packet.Packet, m Meta, env *hostEnv, v *Verdict) bool {
	if e.ct == nil || p.Family != packet.IPv4 && p.Family != packet.IPv6 || env.IsLocal(p.Src()) ||
		!e.offloadAllowed(p.Family) {
		return false
	}
	var f conntrack.Flow
	var out string
	ok := e.ct.Forward(&f, p, m.Time, func(dst netip.Addr) bool {
		var mtu int
		var forwarded bool
		if out, mtu, forwarded = env.forwardRoute(dst); !forwarded {
			return false
		}
		if e.cfg.KernelForwards {
			return true
		}
		// The TTL and MTU checks' ICMP errors are the slow path's.
		return p.TTL > 1 && (p.Length <= mtu || p.Family == packet.IPv4 && !p.DontFrag)
	})
	if !ok {
		return false
	}
	*v = Verdict{Action: filter.Accept, Reason: ReasonOffload, Mark: m.Mark, Out: out, CT: conntrack.Established, CTDir: f.Dir}
	if f.Status&(conntrack.StatusSrcNAT|conntrack.StatusDstNAT) != 0 &&
		(!nat.ApplyOther(p, f.Dir, &f.Other, f.Status, nat.ManipDst) || !nat.ApplyOther(p, f.Dir, &f.Other, f.Status, nat.ManipSrc)) {
		v.Action, v.Reason = filter.Drop, ReasonNAT
		e.natDrops.Add(1)
	} else if !e.cfg.KernelForwards {
		p.SetTTL(p.TTL - 1)
	}
	e.collect(m.Time)
	return true
}
