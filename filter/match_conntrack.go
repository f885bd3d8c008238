package filter

import "time"

// ConntrackFlags says which conditions of a ConntrackMatch are set, as
// xt_conntrack's match_flags; the same bits in Invert are the '!'s.
type ConntrackFlags uint16

// The conntrack match conditions, with xt_conntrack's XT_CONNTRACK_* bits.
const (
	CTMatchState ConntrackFlags = 1 << iota
	CTMatchProto
	CTMatchOrigSrc
	CTMatchOrigDst
	CTMatchReplSrc
	CTMatchReplDst
	CTMatchStatus
	CTMatchExpires
	CTMatchOrigSrcPort
	CTMatchOrigDstPort
	CTMatchReplSrcPort
	CTMatchReplDstPort
	CTMatchDirection
)

// CTStatus bits (enum ip_conntrack_status, IPS_*), as --ctstatus names
// them.
const (
	StatusExpected  uint32 = 1 << 0
	StatusSeenReply uint32 = 1 << 1
	StatusAssured   uint32 = 1 << 2
	StatusConfirmed uint32 = 1 << 3
	StatusSrcNAT    uint32 = 1 << 4
	StatusDstNAT    uint32 = 1 << 5
	// StatusSrcNATDone is IPS_SRC_NAT_DONE: source NAT is set up.
	StatusSrcNATDone uint32 = 1 << 7
)

// ConntrackMatch is -m conntrack (xt_conntrack.c, conntrack_mt, revision
// 3): the state, status, direction, protocol, time left, and the
// addresses and ports of both tuples, which CTInfo fills on demand.
type ConntrackMatch struct {
	// Flags are the conditions set; Invert their '!'s.
	Flags, Invert ConntrackFlags
	// States is --ctstate, including the SNAT and DNAT pseudo-states.
	States CTState
	// Proto is --ctproto (0 for "all").
	Proto uint8
	// OrigSrc, OrigDst, ReplSrc and ReplDst are --ctorigsrc and friends.
	OrigSrc, OrigDst, ReplSrc, ReplDst Net
	// OrigSrcPort … ReplDstPort are --ctorigsrcport and friends.
	OrigSrcPort, OrigDstPort, ReplSrcPort, ReplDstPort PortRange
	// Status is --ctstatus, a set of Status* bits.
	Status uint32
	// ExpireMin and ExpireMax are --ctexpire, in seconds.
	ExpireMin, ExpireMax uint32
	// Reply is --ctdir: false for ORIGINAL, true for REPLY.
	Reply bool
}

// Name returns "conntrack".
func (*ConntrackMatch) Name() string { return "conntrack" }

// Match evaluates the conditions in conntrack_mt's order.
func (m *ConntrackMatch) Match(c *Context) bool {
	ct := &c.CT
	has := ct.hasConn()
	if m.Flags&CTMatchState != 0 {
		bit := ct.stateBit()
		if has {
			if ct.Status&StatusSrcNAT != 0 {
				bit |= StateSNAT
			}
			if ct.Status&StatusDstNAT != 0 {
				bit |= StateDNAT
			}
		}
		if (bit&m.States != 0) == (m.Invert&CTMatchState != 0) {
			return false
		}
		if m.Flags == CTMatchState {
			return true // the common rule: --ctstate alone
		}
	}
	if !has {
		// Without an entry only the state can be tested: a rule with
		// other conditions and no --ctstate does not match.
		return m.Flags&CTMatchState != 0
	}
	if m.Flags&CTMatchDirection != 0 && ct.Reply != m.Reply {
		// The nft backend's "ct direction" semantics: ORIGINAL matches
		// packets in the original direction.
		return false
	}
	if m.Flags&(CTMatchOrigSrc|CTMatchOrigDst|CTMatchReplSrc|CTMatchReplDst|
		CTMatchOrigSrcPort|CTMatchOrigDstPort|CTMatchReplSrcPort|CTMatchReplDstPort) != 0 {
		ct.Tuples()
	}
	// Each remaining condition holds, or fails when inverted (the
	// invert flag XORs the test, as in conntrack_mt).
	test := func(flag ConntrackFlags, ok bool) bool {
		return m.Flags&flag == 0 || ok != (m.Invert&flag != 0)
	}
	expires := uint32(ct.Expire / time.Second)
	return test(CTMatchProto, ct.Proto == m.Proto) &&
		test(CTMatchOrigSrc, m.OrigSrc.Contains(ct.OrigSrc)) &&
		test(CTMatchOrigDst, m.OrigDst.Contains(ct.OrigDst)) &&
		test(CTMatchReplSrc, m.ReplSrc.Contains(ct.ReplSrc)) &&
		test(CTMatchReplDst, m.ReplDst.Contains(ct.ReplDst)) &&
		test(CTMatchOrigSrcPort, m.OrigSrcPort.Contains(ct.OrigSrcPort)) &&
		test(CTMatchOrigDstPort, m.OrigDstPort.Contains(ct.OrigDstPort)) &&
		test(CTMatchReplSrcPort, m.ReplSrcPort.Contains(ct.ReplSrcPort)) &&
		test(CTMatchReplDstPort, m.ReplDstPort.Contains(ct.ReplDstPort)) &&
		test(CTMatchStatus, ct.Status&m.Status != 0) &&
		test(CTMatchExpires, expires >= m.ExpireMin && expires <= m.ExpireMax)
}

// NeedsConntrack reports true.
func (*ConntrackMatch) NeedsConntrack() bool { return true }
