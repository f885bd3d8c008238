package conntrack

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// NAT support in the table. A connection whose reply tuple NAT changed is
// stored, like any other, under its original tuple in that tuple's shard;
// the changed reply tuple is kept beside it (shard.replies) and indexed
// here, so a reply-direction packet finds it. The kernel hashes both
// tuples into one table; nfgo's compact stores find the reply direction
// by inverting the original, which NAT breaks, hence this index. It also
// keeps the kernel's bysource chains: the source-NATed connections of
// each original source, which NAT's tuple selection consults to give a
// host the same public address and port again.
//
// Lock order: a shard's mutex, then natIndex.mu.
type natIndex struct {
	mu      sync.RWMutex
	byReply map[Tuple]natRef
	bySrc   map[srcKey][]Tuple
	n       atomic.Int64
}

// natRef names a NATed connection from its reply tuple.
type natRef struct {
	ref
	orig Tuple
}

// srcKey is what find_appropriate_src compares: the original source.
type srcKey struct {
	addr        [16]byte
	port, zone  uint16
	family, pro uint8
}

func srcKeyOf(t *Tuple) srcKey {
	return srcKey{addr: t.Src, port: t.SrcPort, zone: t.Zone, family: uint8(t.Family), pro: t.Proto}
}

// natted reports whether NAT changed the entry's reply tuple.
func (e *entry) natted() bool {
	inv, _ := e.tuple[Original].Invert()
	return e.tuple[Reply] != inv
}

func (x *natIndex) has(reply *Tuple) bool {
	if x.n.Load() == 0 {
		return false
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	_, ok := x.byReply[*reply]
	return ok
}

func (x *natIndex) add(orig, reply Tuple, rf ref, status Status) {
	rf.natted, rf.tuple, rf.dir = true, reply, Reply
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.byReply == nil {
		x.byReply, x.bySrc = map[Tuple]natRef{}, map[srcKey][]Tuple{}
	}
	x.byReply[reply] = natRef{ref: rf, orig: orig}
	if status&StatusSrcNAT != 0 {
		k := srcKeyOf(&orig)
		x.bySrc[k] = append(x.bySrc[k], reply)
	}
	x.n.Add(1)
}

func (x *natIndex) forget(orig, reply Tuple) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.byReply[reply]; !ok {
		return
	}
	delete(x.byReply, reply)
	k := srcKeyOf(&orig)
	if l := x.bySrc[k]; len(l) > 0 {
		for i, r := range l {
			if r == reply {
				l = append(l[:i], l[i+1:]...)
				break
			}
		}
		if len(l) == 0 {
			delete(x.bySrc, k)
		} else {
			x.bySrc[k] = l
		}
	}
	x.n.Add(-1)
}

// lookup returns the connection whose NAT-changed reply tuple is tp.
func (x *natIndex) lookup(tp *Tuple) (natRef, bool) {
	if x.n.Load() == 0 {
		return natRef{}, false
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	rf, ok := x.byReply[*tp]
	return rf, ok
}

// SetReply gives the unconfirmed connection of a NEW packet the reply
// tuple NAT chose for it, with the NAT status bits (IPS_SRC_NAT,
// IPS_DST_NAT and the _DONE bits), as nf_conntrack_alter_reply and
// nf_nat_setup_info do. It does nothing for a packet whose connection is
// already confirmed.
func (r *Result) SetReply(reply Tuple, status Status) {
	if !r.isNew {
		return
	}
	r.pending.tuple[Reply] = reply
	r.pending.status |= status
	r.Status = r.pending.status
}

// Pending reports whether the packet's connection is new and not yet
// confirmed: the only time NAT chooses its binding.
func (r *Result) Pending() bool { return r.isNew }

// Taken reports whether a tuple is in use by a confirmed connection, in
// either direction (nf_conntrack_tuple_taken): NAT's tuple selection must
// not pick it.
func (t *Table) Taken(tp Tuple, now time.Time) bool {
	_, _, ok := t.Get(tp, now)
	return ok
}

// SourceMapping returns the reply tuple of the i-th source-NATed
// connection whose original source (address, port, protocol, zone) is
// orig's: the kernel's bysource chain, which find_appropriate_src walks so
// that a host keeps its public address and port.
func (t *Table) SourceMapping(orig Tuple, i int) (Tuple, bool) {
	if t.nat.n.Load() == 0 {
		return Tuple{}, false
	}
	t.nat.mu.RLock()
	defer t.nat.mu.RUnlock()
	l := t.nat.bySrc[srcKeyOf(&orig)]
	if i >= len(l) {
		return Tuple{}, false
	}
	return l[i], true
}

// located is a connection found for a tuple, with its shard locked.
type located struct {
	s     *shard
	kind  storeKind
	slot  uint32
	c     *connState
	tcp   *tcpTrack
	born  uint32
	dir   Dir
	nat   bool
	other Tuple // with nat: the original tuple
}

// locate finds the connection a tuple belongs to, in either direction,
// including by a reply tuple NAT changed, reaping it if it has expired,
// and fills loc. When it reports true the connection's shard is locked,
// and the caller unlocks loc.s.mu.
func (t *Table) locate(loc *located, tp *Tuple, ns int64) bool {
	var pr probe
	t.prepare(&pr, tp)
	pr.s.mu.Lock()
	c, tcp, born, slot, dir, found := t.find(&pr, ns)
	if found {
		loc.s, loc.kind, loc.slot, loc.c, loc.tcp, loc.born, loc.dir, loc.nat = pr.s, pr.kind, slot, c, tcp, born, dir, false
		if c.status&(StatusSrcNAT|StatusDstNAT) != 0 {
			// Found by its original tuple; its reply tuple is the one NAT
			// chose, kept beside it.
			loc.nat, loc.other = true, pr.s.replies[labelKey(pr.kind, slot)]
		}
		return true
	}
	pr.s.mu.Unlock()
	if t.nat.n.Load() == 0 {
		return false
	}
	rf, ok := t.nat.lookup(tp)
	if !ok {
		return false
	}
	s := rf.shard
	s.mu.Lock()
	if _, ok := s.stillThere(&rf.ref, &rf.orig); !ok {
		s.mu.Unlock()
		return false
	}
	c, tcp, born = s.conn(rf.kind, rf.slot)
	if c.expired(ns) {
		t.remove(s, rf.kind, rf.slot, ns)
		s.mu.Unlock()
		return false
	}
	*loc = located{s: s, kind: rf.kind, slot: rf.slot, c: c, tcp: tcp, born: born, dir: Reply, nat: true, other: rf.orig}
	return true
}

// setRef records in r the located connection found by the packet's
// tuple tp.
func (loc *located) setRef(r *Result, tp *Tuple) {
	r.ref = ref{shard: loc.s, kind: loc.kind, slot: loc.slot, tuple: *tp, dir: loc.dir, natted: loc.nat}
	if loc.nat {
		r.natOther = loc.other
	}
}

// SetMasquerade records that MASQUERADE chose the unconfirmed
// connection's source address from output interface iface, a number the
// caller gives each interface (not 0), as the kernel keeps the ifindex in
// nf_conn_nat.masq_index. [Table.FlushMasquerade] then finds it when the
// interface goes down or loses the address.
func (r *Result) SetMasquerade(iface uint32) {
	if r.isNew {
		r.pending.masq = iface
	}
}

// FlushMasquerade deletes the connections MASQUERADE bound to interface
// iface, as the kernel does when the interface goes down (addr invalid)
// or loses address addr (only those whose reply tuple is addressed to
// it), so that their hosts start afresh with a new address instead of
// sending into a dead binding. It returns how many it deleted.
func (t *Table) FlushMasquerade(iface uint32, addr netip.Addr, now time.Time) int {
	ns := now.UnixNano()
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for k, m := range s.masq {
			if m != iface {
				continue
			}
			kind, slot := storeKind(k>>32), uint32(k)
			if addr.IsValid() {
				if reply, ok := s.replies[k]; !ok || reply.DstAddr() != addr.Unmap() {
					continue
				}
			}
			t.remove(s, kind, slot, ns)
			n++
		}
		s.mu.Unlock()
	}
	return n
}
