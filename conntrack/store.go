package conntrack

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// The table stores connections compactly, one store per family in each
// shard: the original tuple as a packed key (16 bytes for IPv4, 40 for
// IPv6), the connState inline, in fixed-size chunks of a pointer-free
// array, so a million connections are nothing for the garbage collector
// to scan. The reply tuple is not stored: without NAT it is the original
// inverted. One open-addressing index slot per connection finds it from
// either direction, because the hash is symmetric: a tuple and its
// inverse hash alike.

// key4 and key6 are packed original tuples.
type key4 struct {
	src, dst           [4]byte
	sport, dport, zone uint16
	proto              uint8
}

type key6 struct {
	src, dst           [16]byte
	sport, dport, zone uint16
	proto              uint8
}

type keyType interface{ key4 | key6 }

func toKey4(t *Tuple) key4 {
	return key4{src: [4]byte(t.Src[:4]), dst: [4]byte(t.Dst[:4]), sport: t.SrcPort, dport: t.DstPort, zone: t.Zone, proto: t.Proto}
}

func toKey6(t *Tuple) key6 {
	return key6{src: t.Src, dst: t.Dst, sport: t.SrcPort, dport: t.DstPort, zone: t.Zone, proto: t.Proto}
}

func (k key4) tuple() Tuple {
	t := Tuple{SrcPort: k.sport, DstPort: k.dport, Zone: k.zone, Family: 4, Proto: k.proto}
	copy(t.Src[:4], k.src[:])
	copy(t.Dst[:4], k.dst[:])
	return t
}

func (k key6) tuple() Tuple {
	return Tuple{Src: k.src, Dst: k.dst, SrcPort: k.sport, DstPort: k.dport, Zone: k.zone, Family: 6, Proto: k.proto}
}

// invert returns the key of the other direction (nf_ct_invert_tuple on
// the packed form), or ok=false for an ICMP type without a reply.
func (k key4) invert() (key4, bool) {
	r := k
	r.src, r.dst = k.dst, k.src
	if k.proto == 1 {
		rt, ok := icmpInverse(k.proto, uint8(k.dport>>8))
		r.dport = uint16(rt)<<8 | k.dport&0xff
		return r, ok
	}
	r.sport, r.dport = k.dport, k.sport
	return r, true
}

func (k key6) invert() (key6, bool) {
	r := k
	r.src, r.dst = k.dst, k.src
	if k.proto == 58 {
		rt, ok := icmpInverse(k.proto, uint8(k.dport>>8))
		r.dport = uint16(rt)<<8 | k.dport&0xff
		return r, ok
	}
	r.sport, r.dport = k.dport, k.sport
	return r, true
}

// sum hashes the key's fields with xxhash and the table's seed. The key
// must be canonical (see symmetric) for the hash to be symmetric.
func (k *key4) sum(seed uint64) uint64 {
	var b [24]byte
	binary.LittleEndian.PutUint64(b[0:], seed)
	binary.LittleEndian.PutUint32(b[8:], binary.BigEndian.Uint32(k.src[:]))
	binary.LittleEndian.PutUint32(b[12:], binary.BigEndian.Uint32(k.dst[:]))
	binary.LittleEndian.PutUint64(b[16:], uint64(k.sport)<<48|uint64(k.dport)<<32|uint64(k.zone)<<16|uint64(k.proto))
	return xxhash.Sum64(b[:])
}

func (k *key6) sum(seed uint64) uint64 {
	var b [48]byte
	binary.LittleEndian.PutUint64(b[0:], seed)
	copy(b[8:24], k.src[:])
	copy(b[24:40], k.dst[:])
	binary.LittleEndian.PutUint64(b[40:], uint64(k.sport)<<48|uint64(k.dport)<<32|uint64(k.zone)<<16|uint64(k.proto))
	return xxhash.Sum64(b[:])
}

// symmetric4 returns the hash of a key and the key of the other
// direction (k itself when it has none). A key and its inverse hash
// alike: the hash is of whichever orientation sorts first.
func symmetric4(k *key4, seed uint64) (uint64, key4) {
	inv, ok := k.invert()
	if !ok {
		return k.sum(seed), *k
	}
	c := *k
	if less4(&inv, k) {
		c = inv
	}
	return c.sum(seed), inv
}

func symmetric6(k *key6, seed uint64) (uint64, key6) {
	inv, ok := k.invert()
	if !ok {
		return k.sum(seed), *k
	}
	c := *k
	if less6(&inv, k) {
		c = inv
	}
	return c.sum(seed), inv
}

func less4(a, b *key4) bool {
	if x, y := binary.BigEndian.Uint32(a.src[:]), binary.BigEndian.Uint32(b.src[:]); x != y {
		return x < y
	}
	if a.sport != b.sport {
		return a.sport < b.sport
	}
	return a.dport < b.dport
}

func less6(a, b *key6) bool {
	if c := string(a.src[:]); c != string(b.src[:]) {
		return c < string(b.src[:])
	}
	if a.sport != b.sport {
		return a.sport < b.sport
	}
	return a.dport < b.dport
}

// otherTrack is what connections of protocols other than TCP keep beside
// connState instead of the TCP tracking state's 52 bytes: when they were
// born, in ticks, for UDP's "older than 2 s" stream rule.
type otherTrack struct{ born uint32 }

// trackType is what a store keeps besides connState.
type trackType interface{ tcpTrack | otherTrack }

// stored is one connection in a store.
type stored[K keyType, X trackType] struct {
	key K // the original tuple
	connState
	x X
}

const chunkBits = 8 // 256 connections a chunk

// store holds one family's connections of one shard.
type store[K keyType, X trackType] struct {
	// index holds slot+1 for each connection (0: empty), at the position
	// its symmetric hash picks, probing linearly.
	index  []uint32
	chunks [][]stored[K, X]
	free   []uint32
	n      int
	// hash recomputes a stored key's symmetric hash, for deletions.
	hash func(*K) uint64
}

func (s *store[K, X]) at(slot uint32) *stored[K, X] {
	return &s.chunks[slot>>chunkBits][slot&(1<<chunkBits-1)]
}

// has reports whether slot is within the stored chunks.
func (s *store[K, X]) has(slot uint32) bool {
	c := int(slot >> chunkBits)
	return c < len(s.chunks) && int(slot&(1<<chunkBits-1)) < len(s.chunks[c])
}

// pos maps a hash onto the index by multiply-shift, as reciprocal_scale
// does, so the index may have any size.
func pos(h uint64, n int) int { return int((uint64(uint32(h)) * uint64(n)) >> 32) }

// find looks a tuple up: k is the packet's key, inv its inverse (or k
// again when it has none). It returns the slot and the direction.
func (s *store[K, X]) find(k, inv *K, h uint64) (uint32, Dir, bool) {
	n := len(s.index)
	if n == 0 {
		return 0, 0, false
	}
	for i := pos(h, n); ; i++ {
		if i == n {
			i = 0
		}
		v := s.index[i]
		if v == 0 {
			return 0, 0, false
		}
		e := s.at(v - 1)
		if e.key == *k {
			return v - 1, Original, true
		}
		if e.key == *inv {
			return v - 1, Reply, true
		}
	}
}

// add stores a connection; the caller has checked that neither of its
// tuples is present.
func (s *store[K, X]) add(k K, c connState, x X, h uint64) uint32 {
	if (s.n+1)*4 > len(s.index)*3 {
		s.grow()
	}
	var slot uint32
	if f := len(s.free); f > 0 {
		slot = s.free[f-1]
		s.free = s.free[:f-1]
	} else {
		last := len(s.chunks) - 1
		if last < 0 || len(s.chunks[last]) == 1<<chunkBits {
			s.chunks = append(s.chunks, make([]stored[K, X], 0, 1<<chunkBits))
			last++
		}
		slot = uint32(last<<chunkBits | len(s.chunks[last]))
		s.chunks[last] = s.chunks[last][:len(s.chunks[last])+1]
	}
	*s.at(slot) = stored[K, X]{key: k, connState: c, x: x}
	s.place(slot, h)
	s.n++
	return slot
}

func (s *store[K, X]) place(slot uint32, h uint64) {
	n := len(s.index)
	i := pos(h, n)
	for s.index[i] != 0 {
		if i++; i == n {
			i = 0
		}
	}
	s.index[i] = slot + 1
}

// grow makes the index half as large again (at least 64 slots), keeping
// the load between 1/2 and 3/4, where linear probing stays short.
func (s *store[K, X]) grow() {
	old := s.index
	s.index = make([]uint32, max(64, len(old)*3/2))
	for _, v := range old {
		if v != 0 {
			e := s.at(v - 1)
			s.place(v-1, s.hash(&e.key))
		}
	}
}

// remove deletes the connection in slot, closing the gap in its probe
// run by shifting later members back (no tombstones).
func (s *store[K, X]) remove(slot uint32) {
	e := s.at(slot)
	n := len(s.index)
	i := pos(s.hash(&e.key), n)
	for s.index[i] != slot+1 {
		if i++; i == n {
			i = 0
		}
	}
	s.index[i] = 0
	for j := i + 1; ; j++ {
		if j == n {
			j = 0
		}
		v := s.index[j]
		if v == 0 {
			break
		}
		home := pos(s.hash(&s.at(v-1).key), n)
		// Move v back into the hole at i if its home is not in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			s.index[i], s.index[j] = v, 0
			i = j
		}
	}
	*e = stored[K, X]{}
	s.free = append(s.free, slot)
	s.n--
}
