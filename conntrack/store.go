package conntrack

import (
	"encoding/binary"
	"math/bits"
	"strings"

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
	var t Tuple
	k.tupleInto(&t)
	return t
}

// tupleInto writes the key's tuple in place (see tupleOf for why the
// hot paths avoid building a tuple and copying it whole at once).
func (k *key4) tupleInto(t *Tuple) {
	*t = Tuple{}
	copy(t.Src[:4], k.src[:])
	copy(t.Dst[:4], k.dst[:])
	t.SrcPort, t.DstPort, t.Zone, t.Family, t.Proto = k.sport, k.dport, k.zone, 4, k.proto
}

func (k key6) tuple() Tuple {
	return Tuple{Src: k.src, Dst: k.dst, SrcPort: k.sport, DstPort: k.dport, Zone: k.zone, Family: 6, Proto: k.proto}
}

func (k *key6) tupleInto(t *Tuple) { *t = k.tuple() }

// symHash4 hashes a key so that it and its inverse agree, without
// building the inverse: the two endpoints are taken in a fixed order (for
// ICMP, whose identifier is the same both ways, the addresses alone, with
// a reply type folded onto its request), then xxhash runs over them with
// the table's seed in front.
func symHash4(k *key4, seed uint64) uint64 {
	return symHash4Of(binary.BigEndian.Uint32(k.src[:]), binary.BigEndian.Uint32(k.dst[:]), k.sport, k.dport, k.zone, k.proto, seed)
}

// symHash4Tuple is symHash4 of toKey4(tp), read from the tuple itself: a
// lookup that hashed the key it had just built would read each address
// back as one word from four one-byte stores, which the CPU cannot
// forward, and stall.
func symHash4Tuple(tp *Tuple, seed uint64) uint64 {
	return symHash4Of(binary.BigEndian.Uint32(tp.Src[:4]), binary.BigEndian.Uint32(tp.Dst[:4]), tp.SrcPort, tp.DstPort, tp.Zone, tp.Proto, seed)
}

func symHash4Of(a, b uint32, sp, dp, zone uint16, proto uint8, seed uint64) uint64 {
	if proto == 1 {
		dp = foldICMP(1, dp)
		if b < a {
			a, b = b, a
		}
	} else if b < a || b == a && dp < sp {
		a, b, sp, dp = b, a, dp, sp
	}
	return xxh64Words(seed, uint64(a)<<32|uint64(b), uint64(sp)<<48|uint64(dp)<<32|uint64(zone)<<16|uint64(proto))
}

// The XXH64 primes.
const (
	xxPrime1 uint64 = 11400714785074694791
	xxPrime2 uint64 = 14029467366897019727
	xxPrime3 uint64 = 1609587929392839161
	xxPrime4 uint64 = 9650029242287828579
	xxPrime5 uint64 = 2870177450012600261
)

// xxh64Words is XXH64 with a seed over the 16 little-endian bytes of w0
// and w1: xxhash.Sum64's algorithm for an input under 32 bytes, written
// out for two words so that the hot path neither builds a buffer nor
// takes the general length cases (TestXXH64Words checks it against
// github.com/cespare/xxhash).
func xxh64Words(seed, w0, w1 uint64) uint64 {
	h := seed + xxPrime5 + 16
	for _, w := range [2]uint64{w0, w1} {
		k := bits.RotateLeft64(w*xxPrime2, 31) * xxPrime1
		h ^= k
		h = bits.RotateLeft64(h, 27)*xxPrime1 + xxPrime4
	}
	h ^= h >> 33
	h *= xxPrime2
	h ^= h >> 29
	h *= xxPrime3
	h ^= h >> 32
	return h
}

func symHash6(k *key6, seed uint64) uint64 {
	a, b := &k.src, &k.dst
	sp, dp := k.sport, k.dport
	if k.proto == 58 {
		dp = foldICMP(58, dp)
		if string(b[:]) < string(a[:]) {
			a, b = b, a
		}
	} else if c := strings.Compare(string(b[:]), string(a[:])); c < 0 || c == 0 && dp < sp {
		a, b, sp, dp = b, a, dp, sp
	}
	var buf [48]byte
	binary.LittleEndian.PutUint64(buf[0:], seed)
	copy(buf[8:24], a[:])
	copy(buf[24:40], b[:])
	binary.LittleEndian.PutUint64(buf[40:], uint64(sp)<<48|uint64(dp)<<32|uint64(k.zone)<<16|uint64(k.proto))
	return xxhash.Sum64(buf[:])
}

// foldICMP maps an ICMP type<<8|code word with a reply type onto its
// request type, so a query and its answer hash alike.
func foldICMP(proto uint8, word uint16) uint16 {
	if typ := uint8(word >> 8); isICMPReply(proto, typ) {
		req, _ := icmpInverse(proto, typ)
		return uint16(req)<<8 | word&0xff
	}
	return word
}

// isInverse reports whether k is the inverse of the stored key e: the
// packet travels in the stored connection's reply direction.
func isInverse[K keyType](e, k *K) bool {
	switch e := any(e).(type) {
	case *key4:
		k := any(k).(*key4)
		return e.src == k.dst && e.dst == k.src && e.zone == k.zone && e.proto == k.proto && portsInverse(e.proto, e.sport, e.dport, k.sport, k.dport)
	case *key6:
		k := any(k).(*key6)
		return e.src == k.dst && e.dst == k.src && e.zone == k.zone && e.proto == k.proto && portsInverse(e.proto, e.sport, e.dport, k.sport, k.dport)
	}
	return false
}

// portsInverse reports whether (sp2, dp2) are the other direction's
// identifiers of (sp, dp).
func portsInverse(proto uint8, sp, dp, sp2, dp2 uint16) bool {
	if proto == 1 || proto == 58 {
		rt, ok := icmpInverse(proto, uint8(dp>>8))
		return ok && sp2 == sp && dp2 == uint16(rt)<<8|dp&0xff
	}
	return sp2 == dp && dp2 == sp
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
	// index holds one word per connection (0: empty), at the position
	// its symmetric hash picks, probing linearly: slot+1 in the low 24
	// bits and 8 more bits of the hash above them, so that a probe
	// reads a stored connection only when those bits agree (1 in 256
	// misses does), which at a million entries saves a cache miss per
	// probe.
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

// An index word keeps slot+1 in its low slotBits bits; NewTable caps
// Max (MaxEntries) so that no store comes near 2^24 connections.
const (
	slotBits = 24
	slotMask = 1<<slotBits - 1
)

// indexWord is a connection's index word: its slot and its hash's tag
// (bits 32–39, which neither pos nor the shard choice uses).
func indexWord(slot uint32, h uint64) uint32 { return uint32(h>>32)<<slotBits | (slot + 1) }

// tagOf returns the tag bits an index word for hash h carries.
func tagOf(h uint64) uint32 { return uint32(h>>32) << slotBits }

// find looks a tuple up by its key and symmetric hash. It returns the
// slot and the packet's direction.
func (s *store[K, X]) find(k *K, h uint64) (uint32, Dir, bool) {
	n := len(s.index)
	if n == 0 {
		return 0, 0, false
	}
	tag := tagOf(h)
	for i := pos(h, n); ; i++ {
		if i == n {
			i = 0
		}
		v := s.index[i]
		if v == 0 {
			return 0, 0, false
		}
		if v&^slotMask != tag {
			continue
		}
		slot := v&slotMask - 1
		e := s.at(slot)
		if e.key == *k {
			return slot, Original, true
		}
		// A connection whose reply tuple NAT changed is found in the
		// reply direction only through the NAT index.
		if e.status&(StatusSrcNAT|StatusDstNAT) == 0 && isInverse(&e.key, k) {
			return slot, Reply, true
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
	s.index[i] = indexWord(slot, h)
}

// grow makes the index half as large again (at least 64 slots), keeping
// the load between 1/2 and 3/4, where linear probing stays short.
func (s *store[K, X]) grow() {
	old := s.index
	s.index = make([]uint32, max(64, len(old)*3/2))
	for _, v := range old {
		if v != 0 {
			slot := v&slotMask - 1
			s.place(slot, s.hash(&s.at(slot).key))
		}
	}
}

// remove deletes the connection in slot, closing the gap in its probe
// run by shifting later members back (no tombstones).
func (s *store[K, X]) remove(slot uint32) {
	e := s.at(slot)
	n := len(s.index)
	i := pos(s.hash(&e.key), n)
	for s.index[i]&slotMask != slot+1 {
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
		home := pos(s.hash(&s.at(v&slotMask-1).key), n)
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
