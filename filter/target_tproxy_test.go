package filter

import (
	"net/netip"
	"testing"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// fakeSockets answers lookups from a table keyed by mode and local
// address.
type fakeSockets map[SocketQuery]Socket

func (f fakeSockets) LookupSocket(q SocketQuery) (Socket, bool) {
	s, ok := f[q]
	return s, ok
}

func TestTProxy(t *testing.T) {
	p := mTCP4.decode(t) // 10.0.0.1:40000 > 10.0.0.2:80
	remote := netip.MustParseAddrPort("10.0.0.1:40000")
	listener := SocketQuery{Mode: SocketListener, Proto: packet.ProtoTCP, Remote: remote, Local: netip.MustParseAddrPort("127.0.0.1:15001"), In: "eth0"}
	established := SocketQuery{Mode: SocketEstablished, Proto: packet.ProtoTCP, Remote: remote, Local: netip.MustParseAddrPort("10.0.0.2:80"), In: "eth0"}
	tg := &TProxyTarget{OnIP: netip.MustParseAddr("127.0.0.1"), OnPort: 15001, MarkValue: 1, MarkMask: 1}
	for _, tt := range []struct {
		name    string
		sockets SocketLookup
		want    Action
	}{
		{"no lookup: the program is the proxy", nil, Accept},
		{"a transparent listener", fakeSockets{listener: {Transparent: true, Full: true}}, Accept},
		{"a listener that is not transparent", fakeSockets{listener: {Full: true}}, Drop},
		{"an established transparent socket", fakeSockets{established: {Transparent: true, Full: true}}, Accept},
		{"nothing", fakeSockets{}, Drop},
	} {
		c := matchCtx(p)
		c.Mark = 0x10
		c.Sockets = tt.sockets
		v := tg.Do(c)
		if v.Action != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, v.Action, tt.want)
			continue
		}
		if tt.want == Accept {
			if c.Mark != 0x11 || len(c.Effects) != 1 || c.Effects[0].Kind != EffectTProxy || c.Effects[0].To != listener.Local {
				t.Errorf("%s: mark %#x, effects %+v; want mark 0x11 and a TPROXY effect to %v", tt.name, c.Mark, c.Effects, listener.Local)
			}
		}
	}
}

func TestSocketMatch(t *testing.T) {
	p := mTCP4.decode(t)
	q := SocketQuery{Mode: SocketAny, Proto: packet.ProtoTCP, Remote: netip.MustParseAddrPort("10.0.0.1:40000"), Local: netip.MustParseAddrPort("10.0.0.2:80"), In: "eth0"}
	for _, tt := range []struct {
		name    string
		m       SocketMatch
		sk      *Socket
		hasSock bool // the packet came with its socket (early demux)
		want    bool
		mark    uint32
	}{
		{"none", SocketMatch{}, nil, false, false, 0},
		{"the packet's own socket, no lookup answer", SocketMatch{}, nil, true, true, 0},
		{"the packet's own socket is not known transparent", SocketMatch{Transparent: true}, nil, true, false, 0},
		{"the lookup says the packet's own socket is transparent", SocketMatch{Transparent: true}, &Socket{Full: true, Transparent: true}, true, true, 0},
		{"bound", SocketMatch{}, &Socket{Full: true}, false, true, 0},
		{"wildcard", SocketMatch{}, &Socket{Full: true, Wildcard: true}, false, false, 0},
		{"wildcard, --nowildcard", SocketMatch{NoWildcard: true}, &Socket{Full: true, Wildcard: true}, false, true, 0},
		{"--transparent, not transparent", SocketMatch{Transparent: true}, &Socket{Full: true}, false, false, 0},
		{"--transparent --restore-skmark", SocketMatch{Transparent: true, RestoreMark: true}, &Socket{Full: true, Transparent: true, Mark: 9}, false, true, 9},
	} {
		c := matchCtx(p)
		fs := fakeSockets{}
		if tt.sk != nil {
			fs[q] = *tt.sk
		}
		c.Sockets = fs
		c.Origin.HasSocket = tt.hasSock
		if got := tt.m.Match(c); got != tt.want || c.Mark != tt.mark {
			t.Errorf("%s: %v with mark %d, want %v with %d", tt.name, got, c.Mark, tt.want, tt.mark)
		}
	}
}

func TestECNAndTCPOptStripDoNotAllocate(t *testing.T) {
	c := matchCtx(matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 6, sport: 1, dport: 2, flags: packet.TCPSyn | packet.TCPEce, tcpOpts: []byte{2, 4, 5, 180, 4, 2, 1, 1}}.decode(t))
	ecn := &ECNTarget{SetECE: true, SetCWR: true, SetIP: true, IPECT: 1}
	strip := &TCPOptStripTarget{}
	strip.Strip[0] = 1<<2 | 1<<4
	for _, tg := range []Target{ecn, strip} {
		if n := testing.AllocsPerRun(100, func() { tg.Do(c) }); n != 0 {
			t.Errorf("%T allocates %v times", tg, n)
		}
	}
	if c.Packet.TCPFlags&packet.TCPEce != 0 {
		t.Errorf("flags %#x after ECN --ecn-tcp-remove", c.Packet.TCPFlags)
	}
}

func TestIdleTimerRestartsAndIsShared(t *testing.T) {
	objs := &Objects{}
	b := &Binding{objs: objs, family: packet.IPv4}
	x, err := (&IdleTimerTarget{Timeout: 10, Label: "wifi"}).Bind(b)
	if err != nil {
		t.Fatal(err)
	}
	tg := x.(*IdleTimerTarget)
	c := matchCtx(mUDP4.decode(t))
	tg.Do(c)
	if left := IdleTimers(objs)[0].Left(c.Now.Add(4 * time.Second)); left != 6*time.Second {
		t.Errorf("4 s after a packet: %v left, want 6s", left)
	}
	if left := IdleTimers(objs)[0].Left(c.Now.Add(11 * time.Second)); left != 0 {
		t.Errorf("11 s after a packet: %v left, want 0", left)
	}
	if _, err := (&IdleTimerTarget{Timeout: 10, Label: "wifi", Alarm: true}).Bind(b); err == nil {
		t.Error("an alarm timer bound to a label that is a plain timer")
	}
}

func TestAuditAndTeeEmit(t *testing.T) {
	c := matchCtx(mUDP4.decode(t))
	c.Mark = 5
	(&AuditTarget{Type: AuditDrop}).Do(c)
	(&TEETarget{Gateway: mustAddr("10.9.9.9"), OIF: "eth2"}).Do(c)
	if len(c.Effects) != 2 || c.Effects[0].Text != "NETFILTER_PKT mark=0x5 saddr=10.0.0.1 daddr=10.0.0.2 proto=17" ||
		c.Effects[1].Kind != EffectTee || c.Effects[1].To.Addr() != mustAddr("10.9.9.9") || c.Effects[1].Text != "eth2" {
		t.Errorf("effects %+v", c.Effects)
	}
}
