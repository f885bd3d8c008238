package nfgo_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// TestConnlimitCountsLiveConnectionsPerSource is the classic SSH guard:
// at most two connections per /24. A third SYN from the same /24 is
// rejected while two live; another /24 is not affected; when one of the
// two closes, a new one is let in.
func TestConnlimitCountsLiveConnectionsPerSource(t *testing.T) {
	e := nfgo.New(nfgo.Config{Host: natRouter})
	rs, err := iptables.Parse(strings.NewReader(`*filter
-A INPUT -p tcp --syn --dport 22 -m connlimit --connlimit-above 2 --connlimit-mask 24 -j REJECT --reject-with tcp-reset
COMMIT
`), packet.IPv4)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetRuleset(rs); err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_700_000_000, 0)
	at := t0
	send := func(s testpkt.Spec) nfgo.Verdict {
		t.Helper()
		at = at.Add(20 * time.Millisecond)
		var p packet.Packet
		p.Decode(testpkt.Build(s))
		return e.Path(&p, nfgo.Meta{In: "eth0", Time: at})
	}
	syn := func(src string, sport uint16) testpkt.Spec {
		return testpkt.Spec{Src: a(src), Dst: a("192.0.2.1"), Proto: "tcp", SrcPort: sport, DstPort: 22, Flags: "S", Seq: 100}
	}
	for _, c := range []struct {
		name string
		spec testpkt.Spec
		want filter.Action
	}{
		{"first", syn("192.0.2.10", 1001), filter.Accept},
		{"second, another host of the /24", syn("192.0.2.11", 1002), filter.Accept},
		{"third from the /24", syn("192.0.2.12", 1003), filter.Drop},
		// The kernel's walk stops at the first connection, already
		// counted, before reaching the dropped third: still 3.
		{"a retransmitted SYN of the first", syn("192.0.2.10", 1001), filter.Drop},
		{"another /24", syn("198.51.100.9", 1004), filter.Accept},
		// The first connection is reset: it is closing, and no longer counts.
		{"rst of the first", testpkt.Spec{Src: a("192.0.2.10"), Dst: a("192.0.2.1"), Proto: "tcp", SrcPort: 1001, DstPort: 22, Flags: "R", Seq: 101}, filter.Accept},
		{"a new one fits again", syn("192.0.2.13", 1005), filter.Accept},
		{"and the next does not", syn("192.0.2.14", 1006), filter.Drop},
	} {
		if v := send(c.spec); v.Action != c.want {
			t.Errorf("%s: %v (%v), want %v", c.name, v.Action, v.Reason, c.want)
		}
	}
}
