package nfgo_test

import (
	"bytes"
	"testing"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// dnatClashRules forward two of the router's ports to one server, so
// that one client port reaching both makes two connections with the
// same reply tuple.
const dnatClashRules = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 192.0.2.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 203.0.113.80:80
-A PREROUTING -d 192.0.2.1/32 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 203.0.113.80:80
COMMIT
`

// TestDNATClashMatchesKernel sends one client port to both forwarded
// ports through a kernel router and through nfgo. The kernel's null
// source binding gives the second connection another source port
// (get_unique_tuple; which one is random), and the server's answer to
// it goes back to the client's own port from the second forwarded
// port. nfgo must do the same: the packets that leave are the kernel's,
// but for the source port chosen and the checksum that covers it.
func TestDNATClashMatchesKernel(t *testing.T) {
	kernel.Require(t, "ip", "nft", "iptables-restore")
	client := testpkt.Spec{Src: a("198.18.0.9"), Dst: a("192.0.2.1"), Proto: "tcp", SrcPort: 50000, Flags: "S", Seq: 1}
	syns := [][]byte{}
	for _, port := range []uint16{8080, 8081} {
		s := client
		s.DstPort = port
		syns = append(syns, testpkt.Build(s))
	}
	answer := func(sport uint16) []byte {
		return testpkt.Build(testpkt.Spec{Src: a("203.0.113.80"), Dst: a("198.18.0.9"), Proto: "tcp", SrcPort: 80, DstPort: sport, Flags: "SA", Seq: 9, Ack: 2})
	}

	r := kernel.NewRouter(t, kernel.RouterOptions{})
	if err := r.Restore([]byte(dnatClashRules), false); err != nil {
		t.Fatal(err)
	}
	e := engine(t, dnatClashRules)
	ours := func(b []byte) []byte {
		var p packet.Packet
		p.Decode(append([]byte(nil), b...))
		if v := e.Path(&p, nfgo.Meta{In: "eth0"}); v.Action != filter.Accept {
			t.Fatalf("nfgo: %v", v)
		}
		return p.Bytes()
	}
	theirs := func(b []byte) []byte {
		f, err := r.Send(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Emitted) != 1 {
			t.Fatalf("the kernel sent out %d packets", len(f.Emitted))
		}
		return f.Emitted[0]
	}
	// The source port (bytes 20–21) and the TCP checksum (36–37) of the
	// moved connection's SYN are the kernel's random choice.
	masked := func(b []byte) []byte {
		m := append([]byte(nil), b...)
		m[20], m[21], m[36], m[37] = 0, 0, 0, 0
		return m
	}
	sport := func(b []byte) uint16 { return uint16(b[20])<<8 | uint16(b[21]) }

	k, n := theirs(syns[0]), ours(syns[0])
	if !bytes.Equal(k, n) {
		t.Fatalf("first SYN leaves differently:\n kernel %x\n nfgo   %x", k, n)
	}
	k, n = theirs(syns[1]), ours(syns[1])
	if sport(k) == 50000 {
		t.Fatalf("the kernel kept source port 50000 for the clashing connection: the test no longer tests a clash")
	}
	if sport(n) == 50000 || !bytes.Equal(masked(k), masked(n)) {
		t.Fatalf("second SYN leaves differently (source port moved by the kernel to %d):\n kernel %x\n nfgo   %x", sport(k), k, n)
	}
	if k, n := theirs(answer(sport(k))), ours(answer(sport(n))); !bytes.Equal(k, n) {
		t.Errorf("the answer to the moved connection leaves differently:\n kernel %x\n nfgo   %x", k, n)
	}
}
