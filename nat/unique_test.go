package nat

import (
	"github.com/nfgo/nfgo/internal/jhash"
	"net/netip"
	"testing"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

const tcp, udp = packet.ProtoTCP, packet.ProtoUDP

func TestSelectKeepsOriginalTupleWhenFreeAndInRange(t *testing.T) {
	tests := []struct {
		name string
		curr conntrack.Tuple
		r    Range
		m    Manip
	}{
		{"null binding SNAT", tuple(tcp, "10.0.0.1", 40000, "192.0.2.1", 80), addrRange("10.0.0.1", "10.0.0.1"), ManipSrc},
		{"null binding DNAT", tuple(udp, "10.0.0.1", 5353, "192.0.2.1", 53), addrRange("192.0.2.1", "192.0.2.1"), ManipDst},
		{"source already in SNAT range", tuple(tcp, "10.0.0.7", 1234, "192.0.2.1", 80), addrRange("10.0.0.0", "10.0.0.255"), ManipSrc},
		{"ICMP echo", echo("10.0.0.1", "192.0.2.1", 77), addrRange("10.0.0.1", "10.0.0.1"), ManipSrc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Selector{Conns: newFakeConns(), Rand: seq(999)}
			got, ok := s.Select(tt.curr, &tt.r, tt.m)
			if !ok || got != tt.curr {
				t.Errorf("Select = %v, %v; want %v, true", got, ok, tt.curr)
			}
		})
	}
}

func TestSelectSNATToOneAddressKeepsPortWhenFree(t *testing.T) {
	curr := tuple(tcp, "192.168.1.10", 40000, "198.51.100.1", 443)
	r := addrRange("203.0.113.5", "203.0.113.5")
	s := Selector{Conns: newFakeConns(), Rand: seq(0)}
	got, ok := s.Select(curr, &r, ManipSrc)
	want := tuple(tcp, "203.0.113.5", 40000, "198.51.100.1", 443)
	if !ok || got != want {
		t.Errorf("Select = %v, %v; want %v", got, ok, want)
	}
}

func TestSelectSNATReusesTheSameSourcesExistingMapping(t *testing.T) {
	c := newFakeConns()
	// 192.168.1.10:40000 already goes out as .5:50000 to another server.
	first := tuple(udp, "192.168.1.10", 40000, "198.51.100.1", 3478)
	c.add(first, tuple(udp, "203.0.113.5", 50000, "198.51.100.1", 3478))
	r := addrRange("203.0.113.5", "203.0.113.6")
	s := Selector{Conns: c, Rand: seq(0)}
	curr := tuple(udp, "192.168.1.10", 40000, "198.51.100.2", 3478)
	got, ok := s.Select(curr, &r, ManipSrc)
	want := tuple(udp, "203.0.113.5", 50000, "198.51.100.2", 3478)
	if !ok || got != want {
		t.Errorf("Select = %v, %v; want %v (the existing mapping)", got, ok, want)
	}
}

func TestSelectSNATSkipsExistingMappingOutOfRange(t *testing.T) {
	c := newFakeConns()
	first := tuple(udp, "192.168.1.10", 40000, "198.51.100.1", 3478)
	c.add(first, tuple(udp, "203.0.113.9", 50000, "198.51.100.1", 3478))
	r := addrRange("203.0.113.5", "203.0.113.5")
	s := Selector{Conns: c, Rand: seq(0)}
	curr := tuple(udp, "192.168.1.10", 40000, "198.51.100.2", 3478)
	got, ok := s.Select(curr, &r, ManipSrc)
	want := tuple(udp, "203.0.113.5", 40000, "198.51.100.2", 3478)
	if !ok || got != want {
		t.Errorf("Select = %v, %v; want %v", got, ok, want)
	}
}

func TestSelectSNATPortSearchKeepsThePortClass(t *testing.T) {
	tests := []struct {
		name      string
		sport     uint16
		off       uint32
		wantPort  uint16
		wantFirst uint16
	}{
		// min + off % size: the kernel's first try.
		{"below 512 stays in 1-511", 80, 600, 1 + 600%511, 1},
		{"512-1023 goes to 600-1023", 700, 10, 610, 600},
		{"1024 and up stays in 1024-65535", 40000, 70000, uint16(1024 + (70000&0xffff)%64512), 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFakeConns()
			// Another client already uses the same port to the same server.
			other := tuple(tcp, "192.168.1.99", tt.sport, "198.51.100.1", 80)
			c.add(other, tuple(tcp, "203.0.113.5", tt.sport, "198.51.100.1", 80))
			r := addrRange("203.0.113.5", "203.0.113.5")
			s := Selector{Conns: c, Rand: seq(tt.off)}
			got, ok := s.Select(tuple(tcp, "192.168.1.10", tt.sport, "198.51.100.1", 80), &r, ManipSrc)
			if !ok || got.SrcPort != tt.wantPort {
				t.Errorf("port = %d, %v; want %d", got.SrcPort, ok, tt.wantPort)
			}
		})
	}
}

func TestSelectPortSearchSkipsUsedPortsConsecutively(t *testing.T) {
	c := newFakeConns()
	r := NewRange(netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("203.0.113.5"), 1000, 1009, 0, MapIPs|ProtoSpecified)
	for p := uint16(1003); p <= 1005; p++ {
		c.add(tuple(tcp, "192.168.1.99", p, "198.51.100.1", 80), tuple(tcp, "203.0.113.5", p, "198.51.100.1", 80))
	}
	s := Selector{Conns: c, Rand: seq(13)} // 13 % 10 = 3: start at 1003
	got, ok := s.Select(tuple(tcp, "192.168.1.10", 1004, "198.51.100.1", 80), &r, ManipSrc)
	if !ok || got.SrcPort != 1006 {
		t.Errorf("port = %d, %v; want 1006", got.SrcPort, ok)
	}
}

func TestSelectRandomFlagsAlwaysSearch(t *testing.T) {
	for _, f := range []Flags{ProtoRandom, ProtoRandomFully} {
		r := addrRange("203.0.113.5", "203.0.113.5")
		r.Flags |= f
		s := Selector{Conns: newFakeConns(), Rand: seq(5)}
		curr := tuple(tcp, "203.0.113.5", 40000, "198.51.100.1", 80) // in range and free
		got, ok := s.Select(curr, &r, ManipSrc)
		if want := uint16(1024 + 5); !ok || got.SrcPort != want {
			t.Errorf("flags %#x: port = %d, %v; want %d", f, got.SrcPort, ok, want)
		}
	}
}

func TestSelectDNATWithoutPortsKeepsPortEvenOnAClash(t *testing.T) {
	c := newFakeConns()
	r := addrRange("10.0.0.80", "10.0.0.80")
	s := Selector{Conns: c, Rand: seq(0)}
	curr := tuple(tcp, "198.51.100.1", 5000, "203.0.113.5", 80)
	got, ok := s.Select(curr, &r, ManipDst)
	want := tuple(tcp, "198.51.100.1", 5000, "10.0.0.80", 80)
	if !ok || got != want {
		t.Fatalf("Select = %v, %v; want %v", got, ok, want)
	}
	c.add(curr, got)
	// The same client port to another public address DNATed to the same
	// server: the kernel cannot change a DNAT port without a range, and
	// keeps the clashing tuple for the source binding to resolve (its
	// null binding moves the source port).
	curr2 := tuple(tcp, "198.51.100.1", 5000, "203.0.113.6", 80)
	if got, ok := s.Select(curr2, &r, ManipDst); !ok || got != want {
		t.Errorf("Select = %v, %v; want %v, true", got, ok, want)
	}
	// The source binding's null range then finds the tuple used and
	// moves the source port.
	null := NullRange(want, ManipSrc)
	if got, ok := s.Select(want, &null, ManipSrc); !ok || got.SrcPort == 5000 || got.Src != want.Src {
		t.Errorf("null source binding = %v, %v; want another source port on %v", got, ok, want.SrcAddr())
	}
}

func TestSelectDNATPortRangeAndOffset(t *testing.T) {
	lo := netip.MustParseAddr("10.0.0.80")
	tests := []struct {
		name string
		r    Range
		curr conntrack.Tuple
		want uint16
	}{
		{"port in range kept", NewRange(lo, lo, 8000, 8100, 0, MapIPs|ProtoSpecified), tuple(tcp, "198.51.100.1", 5000, "203.0.113.5", 8050), 8050},
		{"port out of range: the first of the range", NewRange(lo, lo, 8000, 8100, 0, MapIPs|ProtoSpecified), tuple(tcp, "198.51.100.1", 5000, "203.0.113.5", 80), 8000},
		{"--random: a random start", NewRange(lo, lo, 8000, 8100, 0, MapIPs|ProtoSpecified|ProtoRandom), tuple(tcp, "198.51.100.1", 5000, "203.0.113.5", 80), 8000 + 7},
		{"single port", NewRange(lo, lo, 8080, 8080, 0, MapIPs|ProtoSpecified), tuple(tcp, "198.51.100.1", 5000, "203.0.113.5", 80), 8080},
		{"offset maps port-base", NewRange(lo, lo, 8000, 8100, 1000, MapIPs|ProtoSpecified|ProtoOffset), tuple(tcp, "198.51.100.1", 5000, "203.0.113.5", 1005), 8005},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Selector{Conns: newFakeConns(), Rand: seq(7)}
			got, ok := s.Select(tt.curr, &tt.r, ManipDst)
			if !ok || got.DstPort != tt.want || got.DstAddr() != lo || got.SrcPort != tt.curr.SrcPort {
				t.Errorf("Select = %v, %v; want dst %v:%d", got, ok, lo, tt.want)
			}
		})
	}
}

func TestSelectICMPIDSearchesAll16Bits(t *testing.T) {
	c := newFakeConns()
	other := echo("192.168.1.99", "198.51.100.1", 77)
	c.add(other, echo("203.0.113.5", "198.51.100.1", 77))
	r := addrRange("203.0.113.5", "203.0.113.5")
	s := Selector{Conns: c, Rand: seq(0xabcd1234)}
	got, ok := s.Select(echo("192.168.1.10", "198.51.100.1", 77), &r, ManipSrc)
	if !ok || got.SrcPort != 0x1234 || got.DstPort != 8<<8 {
		t.Errorf("Select = %v, %v; want id %d", got, ok, 0x1234)
	}
	// DNAT changes a clashing ICMP id too.
	c.add(echo("198.51.100.7", "203.0.113.5", 5), echo("198.51.100.7", "10.0.0.80", 5))
	r = addrRange("10.0.0.80", "10.0.0.80")
	got, ok = s.Select(echo("198.51.100.7", "203.0.113.6", 5), &r, ManipDst)
	if !ok || got.SrcPort == 5 {
		t.Errorf("DNAT Select = %v, %v; want a new id", got, ok)
	}
}

func TestSelectSearchesPPTPCallIDOnlyForRelatedConnection(t *testing.T) {
	// Two PPTP clients behind one address whose calls to one server
	// have the same call ID: the second's call ID is changed only when
	// its GRE connection is related (a PPTP helper expected it).
	c := newFakeConns()
	first := tuple(packet.ProtoGRE, "192.168.1.10", 0x100, "198.51.100.1", 0x200)
	c.add(first, tuple(packet.ProtoGRE, "203.0.113.5", 0x100, "198.51.100.1", 0x200))
	second := tuple(packet.ProtoGRE, "192.168.1.11", 0x100, "198.51.100.1", 0x200)
	r := addrRange("203.0.113.5", "203.0.113.5")

	s := Selector{Conns: c, Rand: seq(0x4321)}
	if got, ok := s.Select(second, &r, ManipSrc); ok || got.SrcPort != 0x100 {
		t.Errorf("unrelated: Select = %v, %v; want the clash reported, key kept", got, ok)
	}
	s = Selector{Conns: c, Rand: seq(0x4321), Related: true}
	got, ok := s.Select(second, &r, ManipSrc)
	// 1 + 0x4321 % 65535: the search starts at a random offset.
	if !ok || got.SrcPort != 1+0x4321 || got.DstPort != 0x200 {
		t.Errorf("related: Select = %v, %v; want source key %#x", got, ok, 1+0x4321)
	}
}

func TestSelectPortSearchBudget(t *testing.T) {
	tests := []struct {
		name  string
		lo    uint16
		hi    uint16
		tries int
	}{
		{"small range is searched once, whole", 2000, 2099, 100},
		// 128, then halving with a new random start while the round
		// was at least 16: 128+64+32+16+8.
		{"large range gives up after the halving rounds", 2000, 2199, 248},
		{"full range", 1, 65535, 248},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &allTaken{}
			r := NewRange(netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("203.0.113.5"), tt.lo, tt.hi, 0, MapIPs|ProtoSpecified|ProtoRandomFully)
			s := Selector{Conns: c, Rand: seq(1, 2, 3, 4, 5, 6)}
			_, ok := s.Select(tuple(tcp, "192.168.1.10", 40000, "198.51.100.1", 80), &r, ManipSrc)
			if ok || c.n != tt.tries {
				t.Errorf("ok = %v after %d tries; want false after %d", ok, c.n, tt.tries)
			}
		})
	}
}

type allTaken struct{ n int }

func (c *allTaken) Taken(conntrack.Tuple) bool { c.n++; return true }
func (c *allTaken) SourceMapping(conntrack.Tuple, int) (conntrack.Tuple, bool) {
	return conntrack.Tuple{}, false
}

func TestBestAddrHashesSourceAndDestination(t *testing.T) {
	r := addrRange("203.0.113.1", "203.0.113.4")
	src := netip.MustParseAddr("192.168.1.10").As4()
	dst := netip.MustParseAddr("198.51.100.1").As4()
	curr := tuple(tcp, "192.168.1.10", 40000, "198.51.100.1", 80)
	curr.Zone = 3

	// The kernel's arithmetic spelled out for one IPv4 word.
	le := func(b [4]byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24 }
	j := jhash.Hash2([]uint32{le(src), 0, 0, 0}, le(dst)^3)
	want := netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + reciprocalScale(j, 4))})

	got := curr
	bestAddr(&got, &r, ManipSrc)
	if got.SrcAddr() != want {
		t.Errorf("address = %v, want %v", got.SrcAddr(), want)
	}
	jp := jhash.Hash2([]uint32{le(src), 0, 0, 0}, 0)
	wantP := netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + reciprocalScale(jp, 4))})
	r.Flags |= Persistent
	got = curr
	bestAddr(&got, &r, ManipSrc)
	if got.SrcAddr() != wantP {
		t.Errorf("persistent address = %v, want %v", got.SrcAddr(), wantP)
	}
}

func TestBestAddrPersistentIgnoresDestination(t *testing.T) {
	r := addrRange("203.0.113.1", "203.0.113.200")
	r.Flags |= Persistent
	var first netip.Addr
	for i := range 50 {
		curr := tuple(tcp, "192.168.1.10", 40000, "198.51.100.1", 80)
		curr.Dst[3] = byte(i)
		bestAddr(&curr, &r, ManipSrc)
		if i == 0 {
			first = curr.SrcAddr()
		} else if curr.SrcAddr() != first {
			t.Fatalf("destination %d: %v, want %v", i, curr.SrcAddr(), first)
		}
	}
}

func TestBestAddrStaysInRangeAndSpreads(t *testing.T) {
	tests := []struct {
		lo, hi string
		m      Manip
	}{
		{"203.0.113.1", "203.0.113.4", ManipSrc},
		{"10.0.0.250", "10.0.1.5", ManipDst}, // crosses a byte boundary
		{"2001:db8::1", "2001:db8::4", ManipSrc},
		// Not a range that crosses a 32-bit word in IPv6, which the
		// kernel's word-by-word choice can leave (see bestAddr).
	}
	for _, tt := range tests {
		lo, hi := netip.MustParseAddr(tt.lo), netip.MustParseAddr(tt.hi)
		r := addrRange(tt.lo, tt.hi)
		seen := map[netip.Addr]bool{}
		for i := range 2000 {
			var curr conntrack.Tuple
			if lo.Is4() {
				curr = tuple(udp, "192.168.0.0", 1, "198.51.100.0", 53)
			} else {
				curr = tuple(udp, "fd00::", 1, "2001:db8:ffff::", 53)
			}
			curr.Src[3], curr.Src[2] = byte(i), byte(i>>8)
			curr.Dst[15] = byte(i * 7)
			curr.Dst[3] = byte(i * 7)
			bestAddr(&curr, &r, tt.m)
			a := curr.SrcAddr()
			if tt.m == ManipDst {
				a = curr.DstAddr()
			}
			if a.Compare(lo) < 0 || a.Compare(hi) > 0 {
				t.Fatalf("%s-%s: chose %v, out of range", tt.lo, tt.hi, a)
			}
			seen[a] = true
		}
		if len(seen) < 4 {
			t.Errorf("%s-%s: only %d addresses used", tt.lo, tt.hi, len(seen))
		}
	}
}

// TestSelectNeverClashesUnderLoad is the property the issue asks for:
// 100k connections from a few sources through one SNAT address never get
// the same reply tuple, and when the ports run out Select says so.
func TestSelectNeverClashesUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("100k connections")
	}
	c := newFakeConns()
	r := addrRange("203.0.113.5", "203.0.113.5")
	state := uint64(42)
	s := Selector{Conns: c, Rand: func() uint32 {
		state = state*6364136223846793005 + 1442695040888963407
		return uint32(state >> 33)
	}}
	sources := []string{"192.168.1.10", "192.168.1.11", "192.168.1.12", "192.168.1.13"}
	var ok, exhausted int
	for i := range 100_000 {
		// Two servers on one port: 2 x 64512 high ports, so the table
		// fills up and the search has to work, and for one server it
		// runs out.
		dst := "198.51.100.1"
		if i%3 == 0 {
			dst = "198.51.100.2"
		}
		curr := tuple(udp, sources[i%len(sources)], uint16(1024+(i*7919)%64000), dst, 53)
		got, good := s.Select(curr, &r, ManipSrc)
		if !good {
			exhausted++
			continue
		}
		reply, _ := got.Invert()
		if _, dup := c.replies[reply]; dup {
			t.Fatalf("connection %d: reply tuple %v is taken", i, reply)
		}
		if got.SrcAddr() != netip.MustParseAddr("203.0.113.5") || got.SrcPort < 1024 {
			t.Fatalf("connection %d: %v outside the range and port class", i, got)
		}
		c.add(curr, got)
		ok++
	}
	if ok != len(c.replies) {
		t.Fatalf("%d bindings but %d distinct replies", ok, len(c.replies))
	}
	if exhausted == 0 {
		t.Errorf("no exhaustion reported, want some for the busier server")
	}
	t.Logf("%d bound, %d reported exhausted", ok, exhausted)
}

func TestSelectSNATToSeveralAddressesChangesOnlyTheAddress(t *testing.T) {
	// The FAQ's "SNAT to multiple addresses mangles only the IP when it
	// can": the port is kept whichever address the hash picks.
	r := addrRange("203.0.113.5", "203.0.113.8")
	s := Selector{Conns: newFakeConns(), Rand: seq(0)}
	for i := range 20 {
		curr := tuple(tcp, "192.168.1.10", uint16(40000+i), "198.51.100.1", 80)
		curr.Src[3] = byte(i)
		got, ok := s.Select(curr, &r, ManipSrc)
		if !ok || got.SrcPort != curr.SrcPort || !inRange(&got, &r) {
			t.Errorf("Select(%v) = %v, %v", curr, got, ok)
		}
	}
}

func TestSelectDoesNotAllocate(t *testing.T) {
	c := newFakeConns()
	other := tuple(tcp, "192.168.1.99", 40000, "198.51.100.1", 80)
	c.add(other, tuple(tcp, "203.0.113.5", 40000, "198.51.100.1", 80))
	r := addrRange("203.0.113.5", "203.0.113.8")
	s := Selector{Conns: c, Rand: seq(1)}
	curr := tuple(tcp, "192.168.1.10", 40000, "198.51.100.1", 80)
	if n := testing.AllocsPerRun(100, func() {
		s.Select(curr, &r, ManipSrc)
		s.Select(curr, &r, ManipDst)
	}); n != 0 {
		t.Errorf("Select: %v allocations", n)
	}
}
