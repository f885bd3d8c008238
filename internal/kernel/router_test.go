package kernel

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/testpkt"
)

// TestRouterObservesEachPacketsFate checks the harness itself on rules
// whose outcome is certain: with nothing loaded, a packet for the router
// is delivered and one for elsewhere is forwarded out of eth1 with its TTL
// decremented; a DROP rule in FORWARD stops the second.
func TestRouterObservesEachPacketsFate(t *testing.T) {
	Require(t, "ip", "nft", "iptables-restore")
	r := NewRouter(t, RouterOptions{})
	a := netip.MustParseAddr
	toRouter := testpkt.Build(testpkt.Spec{Src: a("198.18.0.1"), Dst: a(RouterAddr4), Proto: "udp", SrcPort: 1000, DstPort: 53})
	through := testpkt.Build(testpkt.Spec{Src: a("198.18.0.1"), Dst: a("203.0.113.5"), Proto: "udp", SrcPort: 1000, DstPort: 53, TTL: 9})

	f, err := r.Send(toRouter)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Input || f.Forward || !f.Accepted() {
		t.Errorf("packet for the router: got %+v, want delivered at INPUT", f)
	}
	f, err = r.Send(through)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Forward || !f.Left || len(f.Emitted) != 1 {
		t.Fatalf("forwarded packet: got %+v, want forwarded and emitted once", f)
	}
	if ttl := f.Emitted[0][8]; ttl != 8 {
		t.Errorf("emitted TTL: got %d, want 8", ttl)
	}
	if err := r.Restore([]byte("*filter\n-A FORWARD -p udp -j DROP\nCOMMIT\n"), false); err != nil {
		t.Fatal(err)
	}
	f, err = r.Send(through)
	if err != nil {
		t.Fatal(err)
	}
	if f.Accepted() || f.Forward || len(f.Emitted) != 0 {
		t.Errorf("dropped in FORWARD: got %+v, want nothing through", f)
	}
}

// TestRouterObservesConntrackState checks the conntrack observation: a
// UDP request is NEW, its answer ESTABLISHED in the reply direction, and
// the kernel's table then lists the flow.
func TestRouterObservesConntrackState(t *testing.T) {
	Require(t, "ip", "nft", "conntrack")
	r := NewRouter(t, RouterOptions{Conntrack: true})
	a := netip.MustParseAddr
	req := testpkt.Build(testpkt.Spec{Src: a("198.18.0.1"), Dst: a("203.0.113.5"), Proto: "udp", SrcPort: 1000, DstPort: 53})
	resp := testpkt.Build(testpkt.Spec{Src: a("203.0.113.5"), Dst: a("198.18.0.1"), Proto: "udp", SrcPort: 53, DstPort: 1000})
	for i, want := range []struct {
		pkt   []byte
		state string
		reply bool
	}{{req, "new", false}, {resp, "established", true}, {req, "established", false}} {
		f, err := r.Send(want.pkt)
		if err != nil {
			t.Fatal(err)
		}
		if f.CTState != want.state || f.CTReply != want.reply {
			t.Errorf("packet %d: got %s (reply %v), want %s (reply %v)", i, f.CTState, f.CTReply, want.state, want.reply)
		}
	}
	lines, err := r.Conntrack()
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "src=198.18.0.1 dst=203.0.113.5 sport=1000 dport=53 packets=2 bytes=56 src=203.0.113.5 dst=198.18.0.1 sport=53 dport=1000 packets=1 bytes=28") {
		t.Errorf("conntrack -L: got %q", lines)
	}
}

// TestRouterSendsFromItsOwnStack checks SendUDPFromHost: with
// LocalReplies, the router's own broadcast leaves by eth0 as sent, NEW
// at OUTPUT, and an answer to its socket is delivered to the router,
// ESTABLISHED in the reply direction.
func TestRouterSendsFromItsOwnStack(t *testing.T) {
	Require(t, "ip", "nft", "conntrack")
	r := NewRouter(t, RouterOptions{Conntrack: true, LocalReplies: true, Broadcast: true})
	a := netip.MustParseAddr
	src := netip.AddrPortFrom(a(RouterAddr4), 40137)
	f, err := r.SendUDPFromHost(src, netip.AddrPortFrom(a("192.0.2.255"), 137), []byte("query"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Replies) != 1 || f.CTState != "new" || f.CTReply {
		t.Fatalf("broadcast from the router: got %+v, want one packet out of eth0, new", f)
	}
	want := testpkt.Build(testpkt.Spec{Src: a(RouterAddr4), Dst: a("192.0.2.255"), Proto: "udp", SrcPort: 40137, DstPort: 137, Payload: []byte("query")})
	if got := f.Replies[0]; len(got) != len(want) || string(got[9:10]) != "\x11" || string(got[12:20]) != string(want[12:20]) || string(got[20:]) != string(want[20:]) {
		t.Errorf("broadcast as it left:\n got  %x\n want %x (but for the IP identification and TTL)", got, want)
	}
	ans := testpkt.Build(testpkt.Spec{Src: a("192.0.2.255"), Dst: a(RouterAddr4), Proto: "udp", SrcPort: 137, DstPort: 40137, Payload: []byte("answer")})
	f, err = r.Send(ans)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Input || f.CTState != "established" || !f.CTReply || len(f.Replies) != 0 {
		t.Errorf("answer to the router's socket: got %+v, want delivered, established reply, and no port unreachable", f)
	}
}
