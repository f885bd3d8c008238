package filter

import (
	"fmt"

	"github.com/nfgo/nfgo/packet"
)

// Flow offload (the engine's Config.FlowOffload) lets the packets of an
// established, forwarded connection skip the rules, as nftables'
// flowtable does. That is only right when the rules could not have
// treated those packets otherwise, which analyseOffload proves, or
// fails to, once per compiled program.
//
// The packets in question, the offloaded ones, are forwarded TCP and
// UDP packets that are not fragments, whose conntrack state is
// ESTABLISHED, and that carry no SYN, FIN or RST. The program may
// offload them when every table they would pass (raw, mangle, filter
// and security at PREROUTING, FORWARD and POSTROUTING; nat sees only a
// connection's first packet) accepts every one of them, with no side
// effect but its counters: each built-in chain, walked in order, must
// reach an ACCEPT, or its end with an ACCEPT policy, through rules that
// cannot match such a packet (-m conntrack --ctstate NEW, or
// --tcp-flags SYN,RST SYN, say), rules that surely do (-m conntrack
// --ctstate ESTABLISHED, or no condition at all) and then accept,
// return, or jump to a chain that passes the same test, and rules that
// leave the packet's fate the same whether they match or not (see
// chainFate). A raw chain must hold no rules at all: they run before
// conntrack, on every packet.

// offloadFate is what a chain does with every offloaded packet.
type offloadFate uint8

const (
	fateUnknown     offloadFate = iota // depends on the packet, or has side effects
	fateAccept                         // accepts it
	fateEnd                            // returns, or falls off the chain's end
	fateAcceptOrEnd                    // accepts it, or returns, depending on the packet
)

// matchOutcome is whether a rule or a match accepts every offloaded
// packet (always), none (never), or it depends.
type matchOutcome uint8

const (
	outcomeDepends matchOutcome = iota
	outcomeAlways
	outcomeNever
)

// offloadMaxDepth bounds the jumps the analysis follows (Compile has
// refused loops already); deeper nesting is not offloaded.
const offloadMaxDepth = 32

// offloadHooks are the hooks a forwarded packet passes.
var offloadHooks = [...]Hook{Prerouting, Forward, Postrouting}

// Offload reports whether the program lets established forwarded
// connections be offloaded, and if not, which rule prevents it.
func (p *Program) Offload() (ok bool, reason string) {
	return p.offload == "", p.offload
}

// Offload is Program.Offload for a ruleset not compiled (nfgo check).
func (rs *Ruleset) Offload() (ok bool, reason string) {
	why := analyseOffload(rs)
	return why == "", why
}

// analyseOffload returns "" if the program may offload, or why not.
func analyseOffload(rs *Ruleset) string {
	for _, h := range offloadHooks {
		for _, id := range HookOrder[h] {
			t := rs.Table(id)
			if id == NAT || t == nil {
				continue
			}
			c := t.Chain(h.String())
			if c == nil {
				continue
			}
			if id == Raw && len(c.Rules) > 0 {
				return fmt.Sprintf("raw %s has rules, which run before conntrack", c.Name)
			}
			fate, why := chainFate(t, c, 0)
			switch {
			case fate == fateUnknown:
				return why
			case fate == fateAcceptOrEnd && c.Policy != PolicyAccept:
				return fmt.Sprintf("%s, and those it does not accept get the policy, %s", why, c.Policy)
			case fate == fateEnd && c.Policy != PolicyAccept:
				return fmt.Sprintf("%s %s: the policy of established packets is %s", id, c.Name, c.Policy)
			}
		}
	}
	return ""
}

// chainFate walks chain c of table t for an offloaded packet.
//
// A pure rule that may or may not match is no obstacle when the packet's
// fate is the same either way: an ACCEPT that, unmatched, leaves the
// packet to a later ACCEPT (kube-proxy's `-m mark --mark 0x4000/0x4000
// -j ACCEPT` before its ESTABLISHED rule), or a jump to a chain that
// only returns. Such an ACCEPT makes the rest of the walk's end an
// "accept or end" (fateAcceptOrEnd), which a built-in chain with an
// ACCEPT policy, or a caller that reaches an ACCEPT, settles.
func chainFate(t *Table, c *Chain, depth int) (offloadFate, string) {
	if depth > offloadMaxDepth {
		return fateUnknown, fmt.Sprintf("%s %s: jumps nest too deep", t.ID, c.Name)
	}
	maybe := "" // the first rule passed that may have accepted, if any
	end := func(f offloadFate) (offloadFate, string) {
		if f == fateEnd && maybe != "" {
			return fateAcceptOrEnd, maybe
		}
		return f, ""
	}
	for i, r := range c.Rules {
		outcome, pure := ruleOutcome(r)
		if outcome == outcomeNever {
			continue
		}
		unsure := fmt.Sprintf("%s %s rule %d: established packets may or may not match it", t.ID, c.Name, i+1)
		if !pure {
			return fateUnknown, unsure
		}
		switch tg := r.Target.(type) {
		case *StandardTarget:
			switch tg.Verdict {
			case Accept:
				if outcome == outcomeAlways {
					return fateAccept, ""
				}
				if maybe == "" {
					maybe = unsure
				}
				continue
			case Return:
				if outcome == outcomeAlways {
					return end(fateEnd)
				}
			}
		case *JumpTarget:
			sub := t.Chain(tg.Chain)
			if sub == nil || tg.Goto {
				break
			}
			fate, why := chainFate(t, sub, depth+1)
			switch {
			case fate == fateAccept && outcome == outcomeAlways:
				return fateAccept, ""
			case fate == fateEnd:
				continue // the chain returns, whether it is jumped to or not
			case fate == fateAccept || fate == fateAcceptOrEnd:
				if maybe == "" {
					maybe = unsure
				}
				continue
			}
			return fateUnknown, why
		}
		if outcome == outcomeDepends {
			return fateUnknown, unsure
		}
		return fateUnknown, fmt.Sprintf("%s %s rule %d: its target applies to established packets", t.ID, c.Name, i+1)
	}
	return end(fateEnd)
}

// ruleOutcome says whether rule r matches offloaded packets. The header
// and the pure matches are evaluated for nothing but their outcome, so
// a rule that surely fails on a later match never matches; a match with
// side effects (limit, recent, quota…) makes the rule depend on the
// packet, whatever follows it.
func ruleOutcome(r *Rule) (o matchOutcome, pure bool) {
	h := &r.Header
	if h.Fragment == Yes {
		return outcomeNever, true // offloaded packets are never fragments
	}
	out := outcomeAlways
	if h.Proto != 0 || !h.Src.IsZero() || !h.Dst.IsZero() || !h.In.IsZero() || !h.Out.IsZero() {
		out = outcomeDepends
	}
	for _, m := range r.Matches {
		o, pure := matchOffload(m)
		if !pure {
			return outcomeDepends, false
		}
		if o == outcomeNever {
			return outcomeNever, true
		}
		if o == outcomeDepends {
			out = outcomeDepends
		}
	}
	return out, true
}

// matchOffload says whether m matches offloaded packets, and whether it
// is pure (has no side effect).
func matchOffload(m Match) (o matchOutcome, pure bool) {
	switch m := m.(type) {
	case *CommentMatch:
		return outcomeAlways, true
	case *StateMatch:
		// state_mt sees the one bit ESTABLISHED.
		return outcomeOf((m.States&StateEstablished != 0) != m.Invert), true
	case *ConntrackMatch:
		if m.Flags != CTMatchState {
			return outcomeDepends, true
		}
		// conntrack_mt sees ESTABLISHED, with SNAT or DNAT if the
		// connection is NATed: the rule is decided only when the
		// pseudo-states do not matter.
		inv := m.Invert&CTMatchState != 0
		switch {
		case m.States&StateEstablished != 0:
			return outcomeOf(!inv), true
		case m.States&(StateSNAT|StateDNAT) == 0:
			return outcomeOf(inv), true
		}
		return outcomeDepends, true
	case *TCPMatch:
		// Offloaded segments carry no SYN, FIN or RST: a --tcp-flags
		// (or --syn) that wants one of them never matches them, as the
		// MSS clamping rule every router has (--tcp-flags SYN,RST SYN).
		if !m.FlagInvert && m.FlagComp&(packet.TCPSyn|packet.TCPFin|packet.TCPRst) != 0 {
			return outcomeNever, true
		}
		return outcomeDepends, true
	case *UDPMatch, *MultiportMatch, *MarkMatch, *ConnmarkMatch, *IPRangeMatch,
		*AddrTypeMatch, *LengthMatch, *ICMPMatch, *TTLMatch, *HLMatch, *TOSMatch, *DSCPMatch:
		return outcomeDepends, true
	}
	return outcomeDepends, false
}

func outcomeOf(always bool) matchOutcome {
	if always {
		return outcomeAlways
	}
	return outcomeNever
}
