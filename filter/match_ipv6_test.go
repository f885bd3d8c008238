package filter

import (
	"net/netip"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// ipv6With builds an IPv6 packet whose payload is chain, the first
// header being first.
func ipv6With(first uint8, chain ...byte) *packet.Packet {
	b := make([]byte, 40, 40+len(chain))
	b[0] = 0x60
	b[4], b[5] = byte(len(chain)>>8), byte(len(chain))
	b[6], b[7] = first, 64
	src, dst := netip.MustParseAddr("2001:db8::1").As16(), netip.MustParseAddr("2001:db8::2").As16()
	copy(b[8:], src[:])
	copy(b[24:], dst[:])
	b = append(b, chain...)
	p := new(packet.Packet)
	p.Decode(b)
	return p
}

func ipv6Matches() []Match {
	return []Match{
		&FragMatch{IDMax: 1<<32 - 1, First: true},
		&HBHMatch{OptsMatch{HasOpts: true, Opts: []uint16{1<<8 | 4, 0<<8 | 0xff}}},
		&DstMatch{OptsMatch{HasLen: true, Len: 8}},
		&RTMatch{SegsMax: 1<<32 - 1, HasType: true, HasAddrs: true, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}},
		&AH6Match{SPIMax: 1<<32 - 1, Res: true},
		&MHMatch{TypeMax: 255},
		&IPv6HeaderMatch{Headers: IPv6HeaderHop | IPv6HeaderProto},
		&IPv6HeaderMatch{Headers: IPv6HeaderDst, Soft: true, Invert: true},
		&EUI64Match{},
		&SRHMatch{Flags: SRHPSID | SRHNSID | SRHLSID | SRHTag | SRHLenGt},
	}
}

// TestIPv6HeadersTruncatedAreDropped: a chain that runs past the packet
// drops it (hotdrop), where a header that is not there only does not
// match.
func TestIPv6HeadersTruncatedAreDropped(t *testing.T) {
	frag := &FragMatch{IDMax: 1<<32 - 1}
	// A hop-by-hop header claiming 16 bytes in a packet that has 8, so
	// the fragment header after it cannot be reached.
	c := matchCtx(ipv6With(0, 44, 1, 0, 0, 0, 0, 0, 0))
	if frag.Match(c) || !c.HotDrop {
		t.Errorf("truncated chain: hotdrop %v, want a drop", c.HotDrop)
	}
	c = matchCtx(ipv6With(59))
	if frag.Match(c) || c.HotDrop {
		t.Errorf("no fragment header: hotdrop %v, want no match and no drop", c.HotDrop)
	}
	c = matchCtx(ipv6With(44, 59, 0, 0, 0, 0, 0, 0, 9))
	if !frag.Match(c) {
		t.Error("an atomic fragment header does not match -m frag")
	}
}

func TestIPv6HeaderMatchesDoNotAllocate(t *testing.T) {
	c := matchCtx(ipv6With(0, 60, 0, 1, 4, 0, 0, 0, 0, 59, 0, 0, 0, 0, 0, 0, 0))
	for _, m := range ipv6Matches() {
		if n := testing.AllocsPerRun(100, func() { m.Match(c) }); n != 0 {
			t.Errorf("%T allocates %v times", m, n)
		}
	}
}

// FuzzIPv6HeaderMatches runs every IPv6 header match on any chain.
func FuzzIPv6HeaderMatches(f *testing.F) {
	f.Add(uint8(0), []byte{60, 0, 1, 4, 0, 0, 0, 0, 59, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint8(43), []byte{59, 2, 0, 1, 0, 0, 0, 0})
	f.Add(uint8(51), []byte{59, 2, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, first uint8, chain []byte) {
		if len(chain) > 2000 {
			return
		}
		p := ipv6With(first, chain...)
		if p.Length == 0 {
			return
		}
		for _, m := range ipv6Matches() {
			m.Match(matchCtx(p))
		}
	})
}
