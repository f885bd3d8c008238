package filter

import (
	"net/netip"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

func TestPktTypeLoopbackFallsBackOnDestination(t *testing.T) {
	tests := []struct {
		name string
		t    PktType
		dst  string
		want PktType
	}{
		{"host stays host", PacketHost, "10.0.0.2", PacketHost},
		{"loopback to ipv4 multicast", PacketLoopback, "224.0.0.1", PacketMulticast},
		{"loopback to ipv4 unicast counts as broadcast", PacketLoopback, "127.0.0.1", PacketBroadcast},
		{"loopback to ipv6 multicast", PacketLoopback, "ff02::1", PacketMulticast},
		{"loopback to ipv6 unicast", PacketLoopback, "::1", PacketBroadcast},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "10.0.0.1"
			if netip.MustParseAddr(tt.dst).Is6() {
				src = "::2"
			}
			c := matchCtx(matchPkt{src: src, dst: tt.dst, proto: 17}.decode(t))
			c.PktType = tt.t
			for _, want := range []PktType{PacketHost, PacketBroadcast, PacketMulticast} {
				m := &PktTypeMatch{Type: want}
				if got := m.Match(c); got != (want == tt.want) {
					t.Errorf("--pkt-type %d: Match = %v, want %v", want, got, want == tt.want)
				}
			}
		})
	}
}

type addrEnv map[netip.Addr]AddrType

func (e addrEnv) AddrType(a netip.Addr, _ string) AddrType {
	if t, ok := e[a]; ok {
		return t
	}
	return AddrUnicast
}
func (addrEnv) LocalAddr(string, packet.Family) (netip.Addr, bool) { return netip.Addr{}, false }
func (addrEnv) MTU(string) int                                     { return 0 }

func TestAddrTypeAsksEnvAndGuessesWithout(t *testing.T) {
	env := addrEnv{mustAddr("10.0.0.2"): AddrLocal}
	tests := []struct {
		name string
		m    AddrTypeMatch
		env  Env
		dst  string
		want bool
	}{
		{"dst LOCAL from env", AddrTypeMatch{Dst: AddrLocal}, env, "10.0.0.2", true},
		{"! dst LOCAL from env", AddrTypeMatch{Dst: AddrLocal, DstInvert: true}, env, "10.0.0.2", false},
		{"src UNICAST", AddrTypeMatch{Src: AddrUnicast}, env, "10.0.0.2", true},
		{"no env: broadcast", AddrTypeMatch{Dst: AddrBroadcast}, nil, "255.255.255.255", true},
		{"no env: multicast", AddrTypeMatch{Dst: AddrMulticast | AddrBroadcast}, nil, "239.1.1.1", true},
		{"no env: loopback is local", AddrTypeMatch{Dst: AddrLocal}, nil, "127.0.0.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := matchCtx(matchPkt{src: "10.0.0.1", dst: tt.dst, proto: 17}.decode(t))
			c.Env = tt.env
			if got := tt.m.Match(c); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAddrTypeLimitIfaceDependsOnHook(t *testing.T) {
	in := &AddrTypeMatch{Src: AddrLocal, LimitIfaceIn: true}
	out := &AddrTypeMatch{Src: AddrLocal, LimitIfaceOut: true}
	tests := []struct {
		name  string
		m     *AddrTypeMatch
		hooks HookMask
		ok    bool
	}{
		{"in at INPUT", in, Hooks(Input), true},
		{"in at OUTPUT", in, Hooks(Output), false},
		{"out at FORWARD", out, Hooks(Forward), true},
		{"out at INPUT", out, Hooks(Input, Forward), false},
		{"both", &AddrTypeMatch{LimitIfaceIn: true, LimitIfaceOut: true}, Hooks(Forward), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.m.CheckRule(nil, Site{Table: Filter, Hooks: tt.hooks}); (err == nil) != tt.ok {
				t.Errorf("CheckRule = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
