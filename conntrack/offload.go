package conntrack

import (
	"net/netip"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// Flow offload, in the manner of the kernel's flowtable
// (nf_flow_table_core.c): a connection marked OFFLOAD has its
// established packets forwarded by the fast path, Forward, which skips
// the rules and the protocol tracker. It refreshes the connection's
// timeout and counts the packet, as the slow path would for an
// established packet, and leaves the TCP window to the endpoints:
// a packet the tracker would have found out of window passes, as it
// does through the kernel's flowtable.
//
// Whatever takes the slow path ends the offload first (In clears the
// bit): a SYN, FIN or RST, a fragment, a packet the caller sends there.
// The TCP tracker then relearns the windows from the next packet in
// each direction (td_maxwin = 0, as flow_offload_fixup_tcp leaves it),
// since it did not see the offloaded ones.

// Flow is what a packet's rewrite needs of its offloaded connection.
type Flow struct {
	// Dir is the packet's direction.
	Dir Dir
	// Status and Mark are the connection's.
	Status Status
	Mark   uint32
	// Other is the connection's tuple in the direction the packet does
	// not travel when it is NATed (Status has StatusSrcNAT or
	// StatusDstNAT), zero otherwise: what nat.ApplyOther rewrites the
	// packet from.
	Other Tuple
}

// Offload marks the connection of r offloaded, if it can be: confirmed,
// ESTABLISHED (seen in both directions), TCP in the ESTABLISHED state
// or an ASSURED UDP stream, with no helper, no sequence adjustment and no
// SYNPROXY (nft_flow_offload_eval's conditions). It reports whether the
// connection is offloaded.
func (t *Table) Offload(r *Result) bool {
	if r.isNew || r.State != Established || r.ref.shard == nil || r.Help.Helper != nil ||
		r.Status&(StatusSeqAdjust|StatusHelper|statusSynproxy) != 0 {
		return false
	}
	switch r.ref.tuple.Proto {
	case packet.ProtoTCP:
		if r.TCPState != TCPEstablished {
			return false
		}
	case packet.ProtoUDP:
		if r.Status&StatusAssured == 0 {
			return false // not yet a stream: the slow path still changes it
		}
	default:
		return false
	}
	s := r.ref.shard
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.stillThere(&r.ref, &r.natOther)
	if !ok || c.status&StatusSeenReply == 0 {
		return false
	}
	c.status |= StatusOffload
	r.Status = c.status
	return true
}

// Forward is the offload fast path: it finds the offloaded connection
// of p, a TCP or UDP packet in zone 0, and if accept agrees, it
// refreshes the connection's timeout, counts the packet and fills f.
// accept is called, with the connection's shard locked, with the
// packet's destination after the connection's DNAT, for the routing
// decision. Forward reports false, changing nothing, for a packet the
// slow path must see: one of no offloaded connection, a fragment, a TCP
// packet with SYN, FIN or RST, or one accept refuses.
func (t *Table) Forward(f *Flow, p *packet.Packet, now time.Time, accept func(dst netip.Addr) bool) bool {
	if p.Fragment || p.Invalid != packet.OK || p.L4Off == 0 {
		return false
	}
	switch p.Proto {
	case packet.ProtoTCP:
		if p.TCPFlags&(packet.TCPSyn|packet.TCPFin|packet.TCPRst) != 0 {
			return false
		}
	case packet.ProtoUDP:
	default:
		return false
	}
	var tp Tuple
	if !tupleOf(&tp, p, 0) {
		return false
	}
	ns := now.UnixNano()
	var loc located
	if !t.locate(&loc, &tp, ns) {
		t.runPendingDestroyHooks()
		return false
	}
	c := loc.c
	if c.status&StatusOffload == 0 {
		loc.s.mu.Unlock()
		return false
	}
	f.Dir, f.Status, f.Mark = loc.dir, c.status, c.mark
	// The packet goes to the source of the other direction's tuple:
	// without NAT, where it is addressed.
	dst := tp.DstAddr()
	if loc.nat {
		f.Other = loc.other
		dst = loc.other.SrcAddr()
	}
	if !accept(dst) {
		loc.s.mu.Unlock()
		return false
	}
	if c.status&StatusFixedTimeout == 0 {
		c.setTimeout(ns, t.offloadTimeout(loc.tcp))
	}
	c.counters[loc.dir].add(p.WireLength)
	loc.s.mu.Unlock()
	return true
}

// offloadTimeout is the timeout the slow path gives an established
// packet of an offloaded connection: its TCP state's (ESTABLISHED), or
// UDP's stream timeout.
func (t *Table) offloadTimeout(tcp *tcpTrack) time.Duration {
	if tcp != nil {
		return t.cfg.Timeouts.TCP[tcp.state]
	}
	return t.cfg.Timeouts.UDPStream
}

// endOffload clears a connection's OFFLOAD bit before the slow path
// tracks its packet, and has the TCP tracker relearn the windows it did
// not follow (flow_offload_fixup_tcp). The shard is locked.
func endOffload(c *connState, tcp *tcpTrack) {
	c.status &^= StatusOffload
	if tcp != nil {
		for d := range tcp.seen {
			tcp.seen[d].maxWin = 0
			tcp.flags[d] &^= tcpFlagMaxAckSet
		}
	}
}
