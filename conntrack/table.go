package conntrack

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// ErrTableFull is the reason a new connection's packet is dropped when
// the table is at its maximum and no entry could be evicted ("nf_conntrack:
// table full, dropping packet").
var ErrTableFull = errors.New("nf_conntrack: table full, dropping packet")

// DefaultMax is the default maximum number of entries: what the kernel
// computes for a 64-bit machine with more than 4 GiB of memory
// (nf_conntrack_max = nf_conntrack_buckets = 262144).
const DefaultMax = 262144

// MaxEntries is the largest Max a table accepts (2^28); a larger one is
// lowered to it.
const MaxEntries = 1 << 28

// Config configures a Table. The zero value is the kernel's defaults.
type Config struct {
	// Max is nf_conntrack_max (0: DefaultMax).
	Max int
	// Timeouts are the nf_conntrack_*_timeout sysctls (zero value:
	// DefaultTimeouts()).
	Timeouts Timeouts
	// TCP holds the nf_conntrack_tcp_* sysctls.
	TCP TCPConfig
	// NoChecksum is nf_conntrack_checksum=0: do not verify checksums.
	NoChecksum bool
	// Helpers are the helpers connections and expectations in a
	// snapshot may name: Load finds them here by name, and refuses a
	// snapshot that names another.
	Helpers []Helper
}

// shardCount shards the table so that packets of different connections
// seldom contend for a lock. Both directions of a connection hash to the
// same shard (see shardOf), so one lock covers a lookup and its update.
const shardCount = 64

// Table is the connection tracking table. It is safe for concurrent use;
// there is no global lock on the packet path.
type Table struct {
	cfg    Config
	seed   uint64
	shards [shardCount]shard
	count  atomic.Int64
	stats  stats
	gcNext atomic.Uint32
	// ext is the event stream's and the expectations' state.
	ext tableExt
	// nat indexes connections whose reply tuple NAT changed (see nat.go).
	nat natIndex
	// gre is PPTP's GRE keymap (see gre.go).
	gre greKeymap
	// dying holds destroy hooks waiting for the locks to be released
	// (see destroy.go).
	dying dyingQueue
}

type shard struct {
	mu sync.Mutex
	// idx is the shard's index in Table.shards, which is also the ring
	// of a Feed its connections' changes go to.
	idx uint8
	// found counts lookups that found their connection; it lives here,
	// under the shard's lock, so two cores do not fight over one
	// counter's cache line.
	found uint64
	// exts holds the extensions (see ext.go) of the few connections
	// that have any, by store and slot.
	exts extStore
	// replies holds the reply tuples NAT changed, by store and slot.
	replies openMap[uint64, Tuple]
	v4      store[key4, otherTrack]
	v4t     store[key4, tcpTrack]
	v6      store[key6, otherTrack]
	v6t     store[key6, tcpTrack]
}

// stats are the per-table counters, as conntrack -S shows them.
type stats struct {
	invalid, insert, insertFailed, drop, earlyDrop, searchRestart atomic.Uint64
}

// Stats is a snapshot of the table's counters.
type Stats struct {
	Entries                                                              int
	Found, Invalid, Insert, InsertFailed, Drop, EarlyDrop, SearchRestart uint64
}

// NewTable returns an empty table.
func NewTable(cfg Config) *Table {
	if cfg.Max <= 0 {
		cfg.Max = DefaultMax
	}
	// A store's slots fit in 24 bits; at this cap a shard's store holds
	// a quarter of that on average, far from it for any real hash.
	cfg.Max = min(cfg.Max, MaxEntries)
	if cfg.Timeouts == (Timeouts{}) {
		cfg.Timeouts = DefaultTimeouts()
	}
	t := &Table{cfg: cfg}
	t.ext.init(cfg.Max)
	// A random seed per table, as nf_conntrack_hash_rnd, so nobody can
	// aim packets at one shard.
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		panic("conntrack: no randomness: " + err.Error())
	}
	t.seed = binary.LittleEndian.Uint64(seed[:])
	t.nat.seed = t.seed
	for i := range t.shards {
		sh := &t.shards[i]
		sh.idx = uint8(i)
		h4 := func(k *key4) uint64 { return t.hash4(k) }
		h6 := func(k *key6) uint64 { return t.hash6(k) }
		sh.v4.hash, sh.v4t.hash, sh.v6.hash, sh.v6t.hash = h4, h4, h6, h6
	}
	return t
}

// Config returns the table's configuration.
func (t *Table) Config() Config { return t.cfg }

// Len returns the number of confirmed entries.
func (t *Table) Len() int { return int(t.count.Load()) }

// Stats returns a snapshot of the table's counters.
func (t *Table) Stats() Stats {
	s := &t.stats
	var found uint64
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		found += sh.found
		sh.mu.Unlock()
	}
	return Stats{Entries: t.Len(), Found: found, Invalid: s.invalid.Load(), Insert: s.insert.Load(),
		InsertFailed: s.insertFailed.Load(), Drop: s.drop.Load(), EarlyDrop: s.earlyDrop.Load(), SearchRestart: s.searchRestart.Load()}
}

// probe is a tuple prepared for lookup: its packed key, its symmetric
// hash, the shard the hash picks and the store within it.
type probe struct {
	kind storeKind
	k4   key4
	k6   key6
	h    uint64
	s    *shard
}

func (t *Table) hash4(k *key4) uint64 { return symHash4(k, t.seed) }

func (t *Table) hash6(k *key6) uint64 { return symHash6(k, t.seed) }

// probeOf prepares a tuple for lookup.
func (t *Table) probeOf(tp *Tuple) probe {
	var pr probe
	t.prepare(&pr, tp)
	return pr
}

// shardOf returns the shard that holds tp's connection.
func (t *Table) shardOf(tp *Tuple) *shard {
	pr := t.probeOf(tp)
	return pr.s
}

// tupleHash is the table's hash of a tuple: symmetric, so that a
// connection's original tuple and its inverse hash alike.
func tupleHash(tp *Tuple, seed uint64) uint64 {
	if tp.Family == 6 {
		k := toKey6(tp)
		return symHash6(&k, seed)
	}
	return symHash4Tuple(tp, seed)
}

// prepare fills pr for a lookup of tp; pr.h is tupleHash(tp).
func (t *Table) prepare(pr *probe, tp *Tuple) {
	if tp.Family == 6 {
		pr.kind, pr.k6 = kind6, toKey6(tp)
		pr.h = symHash6(&pr.k6, t.seed)
	} else {
		pr.kind, pr.k4 = kind4, toKey4(tp)
		pr.h = symHash4Tuple(tp, t.seed)
	}
	if tp.Proto == 6 {
		pr.kind |= kindTCP
	}
	pr.s = &t.shards[pr.h>>58] // the top 6 bits: 64 shards
}

// find returns the connection a probe names and the packet's direction,
// reaping it if it has expired. tcp is its TCP state (nil for other
// protocols) and born its creation tick (0 for TCP). pr.s.mu must be
// held.
func (t *Table) find(pr *probe, now int64) (c *connState, tcp *tcpTrack, born uint32, slot uint32, dir Dir, found bool) {
	slot, dir, found = pr.s.find(pr)
	if !found {
		return nil, nil, 0, 0, 0, false
	}
	c, tcp, born = pr.s.conn(pr.kind, slot)
	if c.expired(now) {
		t.remove(pr.s, pr.kind, slot, now)
		return nil, nil, 0, 0, 0, false
	}
	return c, tcp, born, slot, dir, true
}

// remove deletes a stored connection. s.mu must be held. A helper's
// destroy hook is queued; the caller runs it once it has released the
// lock (runDestroyHooks).
func (t *Table) remove(s *shard, kind storeKind, slot uint32, now int64) {
	t.emitStored(EventDestroy, s, kind, slot, now)
	if c, _, _ := s.conn(kind, slot); c.status&(StatusHelper|StatusExpected) != 0 {
		t.helperGone(s, kind, slot, c.status, now)
	}
	if reply, ok := s.natReply(kind, slot); ok {
		t.nat.forget(s.origTuple(kind, slot), reply)
	}
	s.remove(kind, slot)
	t.count.Add(-1)
}

// emitStored reports a change of a stored connection. Only when someone
// listens, or expectations may die with it, is the entry materialised.
func (t *Table) emitStored(typ EventType, s *shard, kind storeKind, slot uint32, now int64) {
	if t.ext.hooks.Load() == 0 {
		return
	}
	e := s.materialize(kind, slot, now)
	t.emit(typ, &e, now, s)
}

// insert stores a confirmed connection. It fails if either tuple is
// taken; reserved says the entry's NAT reply tuple is reserved for it.
// The caller holds the lock of the shard pr names.
func (t *Table) insert(pr *probe, e *entry, reserved bool) (uint32, bool) {
	if _, _, found := pr.s.find(pr); found {
		return 0, false
	}
	natted := e.natted()
	if natted && !reserved && t.nat.has(&e.tuple[Reply]) {
		return 0, false
	}
	slot := pr.s.add(pr, e)
	if natted {
		rf := natRef{shard: pr.s, kind: pr.kind, slot: slot}
		if !t.nat.add(e.tuple[Original], e.tuple[Reply], rf, e.status, reserved) {
			pr.s.remove(pr.kind, slot)
			return 0, false
		}
		pr.s.setNATReply(pr.kind, slot, e.tuple[Reply])
	}
	t.count.Add(1)
	return slot, true
}

// sameAsStored reports whether the connection stored under e's original
// tuple has e's reply tuple too (nf_ct_can_merge). The caller holds the
// lock of the shard pr names.
func (t *Table) sameAsStored(pr *probe, e *entry) bool {
	slot, dir, found := pr.s.find(pr)
	if !found || dir != Original {
		return false
	}
	reply, natted := pr.s.natReply(pr.kind, slot)
	if !natted {
		reply, _ = e.tuple[Original].Invert()
	}
	return reply == e.tuple[Reply]
}

// forEach calls fn for every live, unexpired entry, one shard locked at a
// time. fn must not call back into the table.
func (t *Table) forEach(now int64, fn func(e *entry)) {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		s.each(func(kind storeKind, slot uint32, c *connState) {
			if !c.expired(now) {
				e := s.materialize(kind, slot, now)
				fn(&e)
			}
		})
		s.mu.Unlock()
	}
}

// restore inserts a confirmed entry as it was (a snapshot being loaded).
// It reports false if the table is full or the tuples are taken.
func (t *Table) restore(e entry) bool {
	if t.count.Load() >= int64(t.cfg.Max) {
		return false
	}
	pr := t.probeOf(&e.tuple[Original])
	pr.s.mu.Lock()
	defer pr.s.mu.Unlock()
	e.status |= StatusConfirmed
	_, ok := t.insert(&pr, &e, false)
	return ok
}

// earlyDrop makes room for a new entry when the table is full, as
// early_drop does: it evicts a connection that is not ASSURED (or has
// expired), looking in the new tuple's shard and the next ones (the
// kernel scans 8 buckets from the new tuple's). It reports whether it
// freed a place. from is the new tuple's shard; its lock is not held.
func (t *Table) earlyDrop(from *shard, now int64) bool {
	start := 0
	for i := range t.shards {
		if &t.shards[i] == from {
			start = i
			break
		}
	}
	for k := 0; k < 8; k++ {
		s := &t.shards[(start+k)%shardCount]
		s.mu.Lock()
		done := false
		s.each(func(kind storeKind, slot uint32, c *connState) {
			if !done && (c.expired(now) || c.status&StatusAssured == 0) {
				t.remove(s, kind, slot, now)
				t.stats.earlyDrop.Add(1)
				done = true
			}
		})
		s.mu.Unlock()
		if done {
			return true
		}
	}
	return false
}

// Collect reaps expired entries incrementally, like the kernel's
// gc_worker: it scans at most maxShards shards, resuming where the last
// call stopped, and returns how many entries it removed. Lookups also reap
// what they find expired, so Collect only bounds memory.
//
// While the table holds at least 95% of Max (nf_conntrack_max95, Max /
// 100 * 95 in integers), it also evicts what gc_worker_can_early_drop
// lets it: a connection that is not ASSURED, a TCP one that is closing
// (FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE) and an SCTP one
// shutting down (SHUTDOWN_SENT, SHUTDOWN_RECD, SHUTDOWN_ACK_SENT).
func (t *Table) Collect(now time.Time, maxShards int) int {
	defer t.runDestroyHooks()
	n := 0
	ns := now.UnixNano()
	max95 := int64(t.cfg.Max / 100 * 95)
	for range min(maxShards, shardCount) {
		s := &t.shards[t.gcNext.Add(1)%shardCount]
		s.mu.Lock()
		s.each(func(kind storeKind, slot uint32, c *connState) {
			if c.expired(ns) || max95 > 0 && t.count.Load() >= max95 && s.canEarlyDrop(kind, slot, c) {
				t.remove(s, kind, slot, ns)
				n++
			}
		})
		s.mu.Unlock()
	}
	return n
}

// canEarlyDrop is gc_worker_can_early_drop, with tcp_can_early_drop and
// sctp_can_early_drop.
func (s *shard) canEarlyDrop(kind storeKind, slot uint32, c *connState) bool {
	if c.status&StatusAssured == 0 {
		return true
	}
	if _, tcp, _ := s.conn(kind, slot); tcp != nil {
		switch tcp.state {
		case TCPFinWait, TCPCloseWait, TCPLastAck, TCPTimeWait, TCPClose:
			return true
		}
		return false
	}
	if s.origTuple(kind, slot).Proto == packet.ProtoSCTP {
		switch s.ext(kind, slot).sctp.state {
		case SCTPShutdownSent, SCTPShutdownRecd, SCTPShutdownAckSent:
			return true
		}
	}
	return false
}

// Flush deletes every entry (conntrack -F).
func (t *Table) Flush(now time.Time) {
	defer t.runDestroyHooks()
	ns := now.UnixNano()
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		s.each(func(kind storeKind, slot uint32, c *connState) { t.remove(s, kind, slot, ns) })
		s.mu.Unlock()
	}
}

// DeleteFunc deletes every live connection for which match reports true
// (conntrack -D with filters) and returns how many it deleted. match must
// not call back into the table.
func (t *Table) DeleteFunc(now time.Time, match func(c Conn) bool) int {
	defer t.runDestroyHooks()
	ns := now.UnixNano()
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		s.each(func(kind storeKind, slot uint32, c *connState) {
			if c.expired(ns) {
				return
			}
			e := s.materialize(kind, slot, ns)
			if match(e.conn(ns)) {
				t.remove(s, kind, slot, ns)
				n++
			}
		})
		s.mu.Unlock()
	}
	return n
}
