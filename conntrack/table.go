package conntrack

import (
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
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
	seed   [8]byte
	shards [shardCount]shard
	count  atomic.Int64
	stats  stats
	gcNext atomic.Uint32
}

type shard struct {
	mu    sync.Mutex
	index map[Tuple]uint32 // tuple → slot<<1 | Dir
	slab  []entry
	free  []uint32
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
	if _, err := rand.Read(t.seed[:]); err != nil {
		panic("conntrack: no randomness: " + err.Error())
	}
	for i := range t.shards {
		t.shards[i].index = make(map[Tuple]uint32)
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

// shardOf picks the shard of a tuple so that a tuple and its inverse
// agree: it hashes the tuple with its ends in a canonical order and ICMP
// replies folded onto their requests.
func (t *Table) shardOf(tp *Tuple) *shard {
	var b [48]byte
	copy(b[:8], t.seed[:])
	c := *tp
	if c.Proto == packet.ProtoICMP || c.Proto == packet.ProtoICMPv6 {
		if typ := uint8(c.DstPort >> 8); isICMPReply(c.Proto, typ) {
			req, _ := icmpInverse(c.Proto, typ)
			c.DstPort = uint16(req)<<8 | c.DstPort&0xff
		}
	} else if less(c.Dst, c.DstPort, c.Src, c.SrcPort) {
		c.Src, c.Dst, c.SrcPort, c.DstPort = c.Dst, c.Src, c.DstPort, c.SrcPort
	}
	if c.Proto == packet.ProtoICMP || c.Proto == packet.ProtoICMPv6 {
		if less(c.Dst, 0, c.Src, 0) {
			c.Src, c.Dst = c.Dst, c.Src
		}
	}
	var kb [40]byte
	c.bytes(&kb)
	copy(b[8:], kb[:])
	return &t.shards[xxhash.Sum64(b[:])%shardCount]
}

func less(a [16]byte, ap uint16, b [16]byte, bp uint16) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return ap < bp
}

// find returns the slot and direction of a tuple in s, reaping it if it
// has expired. s.mu must be held.
func (t *Table) find(s *shard, tp *Tuple, now int64) (*entry, uint32, Dir, bool) {
	v, ok := s.index[*tp]
	if !ok {
		return nil, 0, 0, false
	}
	slot, dir := v>>1, Dir(v&1)
	e := &s.slab[slot]
	if e.expired(now) {
		t.remove(s, slot)
		return nil, 0, 0, false
	}
	return e, slot, dir, true
}

// remove deletes an entry from its shard. s.mu must be held.
func (t *Table) remove(s *shard, slot uint32) {
	e := &s.slab[slot]
	delete(s.index, e.tuple[Original])
	delete(s.index, e.tuple[Reply])
	gen := e.gen + 1
	*e = entry{gen: gen}
	s.free = append(s.free, slot)
	t.count.Add(-1)
}

// insert adds a confirmed entry. It fails if either tuple is taken. s.mu
// must be held.
func (t *Table) insert(s *shard, e *entry) (uint32, bool) {
	if _, ok := s.index[e.tuple[Original]]; ok {
		return 0, false
	}
	if _, ok := s.index[e.tuple[Reply]]; ok {
		return 0, false
	}
	var slot uint32
	if n := len(s.free); n > 0 {
		slot = s.free[n-1]
		s.free = s.free[:n-1]
		e.gen = s.slab[slot].gen
	} else {
		slot = uint32(len(s.slab))
		s.slab = append(s.slab, entry{})
	}
	e.live = true
	s.slab[slot] = *e
	s.index[e.tuple[Original]] = slot << 1
	s.index[e.tuple[Reply]] = slot<<1 | 1
	t.count.Add(1)
	return slot, true
}

// earlyDrop makes room for a new entry when the table is full, as
// early_drop does: it evicts a connection that is not ASSURED, looking in
// the new tuple's shard and then the next ones (the kernel scans 8
// buckets from the new tuple's). It reports whether it freed a slot.
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
		if s != from {
			s.mu.Lock()
		}
		victim := -1
		for i := range s.slab {
			e := &s.slab[i]
			if !e.live {
				continue
			}
			if e.expired(now) || e.status&StatusAssured == 0 {
				victim = i
				break
			}
		}
		if victim >= 0 {
			t.remove(s, uint32(victim))
			t.stats.earlyDrop.Add(1)
		}
		if s != from {
			s.mu.Unlock()
		}
		if victim >= 0 {
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
		for i := range s.slab {
			if e := &s.slab[i]; e.live && e.expired(ns) {
				t.remove(s, uint32(i))
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}

// Flush deletes every entry (conntrack -F).
func (t *Table) Flush() {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for j := range s.slab {
			if s.slab[j].live {
				t.remove(s, uint32(j))
			}
		}
		s.mu.Unlock()
	}
}
