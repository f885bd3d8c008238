package nat

import (
	"github.com/nfgo/nfgo/internal/jhash"
	"math/rand/v2"

	"github.com/nfgo/nfgo/conntrack"
)

// Conns is what choosing a binding needs to know of the conntrack table.
// Select calls it with values only, so an implementation over the table
// costs no allocation.
type Conns interface {
	// Taken reports whether reply is the reply tuple of a connection
	// other than the one being set up (nf_conntrack_tuple_taken, as
	// nf_nat_used_tuple calls it).
	Taken(reply conntrack.Tuple) bool

	// SourceMapping returns the reply tuple of the i-th connection
	// (counting from 0, in any stable order) that has been source-NATed
	// and whose original tuple has orig's protocol, source address,
	// source port and zone: the kernel's bysource hash chain, which
	// find_appropriate_src walks. ok is false past the last one.
	SourceMapping(orig conntrack.Tuple, i int) (reply conntrack.Tuple, ok bool)
}

// Selector picks NAT bindings: the unique tuple of get_unique_tuple in
// net/netfilter/nf_nat_core.c. The zero value is not usable: Conns is
// required.
type Selector struct {
	// Conns answers which tuples are in use.
	Conns Conns
	// Related says the connection was created by an expectation (it
	// has a master): only then are a GRE connection's keys, PPTP's call
	// IDs, changed to make its tuple unique.
	Related bool
	// Rand returns random bits; the port search uses the low 16 of each
	// call, as the kernel's get_random_u16. Nil means math/rand/v2's
	// Uint32. Tests inject a fixed sequence.
	Rand func() uint32
}

// maxAttempts is the kernel's first budget of ports to try in a row
// (max_attempts in nf_nat_l4proto_unique_tuple): searching the whole
// range when it is nearly full would lock up a softirq.
const maxAttempts = 128

// minAttempts bounds the halving: after a failed round of fewer than 16
// tries the search gives up (so a round of 16 is still followed by one of
// 8).
const minAttempts = 16

// Select returns the tuple that the connection whose original-direction
// tuple is now curr should have after manipulation m into range r. For
// a source manipulation ok is false when no tuple in the range is free
// (the caller drops the packet and counts it, as the kernel's confirm
// step would drop the clash). A destination manipulation always
// succeeds, as get_unique_tuple cannot fail: with no free tuple it
// returns the last one tried, and the source binding after it resolves
// the clash by moving the source port (the null binding does), or fails.
// The connection's new reply tuple is the inverse of the result;
// the result equals curr when nothing needs to change (a null binding).
//
// It follows get_unique_tuple:
//
//  1. For SNAT without --random or --random-fully: keep curr if it is in
//     range and no other connection has its reply; else, if the same
//     source (address, port, protocol) is mapped already by a connection
//     whose mapping is in range and free, reuse that mapping
//     (find_appropriate_src), so that a host keeps its public address and
//     port across connections.
//  2. Choose the address by a stable hash (bestAddr, find_best_ips_proto).
//  3. Without random flags, keep the port if it is in range and the tuple
//     is free.
//  4. Otherwise search a port (uniquePort, nf_nat_l4proto_unique_tuple).
//
// Not ported: the newest kernels' eviction of a source-NATed TCP
// connection in TIME_WAIT during the last 32 tries
// (nf_nat_used_tuple_harder), which leaves the tuple as chosen so far.
func (s *Selector) Select(curr conntrack.Tuple, r *Range, m Manip) (conntrack.Tuple, bool) {
	if m == ManipSrc && r.Flags&ProtoRandomAll == 0 {
		if inRange(&curr, r) {
			if !s.used(&curr) {
				return curr, true
			}
		} else if t, ok := s.appropriateSrc(&curr, r); ok && !s.used(&t) {
			return t, true
		}
	}

	t := curr
	bestAddr(&t, r, m)

	if r.Flags&ProtoRandomAll == 0 {
		if r.Flags&ProtoSpecified != 0 {
			if r.Flags&ProtoOffset == 0 && l4InRange(&t, m, r.MinPort, r.MaxPort) {
				// With a single port the kernel does not even look. A
				// destination binding's clash is then resolved by the
				// source binding after it (its null binding moves the
				// source port); a source binding's is dropped at
				// confirm, so report it here.
				if r.MinPort == r.MaxPort {
					return t, m == ManipDst || !s.used(&t)
				}
				if !s.used(&t) {
					return t, true
				}
			}
		} else if !s.used(&t) {
			return t, true
		}
	}
	t, ok := s.uniquePort(t, r, m)
	// The kernel's search gives up with the last tuple it tried, which
	// the connection then takes (get_unique_tuple cannot fail): a
	// destination binding's clash is resolved by the source binding
	// after it, and one left unresolved fails that binding's
	// reservation, where the kernel drops it at confirm.
	return t, ok || m == ManipDst
}

// used is nf_nat_used_tuple: whether another connection's reply tuple is
// the inverse of t.
func (s *Selector) used(t *conntrack.Tuple) bool {
	reply, ok := t.Invert()
	if !ok {
		// An ICMP type without a reply cannot be a connection's
		// original tuple; nothing can clash with it.
		return false
	}
	return s.Conns.Taken(reply)
}

// appropriateSrc is find_appropriate_src: the first mapping of curr's
// source by another connection that, applied to curr, is in r.
func (s *Selector) appropriateSrc(curr *conntrack.Tuple, r *Range) (conntrack.Tuple, bool) {
	for i := 0; ; i++ {
		reply, ok := s.Conns.SourceMapping(*curr, i)
		if !ok {
			return conntrack.Tuple{}, false
		}
		// The source part comes from the other connection's reply,
		// inverted; the destination stays curr's.
		t := *curr
		t.Src = reply.Dst
		if isICMP(curr.Proto) {
			t.SrcPort = reply.SrcPort
		} else {
			t.SrcPort = reply.DstPort
		}
		if inRange(&t, r) {
			return t, true
		}
	}
}

// bestAddr sets t's address on the m side from r, as find_best_ips_proto
// does: a single address is taken as it is; otherwise the choice is a
// jhash2 of the source address, seeded with the last word of the
// destination address XOR the zone unless r is Persistent, scaled onto
// the range one 32-bit word at a time. The hash has no random seed, so a
// client maps to the same address across restarts, and nfgo picks what a
// (little-endian) kernel picks.
//
// As in the kernel, an IPv6 range whose bounds differ in more than the
// last 32-bit word can yield an address outside it: once a word falls
// below the maximum's, the later words take any value, even below the
// minimum's. iptables users give prefixes, where this cannot happen.
func bestAddr(t *conntrack.Tuple, r *Range, m Manip) {
	if r.Flags&MapIPs == 0 {
		return
	}
	v := &t.Src
	if m == ManipDst {
		v = &t.Dst
	}
	if r.Min == r.Max {
		*v = r.Min
		return
	}
	n := words(t.Family)
	persistent := r.Flags&Persistent != 0

	// The kernel hashes all four words of the source address, which are
	// zero past an IPv4 address.
	var src [4]uint32
	for i := range src {
		src[i] = leWord(&t.Src, i)
	}
	var seed uint32
	if !persistent {
		seed = leWord(&t.Dst, n-1) ^ uint32(t.Zone)
	}
	j := jhash.Hash2(src[:], seed)

	full := false
	for i := range n {
		var lo, dist uint32
		if !full {
			lo = word(&r.Min, i)
			dist = word(&r.Max, i) - lo + 1
		} else {
			// Once a word is below the maximum's, the later words
			// may take any value.
			lo, dist = 0, ^uint32(0)
		}
		putWord(v, i, lo+reciprocalScale(j, dist))
		if word(v, i) != word(&r.Max, i) {
			full = true
		}
		if !persistent {
			// For DNAT v is the destination: the kernel mixes in the
			// word it has just chosen, and so does this.
			j ^= leWord(&t.Dst, i)
		}
	}
}

// uniquePort is nf_nat_l4proto_unique_tuple: it searches the port (or
// ICMP id) that m changes for one that makes t free, starting at a random
// offset in the range (or at port - BasePort with ProtoOffset) and trying
// up to 128 in a row; after a failed round it halves the number of tries
// and starts again at a new random offset, giving up after a round of
// fewer than 16 or once a round has covered the whole range.
//
// DNAT without --random starts at the first port of the range, so that
// it fills the range in order (the kernel's "restore default DNAT
// behavior", Linux 6.0); SNAT and any --random start at a random offset.
// Without a port range DNAT keeps the port (portRange), and the clash is
// reported.
//
// PPTP's GRE call IDs are searched like ports for a related connection
// (Selector.Related): any of 1 to 65535 without a range.
func (s *Selector) uniquePort(t conntrack.Tuple, r *Range, m Manip) (conntrack.Tuple, bool) {
	lo, size, ok := portRange(&t, r, m, s.Related)
	if !ok {
		return t, !s.used(&t)
	}
	k := key(&t, m)
	// off is 16 bits wide and wraps, as the kernel's u16 does.
	var off uint16
	switch {
	case r.Flags&ProtoOffset != 0:
		off = *k - r.BasePort
	case r.Flags&ProtoRandomAll != 0 || m != ManipDst:
		off = s.rand16()
	}
	attempts := min(size, maxAttempts)
	for {
		for range attempts {
			*k = uint16(lo + uint32(off)%size)
			if !s.used(&t) {
				return t, true
			}
			off++
		}
		if attempts >= size || attempts < minAttempts {
			return t, false
		}
		attempts /= 2
		off = s.rand16()
	}
}

func (s *Selector) rand16() uint16 {
	if s.Rand != nil {
		return uint16(s.Rand())
	}
	return uint16(rand.Uint32())
}
