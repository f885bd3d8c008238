package nfgo

import (
	"maps"
	"net/netip"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/nat"
)

// NAT in the engine, as nf_nat_inet_fn runs it at the nat table's hooks:
// destination NAT at PREROUTING and OUTPUT, source NAT at POSTROUTING and
// INPUT. A connection's binding for a hook is chosen once, by its first
// packet: the nat table's chain runs, and its SNAT, DNAT, MASQUERADE,
// REDIRECT or NETMAP rule gives the range the binding is chosen from
// (nat.Selector, after get_unique_tuple); a connection no rule matches
// gets a null binding, which changes its tuple only to avoid a clash. The
// binding becomes the connection's reply tuple. Every packet of the
// connection, in both directions, is then rewritten from it at these
// hooks, and ICMP errors about it are translated inside and out. Untracked
// and invalid packets are not NATed, as in the kernel.

// natBindTries bounds how often a new connection's NAT binding is chosen
// again because a concurrent one reserved the tuple first.
const natBindTries = 4

// natConns is what nat.Selector asks of the conntrack table, at the
// packet's time.
type natConns struct {
	t   *conntrack.Table
	r   *conntrack.Result // the connection being bound
	now time.Time
}

func (c *natConns) Taken(reply conntrack.Tuple) bool { return c.t.TakenFor(c.r, reply, c.now) }

func (c *natConns) SourceMapping(orig conntrack.Tuple, i int) (conntrack.Tuple, bool) {
	return c.t.SourceMapping(orig, i)
}

// Addrs implements nat.Addrs: the interface's addresses, for MASQUERADE
// and REDIRECT.
func (e *hostEnv) Addrs(iface string) []netip.Prefix {
	for _, ifc := range e.host.Interfaces {
		if ifc.Name == iface {
			return ifc.Addrs
		}
	}
	return nil
}

// natManip returns the NAT manipulation of a hook.
func natManip(h filter.Hook) nat.Manip {
	if h == filter.Postrouting || h == filter.Input {
		return nat.ManipSrc
	}
	return nat.ManipDst
}

// natHook runs the nat table at hook h for the packet, as described
// above, and reports whether the packet goes on.
func (e *Engine) natHook(ps *pktState, h filter.Hook, prog *filter.Program, v *Verdict) bool {
	c, r := &ps.Context, &ps.ct
	if e.ct == nil || !r.Tracked() {
		return true
	}
	if (prog == nil || !prog.HasTable(filter.NAT)) && r.Status&(conntrack.StatusSrcNAT|conntrack.StatusDstNAT) == 0 {
		// Without a nat table the kernel registers no NAT hooks: no
		// null binding for new connections, and nothing to rewrite for
		// the others (those NATed under an earlier ruleset still are).
		return true
	}
	m := natManip(h)
	done := conntrack.StatusDstNATDone
	if m == nat.ManipSrc {
		done = conntrack.StatusSrcNATDone
	}
	if r.Pending() && r.Status&done == 0 {
		rng := nat.NullRange(e.natCurr(r), m)
		masq := false
		if prog != nil && prog.HasTable(filter.NAT) {
			res := prog.Run(filter.NAT, c)
			if res.Chain != nil && (res.Rule > 0 || res.Verdict.Action != filter.Accept) {
				v.Hook, v.Table, v.Chain, v.Rule = h, filter.NAT, res.Chain, res.Rule
				v.Reason, v.RuleRef = ReasonPolicy, nil
				if res.Rule > 0 {
					v.Reason, v.RuleRef = ReasonRule, res.Chain.Rules[res.Rule-1]
				}
			}
			if res.Verdict.Action == filter.Drop {
				v.Action = filter.Drop
				return false
			}
			if res.Rule > 0 {
				t := res.Chain.Rules[res.Rule-1].Target
				_, masq = t.(*filter.MasqueradeTarget)
				var ok bool
				if rng, ok = e.natRange(t, ps, h, rng); !ok {
					v.Action, v.Reason = filter.Drop, ReasonNAT
					e.natDrops.Add(1)
					return false
				}
			}
		}
		status, bound := e.bindNAT(ps, &rng, m)
		if !bound {
			// Every tuple of the range is taken: the kernel drops the
			// packet (nf_nat_setup_info fails).
			v.Action, v.Reason = filter.Drop, ReasonNAT
			e.natDrops.Add(1)
			return false
		}
		if masq && status&conntrack.StatusSrcNAT != 0 {
			r.SetMasquerade(e.ifaceIndex(c.Out))
		}
		c.CT.Status = uint32(r.Status)
	}
	status := r.Status
	icmpError := r.State == conntrack.Related && c.Packet.IsICMPError()
	if status&(conntrack.StatusSrcNAT|conntrack.StatusDstNAT) == 0 || !icmpError && !nat.Acts(status, r.Dir, m) {
		return true // nothing to rewrite at this hook (most packets)
	}
	orig, reply := r.Tuple(conntrack.Original), r.Tuple(conntrack.Reply)
	var ok bool
	if icmpError {
		ok = nat.TranslateICMPError(c.Packet, r.Dir, &orig, &reply, status, m)
	} else {
		ok = nat.Apply(c.Packet, r.Dir, &orig, &reply, status, m)
	}
	if !ok {
		v.Action, v.Reason = filter.Drop, ReasonNAT
		e.natDrops.Add(1)
		return false
	}
	return true
}

// bindNAT chooses the new connection's binding for manipulation m in
// range rng (nf_nat_setup_info) and makes it the connection's reply
// tuple, with the NAT status bits, which it returns. It reports false
// when every tuple of the range is taken.
func (e *Engine) bindNAT(ps *pktState, rng *nat.Range, m nat.Manip) (conntrack.Status, bool) {
	r := &ps.ct
	done := conntrack.StatusDstNATDone
	if m == nat.ManipSrc {
		done = conntrack.StatusSrcNATDone
	}
	curr := e.natCurr(r)
	ps.conns = natConns{t: e.ct, r: r, now: ps.Context.Now}
	// A related connection may have its GRE keys changed (PPTP).
	sel := nat.Selector{Conns: &ps.conns, Related: r.Status&conntrack.StatusExpected != 0}
	// The chosen tuple is reserved; another first packet handled at the
	// same moment may reserve it between the choice and the
	// reservation, and the choice is then made again.
	for try := 0; try < natBindTries; try++ {
		chosen, ok := sel.Select(curr, rng, m)
		if !ok {
			break
		}
		reply := r.Tuple(conntrack.Reply)
		status := done
		if chosen != curr {
			reply, _ = chosen.Invert()
			status |= m.Status()
		}
		if e.ct.SetReply(r, reply, status) {
			return status, true
		}
	}
	return 0, false
}

// SetupNAT implements helpers.NATSetup for the packet's new connection:
// the NAT an expectation's function sets up.
func (ps *pktState) SetupNAT(rng nat.Range, m nat.Manip) bool {
	_, ok := ps.eng.bindNAT(ps, &rng, m)
	if ok {
		ps.Context.CT.Status = uint32(ps.ct.Status)
	}
	return ok
}

// natCurr is the connection's current original-direction view, the
// inverse of its reply tuple (nf_nat_setup_info's curr_tuple).
func (e *Engine) natCurr(r *conntrack.Result) conntrack.Tuple {
	t, _ := r.Tuple(conntrack.Reply).Invert()
	return t
}

// natRange turns the nat table's target into the range to choose from.
// ok is false when the packet must be dropped (MASQUERADE without an
// address on the output interface, REDIRECT without one on the input).
func (e *Engine) natRange(t filter.Target, ps *pktState, h filter.Hook, null nat.Range) (nat.Range, bool) {
	conv := func(fr *filter.NATRange) nat.Range {
		return nat.NewRange(fr.MinAddr, fr.MaxAddr, fr.MinPort, fr.MaxPort, fr.BasePort, nat.Flags(fr.Flags))
	}
	c := &ps.Context
	switch t := t.(type) {
	case *filter.SNATTarget:
		return conv(&t.Range), true
	case *filter.DNATTarget:
		return conv(&t.Range), true
	case *filter.MasqueradeTarget:
		r := conv(&t.Range)
		if c.Packet.Src().IsUnspecified() {
			return null, true
		}
		a, ok := nat.MasqueradeAddr(ps.env, c.Out, c.Packet.Dst())
		if !ok {
			return r, false
		}
		return nat.SingleAddrRange(&r, a), true
	case *filter.RedirectTarget:
		r := conv(&t.Range)
		a, ok := nat.RedirectAddr(ps.env, c.In, c.Packet.Dst(), h == filter.Output)
		if !ok {
			return r, false
		}
		return nat.SingleAddrRange(&r, a), true
	case *filter.NetmapTarget:
		r := conv(&t.Range)
		curr := e.natCurr(&ps.ct)
		return nat.NetmapRange(&r, &curr, natManip(h)), true
	}
	return null, true
}

// ifaceIndex returns the number the engine gives interface name, for
// MASQUERADE's bookkeeping.
func (e *Engine) ifaceIndex(name string) uint32 {
	if i, ok := e.boundIface(name); ok {
		return i
	}
	// A name not seen before: the map is copied, so that readers take
	// no lock (a host has few interfaces, and they change rarely).
	e.ifaceMu.Lock()
	defer e.ifaceMu.Unlock()
	m := map[string]uint32{}
	if old := e.ifaces.Load(); old != nil {
		if i, ok := (*old)[name]; ok {
			return i
		}
		maps.Copy(m, *old)
	}
	i := uint32(len(m) + 1)
	m[name] = i
	e.ifaces.Store(&m)
	return i
}

// boundIface returns the number ifaceIndex gave interface name, if any.
func (e *Engine) boundIface(name string) (uint32, bool) {
	if m := e.ifaces.Load(); m != nil {
		i, ok := (*m)[name]
		return i, ok
	}
	return 0, false
}

// SetHost replaces the engine's model of the host, as the interfaces,
// addresses and routes change; packets already inside the engine finish
// with the old one. As the kernel's masquerade notifiers do, it then
// deletes the connections MASQUERADE bound to an interface that is gone
// (all of them) or to an address an interface lost (those using it), so
// that their next packets start afresh from a live address. It returns
// how many connections it deleted.
func (e *Engine) SetHost(h Host, now time.Time) int {
	old := e.env.Swap(newHostEnv(h))
	if e.ct == nil {
		return 0
	}
	kept := map[string]map[netip.Addr]bool{}
	for _, ifc := range h.Interfaces {
		addrs := map[netip.Addr]bool{}
		for _, p := range ifc.Addrs {
			addrs[p.Addr()] = true
		}
		kept[ifc.Name] = addrs
	}
	n := 0
	for _, ifc := range old.host.Interfaces {
		idx, bound := e.boundIface(ifc.Name)
		if !bound {
			continue
		}
		addrs, up := kept[ifc.Name]
		if !up {
			n += e.ct.FlushMasquerade(idx, netip.Addr{}, now)
			continue
		}
		for _, p := range ifc.Addrs {
			if !addrs[p.Addr()] {
				n += e.ct.FlushMasquerade(idx, p.Addr(), now)
			}
		}
	}
	return n
}
