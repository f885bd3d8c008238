package nfgo_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

const transitRules = `*nat
-A PREROUTING -d 198.51.100.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.50:80
-A POSTROUTING -o eth1 -j MASQUERADE
COMMIT
*filter
:FORWARD DROP [0:0]
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -p tcp -m tcp --syn -m conntrack --ctstate NEW -j ACCEPT
COMMIT
`

// TestTransitMatchesPath hands packets to one engine a hook at a time
// (PREROUTING, FORWARD, POSTROUTING, as queues at every hook deliver
// them) and to another whole (Path): MASQUERADE, a port forward and
// their replies must leave byte for byte alike, with the same verdicts
// and the same connections.
func TestTransitMatchesPath(t *testing.T) {
	mk := func() *nfgo.Engine {
		e := nfgo.New(nfgo.Config{Host: natRouter, KernelForwards: true})
		rs, err := iptables.Parse(strings.NewReader(transitRules), packet.IPv4)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.SetRuleset(rs); err != nil {
			t.Fatal(err)
		}
		return e
	}
	hooks, whole := mk(), mk()
	t0 := time.Unix(1_700_000_000, 0)
	for i, c := range []struct {
		spec    testpkt.Spec
		in, out string
	}{
		{testpkt.Spec{Src: a("192.0.2.10"), Dst: a("203.0.113.5"), Proto: "tcp", SrcPort: 40000, DstPort: 443, Flags: "S", Seq: 1}, "eth0", "eth1"},
		{testpkt.Spec{Src: a("203.0.113.5"), Dst: a("198.51.100.1"), Proto: "tcp", SrcPort: 443, DstPort: 40000, Flags: "SA", Seq: 7, Ack: 2}, "eth1", "eth0"},
		{testpkt.Spec{Src: a("198.18.0.9"), Dst: a("198.51.100.1"), Proto: "tcp", SrcPort: 50000, DstPort: 8080, Flags: "S", Seq: 1}, "eth1", "eth0"},
		{testpkt.Spec{Src: a("192.0.2.50"), Dst: a("198.18.0.9"), Proto: "tcp", SrcPort: 80, DstPort: 50000, Flags: "SA", Seq: 9, Ack: 2}, "eth0", "eth1"},
		// Not a SYN and no connection: dropped at FORWARD by both.
		{testpkt.Spec{Src: a("192.0.2.10"), Dst: a("203.0.113.5"), Proto: "tcp", SrcPort: 40001, DstPort: 443, Flags: "A", Seq: 1, Ack: 1}, "eth0", "eth1"},
	} {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		var pw packet.Packet
		pw.Decode(testpkt.Build(c.spec))
		vw := whole.Path(&pw, nfgo.Meta{In: c.in, Time: at})

		var ph packet.Packet
		ph.Decode(testpkt.Build(c.spec))
		var tr nfgo.Transit
		var vh nfgo.Verdict
		for _, step := range []nfgo.Meta{
			{Hook: filter.Prerouting, In: c.in},
			{Hook: filter.Forward, In: c.in, Out: c.out},
			{Hook: filter.Postrouting, Out: c.out},
		} {
			step.Time = at
			// The kernel hands each hook the bytes the last one returned.
			ph.Decode(ph.Bytes())
			vh = hooks.HookTransit(&ph, step, &tr)
			if vh.Action != filter.Accept {
				break
			}
		}
		if vh.Action != vw.Action || vh.CT != vw.CT {
			t.Errorf("packet %d: hook by hook %v (%v), whole path %v (%v)", i, vh, vh.CT, vw, vw.CT)
		}
		if vw.Action == filter.Accept && !bytes.Equal(ph.Bytes(), pw.Bytes()) {
			t.Errorf("packet %d leaves differently:\n hook by hook %x\n whole path   %x", i, ph.Bytes(), pw.Bytes())
		}
		if tr.Pending() {
			t.Errorf("packet %d: connection still pending after its last hook", i)
		}
	}
	list := func(e *nfgo.Engine) string {
		var lines []string
		for c := range e.Conntrack().All(t0.Add(time.Second)) {
			lines = append(lines, fmt.Sprintln(c.Orig, c.Reply, c.Status, c.TCPState))
		}
		slices.Sort(lines) // the shards' order depends on each table's seed
		return strings.Join(lines, "")
	}
	if h, w := list(hooks), list(whole); h != w || h == "" {
		t.Errorf("tables differ:\n hook by hook:\n%s whole path:\n%s", h, w)
	}
}
