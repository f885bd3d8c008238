package nat

import (
	"net/netip"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// fakeConns is a conntrack table reduced to what Select asks: the reply
// tuples in use, and the mappings by source.
type fakeConns struct {
	replies  map[conntrack.Tuple]struct{}
	bySource map[srcKey][]conntrack.Tuple
	taken    int // calls to Taken
}

type srcKey struct {
	src   [16]byte
	sport uint16
	proto uint8
	zone  uint16
}

func newFakeConns() *fakeConns {
	return &fakeConns{replies: map[conntrack.Tuple]struct{}{}, bySource: map[srcKey][]conntrack.Tuple{}}
}

func (c *fakeConns) Taken(reply conntrack.Tuple) bool {
	c.taken++
	_, ok := c.replies[reply]
	return ok
}

func (c *fakeConns) SourceMapping(orig conntrack.Tuple, i int) (conntrack.Tuple, bool) {
	l := c.bySource[srcKey{orig.Src, orig.SrcPort, orig.Proto, orig.Zone}]
	if i >= len(l) {
		return conntrack.Tuple{}, false
	}
	return l[i], true
}

// add records a connection with original tuple orig that was given the
// original-direction tuple nat.
func (c *fakeConns) add(orig, nat conntrack.Tuple) {
	reply, ok := nat.Invert()
	if !ok {
		panic("no inverse")
	}
	c.replies[reply] = struct{}{}
	if orig.Src != nat.Src || orig.SrcPort != nat.SrcPort {
		k := srcKey{orig.Src, orig.SrcPort, orig.Proto, orig.Zone}
		c.bySource[k] = append(c.bySource[k], reply)
	}
}

// tuple builds an original-direction tuple; the family follows src.
func tuple(proto uint8, src string, sport uint16, dst string, dport uint16) conntrack.Tuple {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	t := conntrack.Tuple{Proto: proto, SrcPort: sport, DstPort: dport, Src: addrBytes(s), Dst: addrBytes(d)}
	t.Family = packet.IPv6
	if s.Is4() {
		t.Family = packet.IPv4
	}
	return t
}

// echo builds the tuple of an ICMP or ICMPv6 echo request with id.
func echo(src, dst string, id uint16) conntrack.Tuple {
	t := tuple(packet.ProtoICMP, src, id, dst, 8<<8)
	if t.Family == packet.IPv6 {
		t.Proto, t.DstPort = packet.ProtoICMPv6, 128<<8
	}
	return t
}

func addrRange(lo, hi string) Range {
	return NewRange(netip.MustParseAddr(lo), netip.MustParseAddr(hi), 0, 0, 0, MapIPs)
}

// seq returns a Rand that yields vs in turn, then repeats the last.
func seq(vs ...uint32) func() uint32 {
	i := 0
	return func() uint32 {
		v := vs[min(i, len(vs)-1)]
		i++
		return v
	}
}
