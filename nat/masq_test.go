package nat

import (
	"net/netip"
	"testing"
)

// ifaces is an Addrs over a map of interface name to "addr/bits" strings.
type ifaces map[string][]string

func (m ifaces) Addrs(iface string) []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range m[iface] {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}

func TestMasqueradeAddrIsInetSelectAddr(t *testing.T) {
	a := ifaces{
		"eth0": {"203.0.113.5/24", "203.0.113.6/24", "198.51.100.9/24"},
		"eth1": {"127.0.0.2/8", "192.0.2.1/24"},
		"eth2": {"fe80::1/64", "2001:db8::5/64", "2001:db8:1::5/64"},
		"lo":   {"127.0.0.1/8", "::1/128"},
		"dead": nil,
	}
	tests := []struct {
		name    string
		out     string
		nexthop string
		want    string // "" for none
	}{
		{"first primary holding the next hop", "eth0", "198.51.100.1", "198.51.100.9"},
		{"first primary when none holds it", "eth0", "192.0.2.254", "203.0.113.5"},
		{"secondary address never chosen", "eth0", "203.0.113.1", "203.0.113.5"},
		{"loopback skipped", "eth1", "10.9.9.9", "192.0.2.1"},
		{"loopback interface has no global address", "lo", "10.0.0.1", ""},
		{"no address: drop", "dead", "10.0.0.1", ""},
		{"IPv6 global by longest prefix", "eth2", "2001:db8:1::1", "2001:db8:1::5"},
		{"IPv6 link-local for a link-local next hop", "eth2", "fe80::99", "fe80::1"},
		{"no IPv6 address", "eth0", "2001:db8::1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MasqueradeAddr(a, tt.out, netip.MustParseAddr(tt.nexthop))
			if tt.want == "" {
				if ok {
					t.Errorf("MasqueradeAddr = %v, want none", got)
				}
				return
			}
			if want := netip.MustParseAddr(tt.want); !ok || got != want {
				t.Errorf("MasqueradeAddr = %v, %v; want %v", got, ok, want)
			}
		})
	}
}

func TestRedirectAddr(t *testing.T) {
	a := ifaces{
		"eth0": {"192.0.2.1/24", "192.0.2.2/24", "fe80::1/64", "2001:db8::1/64"},
		"v6":   {"2001:db8::7/64"},
	}
	tests := []struct {
		name  string
		in    string
		dst   string
		local bool
		want  string
	}{
		{"OUTPUT goes to 127.0.0.1", "", "198.51.100.1", true, "127.0.0.1"},
		{"OUTPUT goes to ::1", "", "2001:db8:9::1", true, "::1"},
		{"PREROUTING: first address of the input interface", "eth0", "198.51.100.1", false, "192.0.2.1"},
		{"PREROUTING IPv6: first of the destination's scope", "eth0", "2001:db8:9::1", false, "2001:db8::1"},
		{"PREROUTING IPv6 link-local", "eth0", "fe80::9", false, "fe80::1"},
		{"no IPv4 address: drop", "v6", "198.51.100.1", false, ""},
		{"unknown interface: drop", "nope", "198.51.100.1", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RedirectAddr(a, tt.in, netip.MustParseAddr(tt.dst), tt.local)
			if tt.want == "" {
				if ok {
					t.Errorf("RedirectAddr = %v, want none", got)
				}
				return
			}
			if want := netip.MustParseAddr(tt.want); !ok || got != want {
				t.Errorf("RedirectAddr = %v, %v; want %v", got, ok, want)
			}
		})
	}
}

func TestSingleAddrRangeKeepsPortsAndFlags(t *testing.T) {
	r := Range{MinPort: 1000, MaxPort: 2000, Flags: ProtoSpecified | ProtoRandomFully}
	got := SingleAddrRange(&r, netip.MustParseAddr("203.0.113.5"))
	want := Range{Min: addrBytes(netip.MustParseAddr("203.0.113.5")), MinPort: 1000, MaxPort: 2000, Flags: ProtoSpecified | ProtoRandomFully | MapIPs}
	want.Max = want.Min
	if got != want {
		t.Errorf("SingleAddrRange = %+v, want %+v", got, want)
	}
}
