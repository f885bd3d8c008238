package conntrack

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrTableFull is the reason a new connection's packet is dropped when
// the table is at its maximum and no entry could be evicted ("nf_conntrack:
// table full, dropping packet").
var ErrTableFull = errors.New("nf_conntrack: table full, dropping packet")

// DefaultMax is the default maximum number of entries: what the kernel
// computes for a 64-bit machine with more than 4 GiB of memory
// (nf_conntrack_max = nf_conntrack_buckets = 262144).
const DefaultMax = 262144

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
}

type shard struct {
	mu sync.Mutex
	v4 store[key4]
	v6 store[key6]
}

// stats are the per-table counters, as conntrack -S shows them.
type stats struct {
	found, invalid, insert, insertFailed, drop, earlyDrop, searchRestart atomic.Uint64
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
	if cfg.Timeouts == (Timeouts{}) {
		cfg.Timeouts = DefaultTimeouts()
	}
	t := &Table{cfg: cfg}
	// A random seed per table, as nf_conntrack_hash_rnd, so nobody can
	// aim packets at one shard.
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		panic("conntrack: no randomness: " + err.Error())
	}
	t.seed = binary.LittleEndian.Uint64(seed[:])
	for i := range t.shards {
		sh := &t.shards[i]
		sh.v4.hash = func(k *key4) uint64 { return t.hash4(k) }
		sh.v6.hash = func(k *key6) uint64 { return t.hash6(k) }
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
	return Stats{Entries: t.Len(), Found: s.found.Load(), Invalid: s.invalid.Load(), Insert: s.insert.Load(),
		InsertFailed: s.insertFailed.Load(), Drop: s.drop.Load(), EarlyDrop: s.earlyDrop.Load(), SearchRestart: s.searchRestart.Load()}
}

// probe is a tuple prepared for lookup: its packed key, the key of its
// inverse (the key itself when it has none, such as an ICMP error type),
// the symmetric hash and the shard it picks.
type probe struct {
	v6     bool
	k4, i4 key4
	k6, i6 key6
	h      uint64
	s      *shard
}

func (t *Table) hash4(k *key4) uint64 { h, _ := symmetric4(k, t.seed); return h }

func (t *Table) hash6(k *key6) uint64 { h, _ := symmetric6(k, t.seed); return h }

// probeOf prepares a tuple for lookup.
func (t *Table) probeOf(tp *Tuple) probe {
	var pr probe
	if tp.Family == 6 {
		pr.v6, pr.k6 = true, toKey6(tp)
		pr.h, pr.i6 = symmetric6(&pr.k6, t.seed)
	} else {
		pr.k4 = toKey4(tp)
		pr.h, pr.i4 = symmetric4(&pr.k4, t.seed)
	}
	pr.s = &t.shards[pr.h>>58] // the top 6 bits: 64 shards
	return pr
}

// find returns the connection a probe names and the packet's direction,
// reaping it if it has expired. pr.s.mu must be held.
func (t *Table) find(pr *probe, now int64) (*connState, uint32, Dir, bool) {
	var (
		c     *connState
		slot  uint32
		dir   Dir
		found bool
	)
	if pr.v6 {
		if slot, dir, found = pr.s.v6.find(&pr.k6, &pr.i6, pr.h); found {
			c = &pr.s.v6.at(slot).connState
		}
	} else {
		if slot, dir, found = pr.s.v4.find(&pr.k4, &pr.i4, pr.h); found {
			c = &pr.s.v4.at(slot).connState
		}
	}
	if found && c.expired(now) {
		t.remove(pr.s, pr.v6, slot, now)
		return nil, 0, 0, false
	}
	return c, slot, dir, found
}

// materialize returns the full entry of a stored connection.
func materialize(s *shard, v6 bool, slot uint32, now int64) entry {
	var e entry
	if v6 {
		st := s.v6.at(slot)
		e.tuple[Original], e.connState = st.key.tuple(), st.connState
	} else {
		st := s.v4.at(slot)
		e.tuple[Original], e.connState = st.key.tuple(), st.connState
	}
	e.tuple[Reply], _ = e.tuple[Original].Invert()
	e.started = now - int64(e.age(now))
	return e
}

// remove deletes a stored connection. s.mu must be held.
func (t *Table) remove(s *shard, v6 bool, slot uint32, now int64) {
	e := materialize(s, v6, slot, now)
	t.emit(EventDestroy, &e, now)
	if v6 {
		s.v6.remove(slot)
	} else {
		s.v4.remove(slot)
	}
	t.count.Add(-1)
}

// insert stores a confirmed connection. It fails if either tuple is
// taken. The caller holds the lock of the shard pr names.
func (t *Table) insert(pr *probe, e *entry) (uint32, bool) {
	if _, _, found := t.findAny(pr); found {
		return 0, false
	}
	var slot uint32
	if pr.v6 {
		slot = pr.s.v6.add(pr.k6, e.connState, pr.h)
	} else {
		slot = pr.s.v4.add(pr.k4, e.connState, pr.h)
	}
	t.count.Add(1)
	return slot, true
}

// findAny is find without expiry handling.
func (t *Table) findAny(pr *probe) (uint32, Dir, bool) {
	if pr.v6 {
		return pr.s.v6.find(&pr.k6, &pr.i6, pr.h)
	}
	return pr.s.v4.find(&pr.k4, &pr.i4, pr.h)
}

// each calls fn for every stored connection of a shard, with its family
// and slot; fn may remove the one it is given. s.mu must be held.
func (s *shard) each(fn func(v6 bool, slot uint32, c *connState)) {
	for ci, ch := range s.v4.chunks {
		for i := range ch {
			if c := &ch[i].connState; c.live() {
				fn(false, uint32(ci<<chunkBits|i), c)
			}
		}
	}
	for ci, ch := range s.v6.chunks {
		for i := range ch {
			if c := &ch[i].connState; c.live() {
				fn(true, uint32(ci<<chunkBits|i), c)
			}
		}
	}
}

// forEach calls fn for every live, unexpired entry, one shard locked at a
// time. fn must not call back into the table.
func (t *Table) forEach(now int64, fn func(e *entry)) {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		s.each(func(v6 bool, slot uint32, c *connState) {
			if !c.expired(now) {
				e := materialize(s, v6, slot, now)
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
	_, ok := t.insert(&pr, &e)
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
		s.each(func(v6 bool, slot uint32, c *connState) {
			if !done && (c.expired(now) || c.status&StatusAssured == 0) {
				t.remove(s, v6, slot, now)
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
func (t *Table) Collect(now time.Time, maxShards int) int {
	n := 0
	ns := now.UnixNano()
	for range min(maxShards, shardCount) {
		s := &t.shards[t.gcNext.Add(1)%shardCount]
		s.mu.Lock()
		s.each(func(v6 bool, slot uint32, c *connState) {
			if c.expired(ns) {
				t.remove(s, v6, slot, ns)
				n++
			}
		})
		s.mu.Unlock()
	}
	return n
}

// Flush deletes every entry (conntrack -F).
func (t *Table) Flush(now time.Time) {
	ns := now.UnixNano()
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		s.each(func(v6 bool, slot uint32, c *connState) { t.remove(s, v6, slot, ns) })
		s.mu.Unlock()
	}
}
