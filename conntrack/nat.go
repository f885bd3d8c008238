package conntrack

import (
	"encoding/binary"
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
// host the same public address and port again; and the reply tuples that
// unconfirmed connections have chosen, so that two first packets handled
// at once cannot choose the same one (the kernel lets them, and drops
// the second at confirmation).
//
// The index is sharded like the table, by the hash of the reply tuple
// (byReply, reserved) or of the original source (bySrc), so that reply
// packets of NATed flows on different cores do not meet on one lock.
//
// Lock order: a table shard's mutex, then a NAT shard's.
type natIndex struct {
	shards [shardCount]natShard
	n      atomic.Int64 // NATed connections and reservations
	seed   uint64
}

type natShard struct {
	mu sync.Mutex
	// byReply holds the NATed connections by reply tuple, and the
	// reply tuples unconfirmed connections reserved (natRef.reserved).
	byReply openMap[Tuple, natRef]
	bySrc   openMap[srcKey, srcList]
	_       [64]byte // keep neighbours' locks off this cache line
}

// natRef names a NATed connection from its reply tuple by its place in
// the table (shard, store, slot); reserved marks a reservation, which has
// no connection yet. It holds no tuple: a slot the index names still
// holds the connection it named as long as the entry is in the index
// (lockNATed), so the original tuple is read from the store, and a slot
// costs one cache line with its key.
type natRef struct {
	shard    *shard
	slot     uint32
	kind     storeKind
	reserved bool
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

// replyHash hashes a reply tuple as the table hashes any tuple
// (tupleHash, with the table's seed), so that a lookup by a packet's
// tuple that misses the table probes the NAT index with the hash it
// already has. Its top bits pick the NAT shard, the others place it in
// the shard's map.
func (x *natIndex) replyHash(reply *Tuple) uint64 { return tupleHash(reply, x.seed) }

// srcHash hashes an original source as replyHash hashes a reply tuple.
func (x *natIndex) srcHash(k *srcKey) uint64 {
	w0 := binary.LittleEndian.Uint64(k.addr[:8])
	w1 := binary.LittleEndian.Uint64(k.addr[8:]) ^ uint64(k.port)<<48 ^ uint64(k.zone)<<32 ^ uint64(k.family)<<8 ^ uint64(k.pro)
	return xxh64Words(x.seed, w0, w1)
}

func (x *natIndex) shard(h uint64) *natShard { return &x.shards[h>>58] }

// natted reports whether NAT changed the entry's reply tuple.
func (e *entry) natted() bool {
	inv, _ := e.tuple[Original].Invert()
	return e.tuple[Reply] != inv
}

// has reports whether reply is the reply tuple of a NATed connection or
// reserved by an unconfirmed one.
func (x *natIndex) has(reply *Tuple) bool {
	if x.n.Load() == 0 {
		return false
	}
	h := x.replyHash(reply)
	sh := x.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.byReply.get(reply, h) != nil
}

// reserve claims reply for an unconfirmed connection; it fails if a
// connection has it or another unconfirmed one claimed it first.
func (x *natIndex) reserve(reply *Tuple) bool {
	h := x.replyHash(reply)
	sh := x.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.byReply.get(reply, h) != nil {
		return false
	}
	sh.byReply.put(*reply, h, natRef{reserved: true})
	x.n.Add(1)
	return true
}

// release gives up a reservation.
func (x *natIndex) release(reply *Tuple) {
	h := x.replyHash(reply)
	sh := x.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if nr := sh.byReply.get(reply, h); nr != nil && nr.reserved {
		sh.byReply.del(reply, h)
		x.n.Add(-1)
	}
}

// add indexes a confirmed NATed connection, taking over the reservation
// of its reply tuple if it holds one. It fails if another connection has
// the reply tuple or reserved it.
func (x *natIndex) add(orig, reply Tuple, rf natRef, status Status, reserved bool) bool {
	h := x.replyHash(&reply)
	sh := x.shard(h)
	sh.mu.Lock()
	nr := sh.byReply.get(&reply, h)
	if nr != nil && !nr.reserved || (nr != nil) != reserved {
		sh.mu.Unlock()
		return false
	}
	if nr != nil {
		*nr = rf
	} else {
		sh.byReply.put(reply, h, rf)
		x.n.Add(1)
	}
	sh.mu.Unlock()
	if status&StatusSrcNAT != 0 {
		k := srcKeyOf(&orig)
		hs := x.srcHash(&k)
		sh := x.shard(hs)
		sh.mu.Lock()
		if l := sh.bySrc.get(&k, hs); l != nil {
			l.add(reply)
		} else {
			var l srcList
			l.add(reply)
			sh.bySrc.put(k, hs, l)
		}
		sh.mu.Unlock()
	}
	return true
}

func (x *natIndex) forget(orig, reply Tuple) {
	h := x.replyHash(&reply)
	sh := x.shard(h)
	sh.mu.Lock()
	if nr := sh.byReply.get(&reply, h); nr == nil || nr.reserved {
		sh.mu.Unlock()
		return
	}
	sh.byReply.del(&reply, h)
	sh.mu.Unlock()
	x.n.Add(-1)
	k := srcKeyOf(&orig)
	hs := x.srcHash(&k)
	ss := x.shard(hs)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if l := ss.bySrc.get(&k, hs); l != nil {
		l.remove(reply)
		if l.n == 0 {
			ss.bySrc.del(&k, hs)
		}
	}
}

// srcList is the reply tuples of the NATed connections of one original
// source, in the order they were made: the first held in place, so that
// the common case, one connection per source port, needs no slice (a
// map entry holding a slice would allocate for every connection).
type srcList struct {
	n     int
	first Tuple
	more  []Tuple
}

func (l *srcList) add(t Tuple) {
	if l.n == 0 {
		l.first = t
	} else {
		l.more = append(l.more, t)
	}
	l.n++
}

func (l *srcList) at(i int) Tuple {
	if i == 0 {
		return l.first
	}
	return l.more[i-1]
}

func (l *srcList) remove(t Tuple) {
	for i := range l.n {
		if l.at(i) != t {
			continue
		}
		if i == 0 {
			if len(l.more) > 0 {
				l.first = l.more[0]
				l.more = l.more[1:]
			} else {
				l.first = Tuple{}
			}
		} else {
			l.more = append(l.more[:i-1], l.more[i:]...)
		}
		l.n--
		return
	}
}

// SetReply gives the unconfirmed connection of a NEW packet the reply
// tuple NAT chose for it, with the NAT status bits (IPS_SRC_NAT,
// IPS_DST_NAT and the _DONE bits), as nf_conntrack_alter_reply and
// nf_nat_setup_info do. It does nothing for a packet whose connection
// is already confirmed.
//
// The binding that completes the connection's NAT (both _DONE bits set:
// the source binding at POSTROUTING or INPUT, always the last before
// confirmation) reserves the reply tuple, if it differs from the
// original's inverse, until the connection is confirmed or abandoned
// ([Table.Abandon]), so that no other connection can choose it
// meanwhile; that SetReply reports false, changing nothing, if another
// NATed connection has the tuple or an unconfirmed one reserved it
// first, and the caller chooses again. A first binding (DNAT at
// PREROUTING) reserves nothing: the kernel lets a destination binding
// clash and resolves the clash at the source binding, whose null
// binding then moves the connection to another source port
// (get_unique_tuple), and a connection DNATed and then source-NATed
// reserves one tuple, not two.
func (t *Table) SetReply(r *Result, reply Tuple, status Status) bool {
	if !r.isNew {
		return false
	}
	e := &r.pending
	const done = StatusSrcNATDone | StatusDstNATDone
	inv, _ := e.tuple[Original].Invert()
	reserve := (e.status|status)&done == done && reply != inv && (r.reservedBy != t || reply != e.tuple[Reply])
	if reserve && !t.nat.reserve(&reply) {
		return false
	}
	if reserve || reply != e.tuple[Reply] {
		t.releaseReply(r)
		e.tuple[Reply] = reply
		if reserve {
			r.reservedBy = t
		}
	}
	e.status |= status
	r.Status = e.status
	return true
}

// releaseReply gives up the reservation of r's pending reply tuple.
func (t *Table) releaseReply(r *Result) {
	if r.reservedBy != nil {
		r.reservedBy.nat.release(&r.pending.tuple[Reply])
		r.reservedBy = nil
	}
}

// Abandon forgets the unconfirmed connection of a packet that will not be
// confirmed (it was dropped), giving up the reply tuple NAT reserved for
// it. A Result that is Reset or reused also gives it up.
func (t *Table) Abandon(r *Result) {
	if r.isNew {
		t.releaseReply(r)
		if r.madeExpectations {
			t.ext.expect.masterGone(&r.pending.tuple[Original], r.pending.started)
			r.madeExpectations = false
		}
		r.isNew = false
	}
}

// Pending reports whether the packet's connection is new and not yet
// confirmed: the only time NAT chooses its binding.
func (r *Result) Pending() bool { return r.isNew }

// Taken reports whether a tuple is in use by a confirmed connection, in
// either direction (nf_conntrack_tuple_taken), or reserved as the reply
// tuple of an unconfirmed one: NAT's tuple selection must not pick it.
func (t *Table) Taken(tp Tuple, now time.Time) bool { return t.TakenFor(nil, tp, now) }

// TakenFor is Taken for choosing the binding of r's connection, which
// ignores the reply tuple r itself reserved (nf_nat_used_tuple's ignored
// conntrack): a connection DNAT bound at PREROUTING keeps its tuple when
// the null binding at POSTROUTING checks it.
func (t *Table) TakenFor(r *Result, tp Tuple, now time.Time) bool {
	ns := now.UnixNano()
	var pr probe
	t.prepare(&pr, &tp)
	pr.s.mu.Lock()
	_, _, _, _, _, found := t.find(&pr, ns)
	pr.s.mu.Unlock()
	if found {
		return true
	}
	if r != nil && r.reservedBy == t && r.pending.tuple[Reply] == tp {
		return false
	}
	// One probe of the NAT index answers for both a NATed connection's
	// reply tuple and a reservation (locate and has would probe twice).
	var loc located
	found, reserved := t.lockNATed(&loc, &tp, pr.h, ns)
	if found {
		loc.s.mu.Unlock()
	}
	return found || reserved
}

// SourceMapping returns the reply tuple of the i-th source-NATed
// connection whose original source (address, port, protocol, zone) is
// orig's: the kernel's bysource chain, which find_appropriate_src walks so
// that a host keeps its public address and port.
func (t *Table) SourceMapping(orig Tuple, i int) (Tuple, bool) {
	if t.nat.n.Load() == 0 {
		return Tuple{}, false
	}
	k := srcKeyOf(&orig)
	h := t.nat.srcHash(&k)
	sh := t.nat.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	l := sh.bySrc.get(&k, h)
	if l == nil || i >= l.n {
		return Tuple{}, false
	}
	return l.at(i), true
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
			loc.nat = true
			if reply := pr.s.natReplyAt(pr.kind, slot); reply != nil {
				loc.other = *reply
			}
		}
		return true
	}
	pr.s.mu.Unlock()
	found, _ = t.lockNATed(loc, tp, pr.h, ns)
	return found
}

// lockNATedWaits, if set (by tests), is called when lockNATed gives up
// the NAT shard's lock to wait for a table shard's.
var lockNATedWaits func()

// lockNATed finds the NATed connection whose reply tuple is tp (of hash
// h, replyHash) in the NAT index, locks its shard and fills loc, if it
// is unexpired (an expired one is reaped); when found is true the shard
// stays locked.
// reserved reports an unconfirmed connection's reservation of tp
// instead.
//
// The lock order is a table shard's, then a NAT shard's, and a
// connection leaves the index (forget) before its slot is freed, with
// its table shard locked. So while the NAT shard is locked, a table
// shard taken with TryLock holds the very connection the index names.
// When TryLock fails, the locks are taken again in order and the index
// asked again.
func (t *Table) lockNATed(loc *located, tp *Tuple, h uint64, ns int64) (found, reserved bool) {
	x := &t.nat
	if x.n.Load() == 0 {
		return false, false
	}
	sh := x.shard(h)
	sh.mu.Lock()
	nr := sh.byReply.get(tp, h)
	for nr != nil && !nr.reserved && !nr.shard.mu.TryLock() {
		s := nr.shard
		sh.mu.Unlock()
		if lockNATedWaits != nil {
			lockNATedWaits()
		}
		s.mu.Lock()
		sh.mu.Lock()
		if nr = sh.byReply.get(tp, h); nr != nil && !nr.reserved && nr.shard == s {
			break
		}
		s.mu.Unlock()
	}
	if nr == nil || nr.reserved {
		sh.mu.Unlock()
		return false, nr != nil
	}
	s, kind, slot := nr.shard, nr.kind, nr.slot
	sh.mu.Unlock()
	c, tcp, born := s.conn(kind, slot)
	if c.expired(ns) {
		t.remove(s, kind, slot, ns)
		s.mu.Unlock()
		return false, false
	}
	loc.s, loc.kind, loc.slot, loc.c, loc.tcp, loc.born, loc.dir, loc.nat = s, kind, slot, c, tcp, born, Reply, true
	s.origTupleInto(&loc.other, kind, slot)
	return true, false
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
		r.pending.ext.masq = iface
	}
}

// FlushMasquerade deletes the connections MASQUERADE bound to interface
// iface, as the kernel does when the interface goes down (addr invalid)
// or loses address addr (only those whose reply tuple is addressed to
// it), so that their hosts start afresh with a new address instead of
// sending into a dead binding. It returns how many it deleted.
func (t *Table) FlushMasquerade(iface uint32, addr netip.Addr, now time.Time) int {
	defer t.runDestroyHooks()
	ns := now.UnixNano()
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for k, x := range s.exts.all() {
			if x.masq != iface {
				continue
			}
			kind, slot := storeKind(k>>32), uint32(k)
			if addr.IsValid() {
				if reply, ok := s.natReply(kind, slot); !ok || reply.DstAddr() != addr.Unmap() {
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
