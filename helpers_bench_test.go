package nfgo_test

import (
	"strings"
	"testing"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// dataOnControl sets up an FTP control connection through the router,
// with or without its helper (and with or without MASQUERADE), logged
// in, and returns the engine and a data packet of the connection:
// 1400 bytes of payload and no command. atLineStart makes the packet
// start right after a newline, where the helper looks for commands.
func dataOnControl(t testing.TB, helped, masq, atLineStart bool) (*nfgo.Engine, []byte) {
	helper := "tcp 21 -"
	if helped {
		helper = "tcp 21 ftp"
	}
	nat := ""
	if masq {
		nat = "-A POSTROUTING -o eth1 -j MASQUERADE\n"
	}
	e := nfgo.New(nfgo.Config{Host: natRouter})
	rs, err := iptables.Parse(strings.NewReader(helperRules(nat, helper)), packet.IPv4)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetRuleset(rs); err != nil {
		t.Fatal(err)
	}
	var vs []nfgo.Verdict
	via := func(b []byte) []byte {
		var p packet.Packet
		p.Decode(append(make([]byte, 0, len(b)+128), b...))
		in := "eth1"
		if p.Src().Is4() && p.Src().As4()[0] == 192 {
			in = "eth0"
		}
		v := e.Path(&p, nfgo.Meta{In: in, Time: t0})
		vs = append(vs, v)
		if v.Action != filter.Accept {
			return nil
		}
		return append([]byte(nil), p.Bytes()...)
	}
	f := &testpkt.Flow{Proto: "tcp", Via: via,
		Init: testpkt.End{Addr: a("192.0.2.10"), Port: 40000, PeerAddr: a("203.0.113.5"), PeerPort: 21, Seq: 1000},
		Resp: testpkt.End{Addr: a("203.0.113.5"), Port: 21, Seq: 5000}}
	if !f.Handshake() {
		t.Fatal("handshake")
	}
	f.Send(false, "PA", "220 hi\r\n")
	last := "USER x\r\n"
	if !atLineStart {
		last = "USER x" // no newline: the next packet is in mid-line
	}
	if f.Send(true, "PA", last).Out == nil {
		t.Fatal("USER did not pass")
	}
	payload := strings.Repeat("x", 1400)
	pkt := testpkt.Build(testpkt.Spec{Src: f.Init.Addr, Dst: f.Init.PeerAddr, Proto: "tcp", SrcPort: 40000, DstPort: 21,
		Flags: "PA", Seq: f.Init.Seq, Ack: f.Init.Ack, Payload: []byte(payload)})
	return e, pkt
}

// runData sends the data packet again and again (the connection takes
// each as a retransmission), as it would arrive.
func runData(e *nfgo.Engine, pkt []byte) func() nfgo.Verdict {
	var p packet.Packet
	buf := make([]byte, len(pkt), len(pkt)+256)
	return func() nfgo.Verdict {
		copy(buf, pkt)
		p.Decode(buf[:len(pkt)])
		return e.Path(&p, nfgo.Meta{In: "eth0", Time: t0})
	}
}

func TestHelpedDataPacketsDoNotAllocate(t *testing.T) {
	for _, tc := range []struct {
		helped, atLineStart bool
	}{{helped: true}, {helped: true, atLineStart: true}, {helped: false}} {
		e, pkt := dataOnControl(t, tc.helped, true, tc.atLineStart)
		run := runData(e, pkt)
		if v := run(); v.Action != filter.Accept {
			t.Fatalf("helped %v: the data packet is not accepted: %v (%s)", tc.helped, v, v.CTReason)
		}
		if allocs := testing.AllocsPerRun(1000, func() { run() }); allocs != 0 {
			t.Errorf("helped %v, at a line start %v: %v allocations per data packet, want 0", tc.helped, tc.atLineStart, allocs)
		}
	}
}

// BenchmarkControlConnectionData measures a 1400-byte data packet of an
// FTP control connection through MASQUERADE: with the helper attached
// (in mid-line, and right after a newline, where it looks for a
// command) and without.
func BenchmarkControlConnectionData(b *testing.B) {
	for _, bc := range []struct {
		name                string
		helped, atLineStart bool
	}{{"unhelped", false, false}, {"helped", true, false}, {"helped-line-start", true, true}} {
		b.Run(bc.name, func(b *testing.B) {
			e, pkt := dataOnControl(b, bc.helped, true, bc.atLineStart)
			run := runData(e, pkt)
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			for b.Loop() {
				run()
			}
		})
	}
}

// BenchmarkFTPCommandUnderNAT measures a PORT command through
// MASQUERADE: the helper parses it, registers the expectation (the one
// before is replaced), rewrites the address (the packet grows by four
// bytes) and records the sequence adjustment.
func BenchmarkFTPCommandUnderNAT(b *testing.B) {
	e, _ := dataOnControl(b, true, true, true)
	cmd := testpkt.Build(testpkt.Spec{Src: a("192.0.2.10"), Dst: a("203.0.113.5"), Proto: "tcp", SrcPort: 40000, DstPort: 21,
		Flags: "PA", Seq: 1009, Ack: 5009, Payload: []byte("PORT 192,0,2,10,195,80\r\n")})
	run := runData(e, cmd)
	if v := run(); v.Action != filter.Accept {
		b.Fatalf("PORT: %v (%s)", v, v.CTReason)
	}
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
}
