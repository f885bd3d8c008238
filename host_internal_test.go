package nfgo

import (
	"net/netip"
	"testing"
)

// TestForwardRouteIsForHostRouteAndMTU: the offload path's one-pass
// routing decision gives what ForHost, Route and MTU give, for local,
// broadcast, multicast, routed and default destinations, on hosts with
// few addresses (scanned) and many (hashed).
func TestForwardRouteIsForHostRouteAndMTU(t *testing.T) {
	small := Host{Interfaces: []Interface{
		{Name: "eth0", MTU: 1400, Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("2001:db8:1::1/64")}},
		{Name: "eth1", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/8")}},
		{Name: "wg0", MTU: 1420, Addrs: []netip.Prefix{netip.MustParsePrefix("172.16.0.1/30")}},
	}, Routes: []Route{
		{Dst: netip.MustParsePrefix("10.0.0.0/8"), Out: "eth1"},
		{Dst: netip.MustParsePrefix("10.9.0.0/16"), Out: "wg0"},
		{Dst: netip.MustParsePrefix("2001:db8:2::/48"), Out: "eth1"},
	}, DefaultOut: "eth0"}
	many := small
	many.Interfaces = append([]Interface(nil), small.Interfaces...)
	for i := range 40 {
		many.Interfaces = append(many.Interfaces, Interface{Name: "veth" + string(rune('a'+i%26)) + string(rune('a'+i/26)),
			Addrs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, byte(i), 1}), 24)}})
	}
	dsts := []string{"192.0.2.1", "192.0.2.255", "192.0.2.7", "10.0.0.1", "10.255.255.255", "10.1.2.3", "10.9.1.1",
		"172.16.0.3", "172.16.0.2", "224.0.0.5", "255.255.255.255", "127.0.0.1", "198.51.100.1", "100.64.7.1",
		"100.64.7.255", "100.64.7.9", "2001:db8:1::1", "2001:db8:2::5", "2001:db8:9::1", "ff02::1", "::1"}
	for name, h := range map[string]Host{"few addresses": small, "many addresses": many} {
		e := newHostEnv(h)
		for _, s := range dsts {
			dst := netip.MustParseAddr(s)
			out, mtu, ok := e.forwardRoute(dst)
			if ok == e.ForHost(dst) {
				t.Errorf("%s: %s: forwarded %v, but ForHost %v", name, s, ok, e.ForHost(dst))
				continue
			}
			if ok && (out != e.Route(dst) || mtu != e.MTU(out)) {
				t.Errorf("%s: %s: out %s MTU %d, want %s MTU %d", name, s, out, mtu, e.Route(dst), e.MTU(e.Route(dst)))
			}
		}
	}
}
