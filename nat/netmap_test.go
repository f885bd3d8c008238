package nat

import (
	"net/netip"
	"testing"
)

func TestNetmapAddrKeepsHostPart(t *testing.T) {
	tests := []struct {
		name      string
		a, lo, hi string
		want      string
	}{
		{"IPv4 /24", "192.168.1.77", "10.5.5.0", "10.5.5.255", "10.5.5.77"},
		{"IPv4 /16 from a /24 host", "192.168.1.77", "10.5.0.0", "10.5.255.255", "10.5.1.77"},
		{"IPv4 /32", "192.168.1.77", "10.5.5.9", "10.5.5.9", "10.5.5.9"},
		{"IPv4 /0 is identity", "192.168.1.77", "0.0.0.0", "255.255.255.255", "192.168.1.77"},
		{"IPv6 /48 prefix", "fd00:1:2:3::42", "2001:db8:aa::", "2001:db8:aa:ffff:ffff:ffff:ffff:ffff", "2001:db8:aa:3::42"},
		{"IPv6 /64 prefix", "fd00:1:2:3:a:b:c:d", "2001:db8:1:2::", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2:a:b:c:d"},
		{"IPv6 /36, mid-byte", "fd00:1:2:3::1", "2001:db8:f000::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8:f002:3::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NetmapAddr(netip.MustParseAddr(tt.a), netip.MustParseAddr(tt.lo), netip.MustParseAddr(tt.hi))
			if want := netip.MustParseAddr(tt.want); !ok || got != want {
				t.Errorf("NetmapAddr = %v, %v; want %v", got, ok, want)
			}
		})
	}
	if _, ok := NetmapAddr(netip.MustParseAddr("fd00::1"), netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("10.0.0.255")); ok {
		t.Error("NetmapAddr mapped an IPv6 address into an IPv4 network")
	}
}

func TestNetmapRangeMapsTheManipulatedSide(t *testing.T) {
	r := NewRange(netip.MustParseAddr("10.5.5.0"), netip.MustParseAddr("10.5.5.255"), 0, 0, 0, MapIPs|Netmap)
	curr := tuple(tcp, "192.168.1.77", 40000, "172.16.9.20", 80)
	tests := []struct {
		m    Manip
		want string
	}{
		{ManipSrc, "10.5.5.77"},
		{ManipDst, "10.5.5.20"},
	}
	for _, tt := range tests {
		got := NetmapRange(&r, &curr, tt.m)
		want := addrBytes(netip.MustParseAddr(tt.want))
		if got.Min != want || got.Max != want || got.Flags != MapIPs|Netmap {
			t.Errorf("%v: range %v-%v flags %#x, want %v", tt.m, got.Min, got.Max, got.Flags, tt.want)
		}
		// And the binding Select makes from it keeps the ports.
		s := Selector{Conns: newFakeConns(), Rand: seq(0)}
		nt, ok := s.Select(curr, &got, tt.m)
		if !ok || nt.SrcPort != 40000 || nt.DstPort != 80 {
			t.Errorf("%v: Select = %v, %v", tt.m, nt, ok)
		}
	}
}
