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
