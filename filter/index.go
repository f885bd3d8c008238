package filter

import (
	"sort"

	"github.com/nfgo/nfgo/packet"
)

// The chain index: a long chain's rules filed by one field they test, so
// that a packet meets only the rules that can match it, in their order.
//
// Compile looks at each chain of at least indexMinRules rules and picks
// the one field that sorts its rules best: the source address, the
// destination address (each under its own netmask, contiguous or not),
// the destination ports of a first tcp or udp match or multiport
// --dports (ranges of up to 64 ports spelled out), the input or output
// interface (an exact name, not a "+" wildcard), or the packet mark of a
// first mark match (under its mask; only in a chain none of whose
// targets can change the mark while the chain is walked). A rule that tests
// the field exactly (not inverted) is filed under its value; every other
// rule is a wildcard, a candidate for every packet. For a packet the
// index yields a few sorted lists (the buckets of its value under each
// netmask, and the wildcards), and the traversal steps from one
// candidate to the next in rule order. A skipped rule is one whose
// header or first match fails on that field; evaluated linearly it would
// have failed the same way before any other match ran, so no counter,
// side effect, hotdrop or verdict differs: first-match order, jumps,
// gotos, RETURN and policies are untouched, as TestIndexMatchesLinear
// and FuzzIndexMatchesLinear check against the linear walk.
//
// A packet the index cannot classify exactly (no clean transport
// header, for a port index) and a traced traversal (every rule is
// reported) walk the chain linearly.

// indexMinRules is the shortest chain worth an index.
const indexMinRules = 8

// indexMaxLists bounds the lists a packet's candidates come from: the
// wildcards and one bucket per netmask.
const indexMaxLists = 8

type indexField uint8

const (
	indexSrc indexField = iota + 1
	indexDst
	indexDport
	indexIn
	indexOut
	indexMark
)

// chainIndex is one chain's index.
type chainIndex struct {
	field indexField
	// masks are the netmasks of an address index, each with the rules
	// filed under a masked address.
	masks maskBuckets[[2]uint64]
	// ports files a port index's rules by protocol<<16 | port.
	ports map[uint32][]int32
	// names files an interface index's rules by interface name.
	names map[string][]int32
	// marks are a mark index's masks, each with the rules filed under
	// a masked mark.
	marks maskBuckets[uint32]
	// wild are the rules every packet is a candidate for.
	wild []int32
}

// maskBuckets file rules by a value under each of the masks they use
// (addresses under netmasks, marks under mark masks), at most
// indexMaxLists-1 masks, so that a packet's candidates come from one
// bucket per mask.
type maskBuckets[V comparable] []maskBucket[V]

type maskBucket[V comparable] struct {
	mask  V
	rules map[V][]int32
}

// file files rule ri under key in mask's bucket, reporting false when
// that would be one mask too many.
func (bs *maskBuckets[V]) file(mask, key V, ri int32) bool {
	k := -1
	for j := range *bs {
		if (*bs)[j].mask == mask {
			k = j
		}
	}
	if k < 0 {
		if len(*bs) == indexMaxLists-1 {
			return false
		}
		*bs = append(*bs, maskBucket[V]{mask, map[V][]int32{}})
		k = len(*bs) - 1
	}
	(*bs)[k].rules[key] = append((*bs)[k].rules[key], ri)
	return true
}

// worstCase is the most rules a packet meets in the buckets: the
// largest bucket under each mask.
func (bs maskBuckets[V]) worstCase() int {
	n := 0
	for _, b := range bs {
		most := 0
		for _, l := range b.rules {
			most = max(most, len(l))
		}
		n += most
	}
	return n
}

// candidates are a packet's candidate rules in one chain, as the
// traversal walks them: the lists and a cursor into each.
type candidates struct {
	chain int32 // the chain they are for, -1 for none
	// linear says the packet cannot use the chain's index.
	linear bool
	n      int
	lists  [indexMaxLists][]int32
	pos    [indexMaxLists]int
}

// next returns the first candidate rule at or after ri, or end if none.
func (cs *candidates) next(ri, end int32) int32 {
	best := end
	for i := 0; i < cs.n; i++ {
		l := cs.lists[i]
		p := cs.pos[i]
		if p > 0 && l[p-1] >= ri {
			// Back before the cursor (after a RETURN into an earlier
			// frame of the same chain): search again.
			p = sort.Search(len(l), func(k int) bool { return l[k] >= ri })
		}
		for p < len(l) && l[p] < ri {
			p++
		}
		cs.pos[i] = p
		if p < len(l) && l[p] < best {
			best = l[p]
		}
	}
	return best
}

// load fills cs with the packet's candidates in chain ci, reporting
// false when the packet cannot use the index.
func (x *chainIndex) load(cs *candidates, ci int32, c *Context, a *pktAddrs) bool {
	p := c.Packet
	cs.chain, cs.n = ci, 0
	add := func(l []int32) {
		if len(l) > 0 {
			cs.lists[cs.n], cs.pos[cs.n] = l, 0
			cs.n++
		}
	}
	add(x.wild)
	switch x.field {
	case indexSrc, indexDst:
		if !a.ok {
			return true // no address: every filed rule's header fails
		}
		v := a.src
		if x.field == indexDst {
			v = a.dst
		}
		for i := range x.masks {
			m := &x.masks[i]
			add(m.rules[[2]uint64{v[0] & m.mask[0], v[1] & m.mask[1]}])
		}
	case indexDport:
		if p.Proto != packet.ProtoTCP && p.Proto != packet.ProtoUDP {
			return true // every filed rule's -p fails
		}
		if p.L4Off == 0 || p.FragOffset != 0 || p.Invalid != packet.OK {
			return false // the tcp and udp matches have their own say
		}
		add(x.ports[uint32(p.Proto)<<16|uint32(p.DstPort)])
	case indexIn:
		add(x.names[c.In])
	case indexOut:
		add(x.names[c.Out])
	case indexMark:
		for i := range x.marks {
			m := &x.marks[i]
			add(m.rules[c.Mark&m.mask])
		}
	}
	return true
}

// buildIndex indexes a chain's rules, or returns nil when no field sorts
// them well enough to be worth it.
func buildIndex(rules []progRule) *chainIndex {
	if len(rules) < indexMinRules {
		return nil
	}
	var best *chainIndex
	bestCost := len(rules) / 2 // an index must at least halve the walk
	for _, f := range []indexField{indexSrc, indexDst, indexDport, indexIn, indexOut, indexMark} {
		x := indexBy(f, rules)
		if x == nil {
			continue
		}
		if cost := x.worstCase(); cost < bestCost {
			best, bestCost = x, cost
		}
	}
	return best
}

// worstCase is the most candidates a packet can have: the wildcards and
// the largest bucket under each netmask.
func (x *chainIndex) worstCase() int {
	most := 0
	for _, l := range x.ports {
		most = max(most, len(l))
	}
	for _, l := range x.names {
		most = max(most, len(l))
	}
	return len(x.wild) + x.masks.worstCase() + x.marks.worstCase() + most
}

// indexBy files the rules by field f; nil if too many netmasks, or
// for a mark index, if a target may change the mark.
func indexBy(f indexField, rules []progRule) *chainIndex {
	if f == indexMark && !markStable(rules) {
		return nil
	}
	x := &chainIndex{field: f}
	for i := range rules {
		r := &rules[i]
		ri := int32(i)
		switch f {
		case indexSrc, indexDst:
			test, inv, v, m := testSrc, r.hdr.srcInv, r.hdr.src, r.hdr.srcMask
			if f == indexDst {
				test, inv, v, m = testDst, r.hdr.dstInv, r.hdr.dst, r.hdr.dstMask
			}
			if r.hdr.tests&test == 0 || inv {
				x.wild = append(x.wild, ri)
				continue
			}
			if !x.masks.file(m, [2]uint64{v[0] & m[0], v[1] & m[1]}, ri) {
				return nil
			}
		case indexDport:
			ports, ok := firstDports(r)
			if !ok {
				x.wild = append(x.wild, ri)
				continue
			}
			if x.ports == nil {
				x.ports = map[uint32][]int32{}
			}
			for _, port := range ports {
				key := uint32(r.hdr.proto)<<16 | uint32(port)
				if l := x.ports[key]; len(l) == 0 || l[len(l)-1] != ri { // a port listed twice
					x.ports[key] = append(l, ri)
				}
			}
		case indexIn, indexOut:
			test, ifc := testIn, r.hdr.in
			if f == indexOut {
				test, ifc = testOut, r.hdr.out
			}
			if r.hdr.tests&test == 0 || ifc.Invert || ifc.Wildcard {
				x.wild = append(x.wild, ri)
				continue
			}
			if x.names == nil {
				x.names = map[string][]int32{}
			}
			x.names[ifc.Name] = append(x.names[ifc.Name], ri)
		case indexMark:
			m, ok := firstMatch(r).(*MarkMatch)
			if !ok || m.Invert {
				x.wild = append(x.wild, ri)
				continue
			}
			// A mark whose bits lie outside the mask never matches: it is
			// filed under a key no packet's masked mark has.
			if !x.marks.file(m.Mask, m.Mark, ri) {
				return nil
			}
		}
	}
	if f == indexIn || f == indexOut {
		if x.names == nil {
			return nil
		}
	}
	return x
}

// firstMatch is a rule's first match after any comments, nil if none.
func firstMatch(r *progRule) Match {
	for _, m := range r.matches {
		if _, ok := m.(*CommentMatch); !ok {
			return m
		}
	}
	return nil
}

// markStable reports whether the packet's mark cannot change while the
// chain is walked: every target is a standard verdict, a goto, or none.
// (A MARK rule, or a jump to a chain that may hold one, would make the
// chain's later rules see another mark than the one its candidates were
// chosen by.)
func markStable(rules []progRule) bool {
	for i := range rules {
		switch t := rules[i].target.(type) {
		case nil, *StandardTarget:
		case *JumpTarget:
			if !t.Goto {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// indexPortsMax bounds the ports a multiport rule is filed under (its
// ranges spelled out); a rule with more is a wildcard.
const indexPortsMax = 64

// firstDports are the destination ports a rule's -p tcp or -p udp and
// first match (after any comments) test: those of a tcp or udp --dport,
// or those a multiport --dports lists, ranges spelled out, up to
// indexPortsMax.
func firstDports(r *progRule) ([]uint16, bool) {
	h := &r.hdr
	if h.tests&testProto == 0 || h.protoInv {
		return nil, false
	}
	if h.proto != packet.ProtoTCP && h.proto != packet.ProtoUDP {
		return nil, false // the index serves TCP and UDP packets only
	}
	// Comments come first in generated rules (kube-proxy's); they test
	// nothing and do nothing, so the port test is still the first that
	// can fail.
	var ranges []PortRange
	switch m := firstMatch(r).(type) {
	case *TCPMatch:
		if h.proto != packet.ProtoTCP || m.DstInvert {
			return nil, false
		}
		ranges = []PortRange{m.DstPorts}
	case *UDPMatch:
		if h.proto != packet.ProtoUDP || m.DstInvert {
			return nil, false
		}
		ranges = []PortRange{m.DstPorts}
	case *MultiportMatch:
		if m.Mode != MultiportDestination || m.Invert {
			return nil, false
		}
		ranges = m.Ports
	default:
		return nil, false
	}
	var ports []uint16
	for _, pr := range ranges {
		if pr.Min > pr.Max || int(pr.Max)-int(pr.Min)+len(ports) >= indexPortsMax {
			return nil, false
		}
		for p := int(pr.Min); p <= int(pr.Max); p++ {
			ports = append(ports, uint16(p))
		}
	}
	return ports, len(ports) > 0
}
