package nat

import (
	"net/netip"
	"testing"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

func TestNewRangeLaysAddressesOutAsTuples(t *testing.T) {
	r := NewRange(netip.MustParseAddr("::ffff:10.0.0.1"), netip.MustParseAddr("10.0.0.9"), 1, 2, 3, MapIPs|ProtoSpecified)
	want := Range{MinPort: 1, MaxPort: 2, BasePort: 3, Flags: MapIPs | ProtoSpecified}
	want.Min[0], want.Min[3] = 10, 1
	want.Max[0], want.Max[3] = 10, 9
	if r != want {
		t.Errorf("NewRange = %+v, want %+v", r, want)
	}
}

func TestNullRangeIsTheCurrentAddress(t *testing.T) {
	curr := tuple(tcp, "192.168.1.10", 40000, "198.51.100.1", 80)
	if r := NullRange(curr, ManipSrc); r.Min != curr.Src || r.Max != curr.Src || r.Flags != MapIPs {
		t.Errorf("SNAT null range = %+v", r)
	}
	if r := NullRange(curr, ManipDst); r.Min != curr.Dst || r.Max != curr.Dst || r.Flags != MapIPs {
		t.Errorf("DNAT null range = %+v", r)
	}
}

func TestPortRange(t *testing.T) {
	ports := func(lo, hi uint16) Range {
		return Range{MinPort: lo, MaxPort: hi, Flags: ProtoSpecified}
	}
	tests := []struct {
		name        string
		t           conntrack.Tuple
		r           Range
		m           Manip
		related     bool
		first, size uint32
		ok          bool
	}{
		{"SNAT privileged below 512", tuple(tcp, "10.0.0.1", 22, "10.0.0.2", 80), Range{}, ManipSrc, false, 1, 511, true},
		{"SNAT 511 still below 512", tuple(tcp, "10.0.0.1", 511, "10.0.0.2", 80), Range{}, ManipSrc, false, 1, 511, true},
		{"SNAT 512-1023", tuple(udp, "10.0.0.1", 512, "10.0.0.2", 80), Range{}, ManipSrc, false, 600, 424, true},
		{"SNAT unprivileged", tuple(udp, "10.0.0.1", 1024, "10.0.0.2", 80), Range{}, ManipSrc, false, 1024, 64512, true},
		{"SNAT class follows the source port", tuple(udp, "10.0.0.1", 40000, "10.0.0.2", 80), Range{}, ManipSrc, false, 1024, 64512, true},
		{"DNAT without ports keeps the port", tuple(tcp, "10.0.0.1", 40000, "10.0.0.2", 80), Range{}, ManipDst, false, 0, 0, false},
		{"explicit range", tuple(tcp, "10.0.0.1", 40000, "10.0.0.2", 80), ports(100, 199), ManipDst, false, 100, 100, true},
		{"reversed range swapped", tuple(tcp, "10.0.0.1", 40000, "10.0.0.2", 80), ports(199, 100), ManipSrc, false, 100, 100, true},
		{"ICMP ids: all 16 bits", echo("10.0.0.1", "10.0.0.2", 5), Range{}, ManipDst, false, 0, 65536, true},
		{"ICMP with range", echo("10.0.0.1", "10.0.0.2", 5), ports(10, 19), ManipSrc, false, 10, 10, true},
		{"no ports: GRE", tuple(packet.ProtoGRE, "10.0.0.1", 0, "10.0.0.2", 0), Range{}, ManipSrc, false, 0, 0, false},
		{"PPTP call IDs: 1 to 65535", tuple(packet.ProtoGRE, "10.0.0.1", 7, "10.0.0.2", 9), Range{}, ManipSrc, true, 1, 65535, true},
		{"PPTP call ID given", tuple(packet.ProtoGRE, "10.0.0.1", 7, "10.0.0.2", 9), ports(40000, 40000), ManipDst, true, 40000, 1, true},
		{"no ports: ESP", tuple(packet.ProtoESP, "10.0.0.1", 0, "10.0.0.2", 0), ports(1, 2), ManipSrc, false, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, size, ok := portRange(&tt.t, &tt.r, tt.m, tt.related)
			if first != tt.first || size != tt.size || ok != tt.ok {
				t.Errorf("portRange = %d, %d, %v; want %d, %d, %v", first, size, ok, tt.first, tt.size, tt.ok)
			}
		})
	}
}

func TestInRangeChecksSourceAddressAndPort(t *testing.T) {
	r := NewRange(netip.MustParseAddr("10.0.0.10"), netip.MustParseAddr("10.0.0.20"), 1000, 2000, 0, MapIPs|ProtoSpecified)
	tests := []struct {
		name string
		t    conntrack.Tuple
		want bool
	}{
		{"inside", tuple(tcp, "10.0.0.15", 1500, "192.0.2.1", 80), true},
		{"bounds included", tuple(tcp, "10.0.0.20", 2000, "192.0.2.1", 80), true},
		{"address below", tuple(tcp, "10.0.0.9", 1500, "192.0.2.1", 80), false},
		{"port above", tuple(tcp, "10.0.0.15", 2001, "192.0.2.1", 80), false},
		{"protocol without ports", tuple(packet.ProtoESP, "10.0.0.15", 0, "192.0.2.1", 0), true},
		{"ICMP id", echo("10.0.0.15", "192.0.2.1", 999), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inRange(&tt.t, &r); got != tt.want {
				t.Errorf("inRange = %v, want %v", got, tt.want)
			}
		})
	}
}
