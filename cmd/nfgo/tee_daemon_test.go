package main

import (
	"net"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/kernel"
)

// TestDaemonSendsTEECopies runs -j TEE under nfgo run: the copies of a
// DNS query go to a third namespace, the tap, which holds the server's
// address too, and whose DNS socket therefore receives them; one rule
// names the output interface. The query itself still reaches the server.
func TestDaemonSendsTEECopies(t *testing.T) {
	tp := newTopo(t)
	tap := kernel.NewNetns(t, "tap")
	kernel.Veth(t, tap, "t0", "10.3.0.2/24", tp.router, "r2", "10.3.0.1/24")
	tap.MustExec(t, "ip addr add 10.2.0.2/32 dev lo; sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.t0.rp_filter=0")
	var pc net.PacketConn
	if err := tap.Do(func() (err error) { pc, err = net.ListenPacket("udp", "10.2.0.2:53"); return err }); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	tp.routerRules(t, "*mangle\n-A FORWARD -j NFQUEUE --queue-num 0\nCOMMIT\n")
	d := tp.startDaemon(t, `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A FORWARD -p udp -m udp --dport 53 -j TEE --gateway 10.3.0.2
-A FORWARD -p udp -m udp --dport 53 -j TEE --gateway 10.3.0.2 --oif r2
-A FORWARD -p udp -m udp --dport 54 -j TEE --gateway 10.3.0.2 --oif nosuch0
COMMIT
`)
	if ans, err := tp.udp("10.2.0.2:53", "query"); err != nil || ans != "echo query" {
		t.Fatalf("DNS through the router: %q, %v", ans, err)
	}
	buf := make([]byte, 512)
	for i := range 2 {
		pc.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("copy %d: %v", i+1, err)
		}
		if string(buf[:n]) != "query" || from.(*net.UDPAddr).IP.String() != "10.1.0.2" {
			t.Errorf("copy %d: %q from %v, want the client's query", i+1, buf[:n], from)
		}
	}
	// A copy out of an interface the host lacks is counted, not sent.
	tp.udp("10.2.0.2:54", "q")
	st := d.command(t, "stats")
	if sent, errs := metricValue(st, "nfgo_tee_sent_total"), metricValue(st, "nfgo_tee_errors_total"); sent != 2 || errs != 1 {
		t.Errorf("tee sent %d, errors %d; want 2 and 1", sent, errs)
	}
}
