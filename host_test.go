package nfgo_test

import (
	"testing"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/internal/testpkt"
)

// TestHostBroadcastLeavesByItsInterface: the host's own broadcast to the
// broadcast address of one of its addresses leaves by that address's
// interface, as the kernel's broadcast route sends it, whatever the
// routes say: OUTPUT's -o sees that interface, and the broadcast helpers
// expect the answers from its subnet.
func TestHostBroadcastLeavesByItsInterface(t *testing.T) {
	e := engine(t, `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -p udp -m udp --dport 137 -j CT --helper netbios-ns
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A OUTPUT -p udp -m udp --dport 138 -o eth0 -j DROP
COMMIT
`)
	now := time.Unix(1_700_000_000, 0)
	send := func(dst string, dport uint16) nfgo.Verdict {
		p := decode(t, testpkt.Spec{Src: a("192.0.2.1"), Dst: a(dst), Proto: "udp", SrcPort: 40137, DstPort: dport, Payload: []byte("query")})
		return e.Path(p, nfgo.Meta{Time: now})
	}
	if v := send("192.0.2.255", 138); v.Action != filter.Drop || v.Out != "eth0" {
		t.Errorf("broadcast to port 138: got %v out of %q, want DROP by -o eth0", v, v.Out)
	}
	if v := send("203.0.113.1", 138); v.Action != filter.Accept || v.Out != "eth1" {
		t.Errorf("unicast to port 138: got %v out of %q, want ACCEPT out of eth1", v, v.Out)
	}
	if v := send("192.0.2.255", 137); v.Action != filter.Accept || v.Out != "eth0" {
		t.Fatalf("name query: got %v out of %q, want ACCEPT out of eth0", v, v.Out)
	}
	exps := e.Conntrack().Expectations(now)
	if len(exps) != 1 || exps[0].SrcBits != 24 || exps[0].Tuple.SrcPort != 137 || exps[0].Tuple.DstPort != 40137 {
		t.Errorf("expectations after the name query: got %v, want the answers from 192.0.2.0/24 port 137 to port 40137", exps)
	}
}
