package conntrack

import (
	"time"

	"github.com/nfgo/nfgo/packet"
)

// Result is what conntrack decided for one packet at the conntrack-in
// step (nf_conntrack_in), carried by the packet to Confirm at the end of
// its path, as the kernel carries skb->_nfct.
type Result struct {
	// State is the packet's state; Dir its direction (Reply is the
	// kernel's IS_REPLY).
	State State
	Dir   Dir
	// Reason says why the packet is INVALID, or why it must be dropped
	// (Drop).
	Reason string
	// Drop is set when conntrack itself drops the packet (the table is
	// full).
	Drop bool
	// Status and Mark are the connection's, after this packet.
	Status Status
	Mark   uint32
	// TCPState is the connection's TCP state after this packet.
	TCPState TCPState
	// Expire is the time the connection has left, for the conntrack
	// match.
	Expire time.Duration

	// Help is the connection's helper and the helper's state, as the
	// packet found them (a helper stores a changed state with
	// Table.SetHelpData); MasterHelper is the helper of the master of a
	// connection an expectation created. Nil helpers if none.
	Help         Help
	MasterHelper Helper

	ref      ref
	natOther Tuple // with ref.natted: the tuple of the other direction
	// expected is the expectation that created a new connection, with
	// fromExpectation set (see Expected).
	expected        Expectation
	fromExpectation bool
	// madeExpectations says a helper registered expectations of the
	// unconfirmed connection: confirming it lets them match, abandoning
	// it drops them.
	madeExpectations bool
	// synproxy is the connection's SYNPROXY state (see Synproxy).
	synproxy Synproxy
	// killed says the packet ended its connection (an RST before any
	// reply): it is gone from the table, but the packet keeps its
	// sequence adjustment, killedAdj, as an skb keeps its ct.
	killed    bool
	killedAdj [2]SeqAdj
	pending   entry // the unconfirmed entry of a NEW packet
	isNew     bool
	// reservedBy is the table that holds pending's NAT reply tuple
	// reserved, nil if none.
	reservedBy *Table
}

// ref names a stored connection: its shard, store and slot, and the
// tuple of the packet that found it with that tuple's direction, from
// which its original tuple follows (and which tells whether the slot
// still holds it).
type ref struct {
	shard *shard
	kind  storeKind
	slot  uint32
	tuple Tuple
	dir   Dir
	// natted says NAT changed the reply tuple; the Result's natOther is
	// then the connection's tuple in the other direction.
	natted bool
}

// Proto returns the connection's layer-4 protocol (for an ICMP error, the
// protocol of the connection it is RELATED to).
func (r *Result) Proto() uint8 {
	if r.isNew {
		return r.pending.tuple[Original].Proto
	}
	return r.ref.tuple.Proto
}

// Tuple returns the connection's tuple in direction d (for a packet
// attached to a connection).
func (r *Result) Tuple(d Dir) Tuple {
	if r.isNew {
		return r.pending.tuple[d]
	}
	if d == r.ref.dir {
		return r.ref.tuple
	}
	if r.ref.natted {
		return r.natOther
	}
	t, _ := r.ref.tuple.Invert()
	return t
}

// Tracked reports whether the packet is attached to a connection.
func (r *Result) Tracked() bool { return r.State != Invalid && r.State != Untracked }

// Reset empties r for reuse. The unconfirmed entry is left as it is:
// only a NEW packet uses it, and start overwrites it whole.
func (r *Result) Reset() {
	if r.reservedBy != nil {
		r.reservedBy.releaseReply(r)
	}
	r.State, r.Dir, r.Reason, r.Drop = Invalid, Original, "", false
	r.Status, r.Mark, r.TCPState, r.Expire = 0, 0, TCPNone, 0
	r.ref, r.isNew = ref{}, false
	r.Help, r.MasterHelper, r.fromExpectation, r.madeExpectations = Help{}, nil, false, false
	r.synproxy, r.killed, r.killedAdj = Synproxy{}, false, [2]SeqAdj{}
}

// icmpv6Untracked are the ICMPv6 types conntrack leaves untracked:
// MLD and neighbour discovery (noct_valid_new in
// nf_conntrack_proto_icmpv6.c).
func icmpv6Untracked(typ uint8) bool {
	return typ >= 130 && typ <= 136 || typ == 143
}

// In classifies p (nf_conntrack_in) at PREROUTING or OUTPUT: it finds
// the connection from either direction, runs the protocol tracker, and
// fills r. A packet of a new connection gets an unconfirmed entry that
// only Confirm puts in the table. checksum asks for checksum verification
// (the kernel verifies at PREROUTING only).
func (t *Table) In(r *Result, p *packet.Packet, zone uint16, now time.Time, checksum bool) {
	t.in(r, p, zone, now, checksum)
	t.runPendingDestroyHooks()
}

func (t *Table) in(r *Result, p *packet.Packet, zone uint16, now time.Time, checksum bool) {
	r.Reset()
	ns := now.UnixNano()
	if p.Family != packet.IPv4 && p.Family != packet.IPv6 {
		r.Reason = "not IP"
		return
	}
	if p.Fragment && p.FragOffset != 0 {
		// The kernel reassembles fragments before conntrack; nfgo does
		// not yet, and a later fragment has no transport header to
		// track (ipv4_get_l4proto refuses it).
		r.Reason = "non-first fragment"
		t.stats.invalid.Add(1)
		return
	}
	if p.Proto == packet.ProtoICMPv6 && p.L4Off != 0 && icmpv6Untracked(p.ICMPType) {
		r.State = Untracked
		return
	}
	if why := t.protoError(p, checksum && !t.cfg.NoChecksum); why != "" {
		r.Reason = why
		t.stats.invalid.Add(1)
		return
	}
	if p.IsICMPError() {
		t.related(r, p, zone, ns)
		return
	}
	var tp Tuple
	ok := tupleOf(&tp, p, zone)
	if ok && tp.Proto == packet.ProtoGRE && p.GREVersion == 1 {
		tp.SrcPort = t.gre.srcKey(&tp) // as Table.TupleOf
	}
	if !ok {
		r.Reason = "no tuple"
		t.stats.invalid.Add(1)
		return
	}
	var loc located
	for attempt := 0; attempt < 2; attempt++ {
		if !t.locate(&loc, &tp, ns) {
			t.start(r, p, &tp, ns)
			return
		}
		c, tcp := loc.c, loc.tcp
		if c.status&StatusOffload != 0 {
			endOffload(c, tcp)
		}
		oldStatus, oldState := c.status, tcpState(tcp)
		var x connExt
		var adj *[2]SeqAdj
		var sctp *sctpTrack
		if c.status&extStatus != 0 || tp.Proto == packet.ProtoSCTP {
			x = loc.s.ext(loc.kind, loc.slot)
			if c.status&StatusSeqAdjust != 0 {
				adj = &x.seqadj
			}
		}
		var oldSCTP sctpTrack
		if tp.Proto == packet.ProtoSCTP {
			sctp, oldSCTP = &x.sctp, x.sctp
		}
		res := t.update(c, tcp, sctp, loc.born, p, loc.dir, ns, adj, true)
		if sctp != nil && *sctp != oldSCTP {
			// The tracker's changes stand even for a packet it finds
			// invalid, as the kernel's do.
			loc.s.setExt(loc.kind, loc.slot, x)
		}
		if res.repeat {
			// A new SYN reopens a closed connection: forget the old one
			// and look again.
			t.remove(loc.s, loc.kind, loc.slot, ns)
			loc.s.mu.Unlock()
			t.stats.searchRestart.Add(1)
			continue
		}
		loc.s.found++
		if res.invalid {
			if res.shrink {
				if left := c.left(ns); left >= 120*time.Second && left > res.timeout {
					c.setTimeout(ns, res.timeout)
				}
			}
			loc.s.mu.Unlock()
			r.Reason = res.reason
			t.stats.invalid.Add(1)
			return
		}
		t.account(r, c, tcp, p, loc.dir, res, ns)
		r.Help, r.MasterHelper, r.synproxy = x.help, x.master, x.synproxy
		loc.setRef(r, &tp)
		if c.status != oldStatus || tcpState(tcp) != oldState || sctp != nil && sctp.state != oldSCTP.state {
			t.emitStored(EventUpdate, loc.s, loc.kind, loc.slot, ns)
		}
		if res.kill {
			r.killed, r.killedAdj = true, x.seqadj
			t.remove(loc.s, loc.kind, loc.slot, ns)
		}
		loc.s.mu.Unlock()
		return
	}
}

// start prepares the unconfirmed entry of a packet that starts a
// connection (init_conntrack).
func (t *Table) start(r *Result, p *packet.Packet, tp *Tuple, ns int64) {
	reply, ok := tp.Invert()
	if !ok {
		r.Reason = "cannot invert tuple"
		t.stats.invalid.Add(1)
		return
	}
	if t.count.Load() >= int64(t.cfg.Max) && !t.earlyDrop(t.probeOf(tp).s, ns) {
		r.Drop, r.Reason = true, ErrTableFull.Error()
		t.stats.drop.Add(1)
		return
	}
	e := &r.pending
	*e = entry{tuple: [2]Tuple{*tp, reply}, started: ns}
	e.born = ticks(ns)
	var why string
	if p.Proto == packet.ProtoTCP {
		why = e.tcp.start(p, &t.cfg.TCP)
	} else {
		why = protoStart(p)
	}
	if why != "" {
		r.Reason = why
		t.stats.invalid.Add(1)
		return
	}
	tcp, sctp := &e.tcp, &e.ext.sctp
	if p.Proto != packet.ProtoTCP {
		tcp = nil
	}
	if p.Proto != packet.ProtoSCTP {
		sctp = nil
	}
	res := t.update(&e.connState, tcp, sctp, e.born, p, Original, ns, nil, false)
	if res.invalid {
		r.Reason = res.reason
		t.stats.invalid.Add(1)
		return
	}
	t.matchExpectation(r, e, ns)
	r.isNew = true
	t.account(r, &e.connState, tcp, p, Original, res, ns)
	r.Help, r.MasterHelper = e.ext.help, e.ext.master
}

// tcpState returns the TCP state, or TCPNone without TCP tracking.
func tcpState(tcp *tcpTrack) TCPState {
	if tcp == nil {
		return TCPNone
	}
	return tcp.State()
}

// update runs the protocol tracker for a packet of connection e; tcp is
// its TCP tracking state, nil for other protocols, sctp its SCTP state,
// nil for other protocols, adj its sequence adjustment, nil if it has
// none, and confirmed false for the connection's first packet.
func (t *Table) update(e *connState, tcp *tcpTrack, sctp *sctpTrack, born uint32, p *packet.Packet, dir Dir, ns int64, adj *[2]SeqAdj, confirmed bool) protoResult {
	if sctp != nil {
		return t.sctpUpdate(sctp, p, dir, confirmed)
	}
	if tcp != nil {
		var ackOff int32
		if adj != nil {
			ackOff = seqOffset(adj, 1-dir, p.Ack-1)
		}
		res := tcp.update(p, dir, e.status, &t.cfg.TCP, &t.cfg.Timeouts, ackOff)
		return protoResult{invalid: res.Invalid, reason: res.Reason, timeout: res.Timeout,
			assured: res.Assured, repeat: res.Repeat, kill: res.Kill, shrink: res.Shrink}
	}
	return t.protoUpdate(e, born, p, ns)
}

// account applies an accepted packet to its entry and fills r: the
// timeout, ASSURED, the counters, the ctinfo, and SEEN_REPLY, which the
// kernel sets after the tracker accepted a reply.
func (t *Table) account(r *Result, e *connState, tcp *tcpTrack, p *packet.Packet, dir Dir, res protoResult, ns int64) {
	if e.status&StatusFixedTimeout == 0 && res.timeout > 0 {
		e.setTimeout(ns, res.timeout)
	}
	if res.assured {
		e.status |= StatusAssured
	}
	// The kernel counts a packet when it refreshes the timeout
	// (nf_ct_refresh_acct) or kills the entry with it (nf_ct_kill_acct);
	// a packet the tracker ignores, or a SYN retransmitted before any
	// reply, is not counted.
	if res.timeout > 0 || res.kill {
		e.counters[dir].add(p.WireLength)
	}
	switch {
	case dir == Reply:
		r.State = Established
		e.status |= StatusSeenReply
	case e.status&StatusSeenReply != 0:
		r.State = Established
	case e.status&StatusExpected != 0:
		r.State = Related
	default:
		r.State = New
	}
	r.Dir = dir
	r.Status, r.Mark, r.TCPState = e.status, e.mark, tcpState(tcp)
	r.Expire = e.left(ns)
}

// related handles an ICMP or ICMPv6 error (nf_conntrack_inet_error): the
// packet it carries is looked up, inverted, as a connection; the error is
// RELATED to it, in the reply direction if it was found by its reply
// tuple. An error about no known connection is INVALID.
func (t *Table) related(r *Result, p *packet.Packet, zone uint16, ns int64) {
	var inner packet.Packet
	if !p.Embedded(&inner) {
		r.Reason = "not enough data for embedded packet"
		t.stats.invalid.Add(1)
		return
	}
	it, ok := t.TupleOf(&inner, zone)
	if !ok {
		r.Reason = "embedded packet has no tuple"
		t.stats.invalid.Add(1)
		return
	}
	// The embedded packet travelled towards the sender of the error, so
	// the connection is found by its inverse.
	want, ok := it.Invert()
	if !ok {
		r.Reason = "embedded tuple cannot be inverted"
		t.stats.invalid.Add(1)
		return
	}
	var loc located
	if !t.locate(&loc, &want, ns) {
		r.Reason = "no connection for the embedded packet"
		t.stats.invalid.Add(1)
		return
	}
	defer loc.s.mu.Unlock()
	c, tcp, dir := loc.c, loc.tcp, loc.dir
	// The inner packet's destination is where the error goes back to: a
	// forged error aimed at a third host is not RELATED
	// (nf_conntrack_inet_error's outer daddr check).
	if p.Dst() != want.DstAddr() {
		r.Reason = "outer daddr does not match the connection"
		t.stats.invalid.Add(1)
		return
	}
	loc.s.found++
	// An ICMP error is attached to the connection but neither refreshes
	// nor counts on it, as in nf_conntrack_inet_error.
	r.State, r.Dir = Related, dir
	r.Status, r.Mark, r.TCPState = c.status, c.mark, tcpState(tcp)
	if c.status&extStatus != 0 {
		x := loc.s.ext(loc.kind, loc.slot)
		r.Help, r.MasterHelper, r.synproxy = x.help, x.master, x.synproxy
	}
	r.Expire = c.left(ns)
	loc.setRef(r, &want)
}

// Confirm puts the unconfirmed entry of a NEW packet in the table, as
// nf_conntrack_confirm does when the packet leaves the host's hooks
// accepted. A packet that is dropped is never confirmed, so it leaves no
// entry. It returns false if the connection could not be inserted
// because another packet confirmed the same tuples first; the kernel then
// drops the packet (except for UDP, whose clash resolution keeps the
// existing entry, which nfgo also does).
func (t *Table) Confirm(r *Result) bool {
	if !r.isNew {
		return true
	}
	r.isNew = false
	e := &r.pending
	e.status |= StatusConfirmed
	pr := t.probeOf(&e.tuple[Original])
	pr.s.mu.Lock()
	defer pr.s.mu.Unlock()
	reserved := r.reservedBy == t
	r.reservedBy = nil
	slot, ok := t.insert(&pr, e, reserved)
	made := r.madeExpectations
	r.madeExpectations = false
	if made {
		if ok {
			t.ext.expect.masterConfirmed(&e.tuple[Original])
		} else {
			t.ext.expect.masterGone(&e.tuple[Original], e.started)
		}
	}
	if !ok {
		if reserved {
			t.nat.release(&e.tuple[Reply])
		}
		t.stats.insertFailed.Add(1)
		// Another packet of the same connection was confirmed first (two
		// first packets of a UDP flow handled at once, like a resolver's
		// A and AAAA queries): if it made the same connection, this
		// packet belongs to it, as nf_ct_resolve_clash merges them.
		return e.tuple[Original].Proto == packet.ProtoUDP && t.sameAsStored(&pr, e)
	}
	t.stats.insert.Add(1)
	t.emit(EventNew, e, e.started, pr.s)
	r.ref = ref{shard: pr.s, kind: pr.kind, slot: slot, tuple: e.tuple[Original], dir: Original}
	if e.natted() {
		r.ref.natted, r.natOther = true, e.tuple[Reply]
	}
	r.Status = e.status
	return true
}

// Untrack marks r as untracked (the raw table's NOTRACK or CT --notrack):
// the packet creates and updates nothing.
func (r *Result) Untrack() {
	r.Reset()
	r.State = Untracked
}

// Counters returns the packets and bytes r's connection has seen in
// each direction, the current packet included (nf_conn_acct, which
// nfgo always keeps); ok is false without a connection.
func (t *Table) Counters(r *Result) (c [2]Counter, ok bool) {
	if !r.Tracked() {
		return c, false
	}
	if r.isNew {
		return [2]Counter{r.pending.counters[0].get(), r.pending.counters[1].get()}, true
	}
	if s := r.ref.shard; s != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if e, ok := s.stillThere(&r.ref, &r.natOther); ok {
			return [2]Counter{e.counters[0].get(), e.counters[1].get()}, true
		}
	}
	return c, false
}

// SetMark sets the connection's mark (CONNMARK), for a tracked packet.
func (t *Table) SetMark(r *Result, mark uint32, now time.Time) {
	if !r.Tracked() {
		return
	}
	r.Mark = mark
	if r.isNew {
		r.pending.mark = mark
		t.ext.expect.setMark(&r.pending.tuple[Original], mark)
		return
	}
	if s := r.ref.shard; s != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		c, ok := s.stillThere(&r.ref, &r.natOther)
		if ok && c.mark != mark {
			c.mark = mark
			t.emitStored(EventUpdate, s, r.ref.kind, r.ref.slot, now.UnixNano())
			t.ext.expect.setMark(&r.ref.tuple, mark)
		}
	}
}
