//lint:file-ignore ST1005 the messages are the original tool's, word for word

package ipset

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// Errors callers branch on; the messages are ipset's.
var (
	ErrUnknownType  = errors.New("Syntax error: unknown settype")
	ErrNoSet        = errors.New("The set with the given name does not exist")
	ErrSetExists    = errors.New("Set cannot be created: set with the same name already exists")
	ErrExists       = errors.New("Element cannot be added to the set: it's already added")
	ErrNotFound     = errors.New("Element cannot be deleted from the set: it's not added")
	ErrFull         = errors.New("Hash is full, cannot add more elements")
	ErrInUse        = errors.New("Set cannot be destroyed: it is in use by a kernel component")
	ErrIncompatible = errors.New("The sets cannot be swapped: their type does not match")
	ErrOutOfRange   = errors.New("Element is out of the range of the set")
	ErrSyntax       = errors.New("Syntax error")
)

// key is one element, as every type keeps it: the fields a type has no
// dimension for stay zero. Addresses are stored masked to their prefix
// length, IPv4 in the first four bytes. It is comparable and
// pointer-free, so it is a cheap map key.
type key struct {
	ip, ip2     [16]byte
	cidr, cidr2 uint8
	proto       uint8
	port        uint16
	mac         [6]byte
	mark        uint32
	iface       ifaceName
}

// ifaceName is an interface name in a key: its bytes, and whether it is a
// bridge port (physdev:) or a prefix (a trailing +).
type ifaceName struct {
	name     [15]byte
	n        uint8
	physdev  bool
	wildcard bool
}

func (i ifaceName) String() string { return string(i.name[:i.n]) }

// entry is an element with its extensions (struct ip_set_ext).
type entry struct {
	k key
	// deadline is when it expires (Unix ns), 0 for never.
	deadline int64
	// packets and bytes are its counters, updated by packets that
	// match it.
	packets, bytes atomic.Uint64
	comment        string
	skb            SkbInfo
	nomatch        bool
	// seq orders entries by insertion, for listings.
	seq uint64
	// member is the member set of a list:set entry.
	member *Ref
	// mac is a bitmap:ip,mac element's MAC address, which the first
	// packet from the address fills in when the element has none.
	mac    [6]byte
	hasMAC bool
}

// Set is one set: its type and options and its elements. Its methods are
// safe for concurrent use: the elements are sharded by key, each shard
// under its own lock, so packets looking up different elements do not
// share a lock; list:set keeps its members under mu.
type Set struct {
	typ    *setType
	opts   Options
	shards [shardCount]shard
	count  atomic.Int64
	seq    atomic.Uint64
	// nets counts the elements of each prefix length, for each network
	// dimension, and present lists the lengths in use, longest first,
	// replaced whole when one comes or goes: a lookup tries each.
	nets    [2][129]atomic.Int32
	present [2]atomic.Pointer[[]uint8]
	netsMu  sync.Mutex
	// mu guards members, the entries of a list:set, in order.
	mu      sync.Mutex
	members []*entry
	// wildcards counts the elements whose interface is a prefix
	// ("eth+"), which lookups then also try.
	wildcards atomic.Int32
	// rand picks the element forceadd evicts.
	rand func() uint32
}

const shardCount = 16

type shard struct {
	mu sync.RWMutex
	m  map[key]*entry
}

func (s *Set) shardOf(k *key) *shard {
	h := binary.LittleEndian.Uint32(k.ip[0:]) ^ binary.LittleEndian.Uint32(k.ip[12:]) ^
		binary.LittleEndian.Uint32(k.ip2[0:]) ^ binary.LittleEndian.Uint32(k.ip2[12:]) ^
		uint32(k.port)<<8 ^ k.mark ^ binary.LittleEndian.Uint32(k.mac[2:])
	h *= 0x9e3779b1
	return &s.shards[h>>28]
}

// Type returns the set's type name ("hash:net").
func (s *Set) Type() string { return s.typ.name }

// Options returns the set's options.
func (s *Set) Options() Options { return s.opts }

// Len returns how many elements the set holds, expired ones not yet
// collected included.
func (s *Set) Len() int {
	if s.typ.storage == listStorage {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.members)
	}
	return int(s.count.Load())
}

// live reports whether e has not expired at now.
func (e *entry) live(now int64) bool { return e.deadline == 0 || now < e.deadline }

// addNet counts one more element of prefix length cidr in network
// dimension d (0 or 1), or one fewer with delta -1, and rebuilds the
// list of lengths in use when a length comes or goes.
func (s *Set) addNet(d int, cidr uint8, delta int32) {
	n := s.nets[d][cidr].Add(delta)
	if delta > 0 && n != 1 || delta < 0 && n != 0 {
		return
	}
	s.netsMu.Lock()
	defer s.netsMu.Unlock()
	var l []uint8
	for c := 128; c >= 0; c-- {
		if s.nets[d][c].Load() > 0 {
			l = append(l, uint8(c))
		}
	}
	s.present[d].Store(&l)
}

// store records e, which has been checked to be new, in its shard.
// sh.mu must be held.
func (s *Set) store(sh *shard, e *entry) {
	if sh.m == nil {
		sh.m = map[key]*entry{}
	}
	e.seq = s.seq.Add(1)
	sh.m[e.k] = e
	s.count.Add(1)
	s.countNets(&e.k, 1)
	if e.k.iface.wildcard {
		s.wildcards.Add(1)
	}
}

// forget removes e from its shard. sh.mu must be held.
func (s *Set) forget(sh *shard, e *entry) {
	delete(sh.m, e.k)
	s.count.Add(-1)
	s.countNets(&e.k, -1)
	if e.k.iface.wildcard {
		s.wildcards.Add(-1)
	}
}

func (s *Set) countNets(k *key, delta int32) {
	switch s.typ.nets() {
	case 1:
		if s.typ.dims[0] == dimNet {
			s.addNet(0, k.cidr, delta)
		} else {
			s.addNet(0, k.cidr2, delta)
		}
	case 2:
		s.addNet(0, k.cidr, delta)
		s.addNet(1, k.cidr2, delta)
	}
}

// addEntry adds e (ADD): a live element of the same key is an error
// unless exist, when its extensions are replaced; an expired one is
// replaced. A full set refuses, or with forceadd evicts an element.
func (s *Set) addEntry(e *entry, exist bool, now int64) error {
	sh := s.shardOf(&e.k)
	sh.mu.Lock()
	old, ok := sh.m[e.k]
	if ok && old.live(now) {
		if !exist {
			sh.mu.Unlock()
			return ErrExists
		}
		s.forget(sh, old)
	} else if ok {
		s.forget(sh, old)
	}
	sh.mu.Unlock()
	if s.opts.MaxElem > 0 && s.count.Load() >= int64(s.opts.MaxElem) {
		s.collect(now)
		if s.count.Load() >= int64(s.opts.MaxElem) {
			if !s.opts.ForceAdd || !s.evictOne() {
				return ErrFull
			}
		}
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if o, ok := sh.m[e.k]; ok {
		// Added meanwhile by someone else.
		if !exist && o.live(now) {
			return ErrExists
		}
		s.forget(sh, o)
	}
	s.store(sh, e)
	return nil
}

// evictOne removes one element, picked at random, for forceadd.
func (s *Set) evictOne() bool {
	r := s.rand
	if r == nil {
		r = rand.Uint32
	}
	start := int(r() % shardCount)
	for i := range shardCount {
		sh := &s.shards[(start+i)%shardCount]
		sh.mu.Lock()
		for _, e := range sh.m {
			s.forget(sh, e)
			sh.mu.Unlock()
			return true
		}
		sh.mu.Unlock()
	}
	return false
}

// delKey removes the element k (DEL).
func (s *Set) delKey(k *key, now int64) error {
	sh := s.shardOf(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[*k]
	if !ok {
		return ErrNotFound
	}
	s.forget(sh, e)
	if !e.live(now) {
		return ErrNotFound
	}
	return nil
}

// lookup returns the live entry k names, nil if none.
func (s *Set) lookup(k *key, now int64) *entry {
	sh := s.shardOf(k)
	sh.mu.RLock()
	e := sh.m[*k]
	sh.mu.RUnlock()
	if e == nil || !e.live(now) {
		return nil
	}
	return e
}

// find is a lookup as a packet's test makes it (mtype_test): a type with
// networks tries each prefix length it holds, longest first (both
// dimensions' for two), and the first element found decides, a nomatch
// one included.
func (s *Set) find(k key, now int64) *entry {
	switch s.typ.nets() {
	case 0:
		return s.lookup(&k, now)
	case 1:
		pp := s.present[0].Load()
		if pp == nil {
			return nil
		}
		first := s.typ.dims[0] == dimNet
		orig := k
		for _, c := range *pp {
			if first {
				k.ip, k.cidr = mask(orig.ip, c), c
			} else {
				k.ip2, k.cidr2 = mask(orig.ip2, c), c
			}
			if e := s.lookup(&k, now); e != nil {
				return e
			}
		}
	case 2:
		p0, p1 := s.present[0].Load(), s.present[1].Load()
		if p0 == nil || p1 == nil {
			return nil
		}
		orig := k
		for _, c0 := range *p0 {
			for _, c1 := range *p1 {
				k.ip, k.cidr = mask(orig.ip, c0), c0
				k.ip2, k.cidr2 = mask(orig.ip2, c1), c1
				if e := s.lookup(&k, now); e != nil {
					return e
				}
			}
		}
	}
	return nil
}

// mask keeps the first bits bits of a.
func mask(a [16]byte, bits uint8) [16]byte {
	for i := range a {
		switch n := int(bits) - 8*i; {
		case n <= 0:
			a[i] = 0
		case n < 8:
			a[i] &= 0xff << (8 - n)
		}
	}
	return a
}

// collect removes the expired elements (the kernel's garbage collector).
func (s *Set) collect(now int64) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, e := range sh.m {
			if !e.live(now) {
				s.forget(sh, e)
			}
		}
		sh.mu.Unlock()
	}
}

// Collect removes the elements that have expired at now; a lookup never
// sees them anyway, so this only frees their memory.
func (s *Set) Collect(now time.Time) { s.collect(now.UnixNano()) }

// flush removes every element.
func (s *Set) flush() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, e := range sh.m {
			s.forget(sh, e)
		}
		sh.mu.Unlock()
	}
	s.mu.Lock()
	s.members = nil
	s.mu.Unlock()
}

// entries returns the live elements, in insertion order (for a bitmap,
// ascending).
func (s *Set) entries(now int64) []*entry {
	var out []*entry
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, e := range sh.m {
			if e.live(now) {
				out = append(out, e)
			}
		}
		sh.mu.RUnlock()
	}
	if s.typ.storage == bitmapStorage {
		slices.SortFunc(out, func(a, b *entry) int { return compareKeys(&a.k, &b.k) })
	} else {
		slices.SortFunc(out, func(a, b *entry) int { return int(a.seq - b.seq) })
	}
	return out
}

func compareKeys(a, b *key) int {
	if c := slices.Compare(a.ip[:], b.ip[:]); c != 0 {
		return c
	}
	if a.port != b.port {
		return int(a.port) - int(b.port)
	}
	return slices.Compare(a.mac[:], b.mac[:])
}

// family returns the set's address family, 0 for a set without
// addresses.
func (s *Set) family() packet.Family {
	if !s.typ.addressed() {
		return 0
	}
	return s.opts.Family
}
