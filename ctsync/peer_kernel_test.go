package ctsync

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/kernel"
)

// startPeer runs an nfgo peer in ns until the test ends.
func startPeer(t *testing.T, ns *kernel.Netns, local, remote string, apply func([]Received)) *Peer {
	t.Helper()
	var p *Peer
	err := ns.Do(func() (err error) {
		p, err = ListenPeer(PeerConfig{
			Local:     netip.AddrPortFrom(netip.MustParseAddr(local), syncPort),
			Remote:    netip.AddrPortFrom(netip.MustParseAddr(remote), syncPort),
			Interface: "sync0",
			Apply:     apply,
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("peer: %v", err)
		}
	})
	return p
}

// TestConntrackdCommitsWhatAnFTFWPeerSends runs nfgo's FTFW peer
// against a stock conntrackd in FTFW mode: the connections nfgo sends
// land in conntrackd's external cache, conntrackd acknowledges them, and
// conntrackd -c commits them to its kernel with their NAT bindings, as
// a backup taking over does.
func TestConntrackdCommitsWhatAnFTFWPeerSends(t *testing.T) {
	p := newSyncPair(t)
	conf := p.conntrackdConf(t, "b", "FTFW {\n\t}", syncAddrB, syncAddrA)
	p.startConntrackd(t, p.b, conf)
	peer := startPeer(t, p.a, syncAddrA, syncAddrB, nil)
	conns := sentConns(t)
	for i := range conns {
		c := FromConn(&conns[i], conntrack.Tuple{}, [2]conntrack.SeqAdj{}, false, [2]uint8{})
		peer.Enqueue(TypeNew, &c)
	}
	// conntrackd's ACKs empty nfgo's resend queue of connections.
	kernel.WaitFor(t, "conntrackd's ACK", func() bool { return peer.Stats().Unacked == 0 && peer.Stats().MsgRecv > 0 })
	out, err := p.b.Exec("conntrackd -C "+conf+" -e", nil)
	// conntrackd -e lists each entry by its original tuple.
	for _, c := range conns {
		if !strings.Contains(string(out), c.Orig.String()+" ") {
			t.Errorf("conntrackd's external cache lacks %v (%v):\n%s", c.Orig, err, out)
		}
	}
	if out, err := p.b.Exec("conntrackd -C "+conf+" -c", nil); err != nil {
		t.Fatalf("conntrackd -c: %v: %s", err, out)
	}
	want := sentListed
	var listed []string
	kernel.WaitFor(t, "the commit", func() bool {
		out, _ := p.b.Exec("conntrack -L 2>/dev/null", nil)
		listed = normalize(string(out))
		return len(listed) >= len(want)
	})
	if strings.Join(listed, "\n") != strings.Join(want, "\n") {
		t.Errorf("after the commit the kernel has\n%s\nwant\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
	}
	if st := peer.Stats(); st.Lost != 0 || st.Malformed != 0 || st.Foreign != 0 {
		t.Errorf("nfgo's peer counted %+v", st)
	}
}

// TestFTFWPeerRecoversWhatConntrackdSendsThroughLoss lets a stock
// conntrackd send 300 connections to nfgo's FTFW peer over a link that
// drops every fourth datagram from it. nfgo's NACKs must get every
// connection resent.
func TestFTFWPeerRecoversWhatConntrackdSendsThroughLoss(t *testing.T) {
	p := newSyncPair(t)
	var mu sync.Mutex
	got := map[conntrack.Tuple]Conn{}
	peer := startPeer(t, p.b, syncAddrB, syncAddrA, func(rs []Received) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rs {
			if r.Type != TypeDelete {
				got[r.Conn.Orig] = r.Conn
			}
		}
	})
	p.startConntrackd(t, p.a, p.conntrackdConf(t, "a", "FTFW {\n\t}", syncAddrA, syncAddrB))
	// The handshake first: while HELLO is on, a receiver takes gaps as
	// a restart and cannot NACK them.
	kernel.WaitFor(t, "the HELLO handshake", func() bool { return peer.Stats().MsgRecv >= 2 })
	time.Sleep(1500 * time.Millisecond)
	p.b.MustExec(t, "iptables -A INPUT -i sync0 -p udp --dport 3780 -m statistic --mode nth --every 4 --packet 1 -j DROP")
	const n = 300
	var script strings.Builder
	for i := range n {
		script.WriteString("conntrack -I -p udp -s 192.0.2.50 -d 198.51.100.60 --sport " + strconv.Itoa(20000+i) + " --dport 53 -t 120 --src-nat 203.0.113.7 >/dev/null 2>&1\n")
	}
	p.a.MustExec(t, script.String())
	kernel.WaitFor(t, "every connection", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= n
	})
	dropped, _ := p.b.Exec("iptables -nvxL INPUT | awk '/statistic/ {print $1}'", nil)
	st := peer.Stats()
	t.Logf("datagrams dropped %s; nfgo's peer: lost %d, malformed %d", strings.TrimSpace(string(dropped)), st.Lost, st.Malformed)
	if st.Lost == 0 {
		t.Error("no messages were lost: the test did not exercise NACK")
	}
	mu.Lock()
	defer mu.Unlock()
	for tp, c := range got {
		if r, _ := c.Reply(); r.DstAddr().String() != "203.0.113.7" {
			t.Errorf("%v: reply %v, want SNAT to 203.0.113.7", tp, r)
		}
	}
}

// TestConntrackdRecoversWhatAnFTFWPeerSendsThroughLoss sends 300
// connections from nfgo's FTFW peer to a stock conntrackd over a link
// that drops every fourth datagram from nfgo: conntrackd's NACKs must
// get every one resent.
func TestConntrackdRecoversWhatAnFTFWPeerSendsThroughLoss(t *testing.T) {
	p := newSyncPair(t)
	conf := p.conntrackdConf(t, "b", "FTFW {\n\t}", syncAddrB, syncAddrA)
	p.startConntrackd(t, p.b, conf)
	peer := startPeer(t, p.a, syncAddrA, syncAddrB, nil)
	kernel.WaitFor(t, "the HELLO handshake", func() bool { return peer.Stats().MsgRecv >= 2 })
	time.Sleep(1500 * time.Millisecond)
	p.b.MustExec(t, "iptables -A INPUT -i sync0 -p udp --dport 3780 -m statistic --mode nth --every 4 --packet 1 -j DROP")
	const n = 300
	for i := range n {
		k := natConn(t, "udp", "192.0.2.50:"+strconv.Itoa(20000+i), "198.51.100.60:53", "198.51.100.60:53", "203.0.113.7:"+strconv.Itoa(20000+i),
			conntrack.StatusSrcNAT, 0, 0)
		c := FromConn(&k, conntrack.Tuple{}, [2]conntrack.SeqAdj{}, false, [2]uint8{})
		peer.Enqueue(TypeNew, &c)
	}
	var out []byte
	kernel.WaitFor(t, "every connection in conntrackd's external cache", func() bool {
		out, _ = p.b.Exec("conntrackd -C "+conf+" -e", nil)
		return strings.Count(string(out), "src=192.0.2.50 ") >= n
	})
	st := peer.Stats()
	dropped, _ := p.b.Exec("iptables -nvxL INPUT | awk '/statistic/ {print $1}'", nil)
	t.Logf("datagrams dropped %s; nfgo's peer resent %d connections", strings.TrimSpace(string(dropped)), st.Resent)
	if st.Resent == 0 {
		t.Error("nothing was resent: the test did not exercise conntrackd's NACK")
	}
	kernel.WaitFor(t, "conntrackd's ACKs", func() bool { return peer.Stats().Unacked == 0 })
}

// TestConntrackdCatchesUpAfterStalling stops a stock conntrackd (SIGSTOP)
// while nfgo's FTFW peer sends it 5000 connections, more than its socket
// buffer holds, then lets it go on: the datagrams the kernel dropped
// show as gaps, conntrackd NACKs them, and nfgo resends from its resend
// queue until conntrackd has every connection. The test logs the
// figures BENCHMARKS.md reports.
func TestConntrackdCatchesUpAfterStalling(t *testing.T) {
	p := newSyncPair(t)
	conf := p.conntrackdConf(t, "b", "FTFW {\n\t}", syncAddrB, syncAddrA)
	proc := p.startConntrackd(t, p.b, conf)
	peer := startPeer(t, p.a, syncAddrA, syncAddrB, nil)
	kernel.WaitFor(t, "the HELLO handshake", func() bool { return peer.Stats().MsgRecv >= 2 })
	time.Sleep(1500 * time.Millisecond)
	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	const n = 5000
	for i := range n {
		k := natConn(t, "udp", fmt.Sprintf("192.0.2.%d:%d", 50+i/10000, 20000+i%10000), "198.51.100.60:53", "198.51.100.60:53",
			fmt.Sprintf("203.0.113.7:%d", 20000+i%10000), conntrack.StatusSrcNAT, 0, 0)
		c := FromConn(&k, conntrack.Tuple{}, [2]conntrack.SeqAdj{}, false, [2]uint8{})
		peer.Enqueue(TypeNew, &c)
	}
	time.Sleep(2 * time.Second)
	sentWhileStopped := peer.Stats().Sent
	resumed := time.Now()
	if err := proc.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	var out []byte
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, _ = p.b.Exec("conntrackd -C "+conf+" -e", nil)
		if strings.Count(string(out), "src=192.0.2.50 ") >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("conntrackd has %d of %d connections 30 s after it went on", strings.Count(string(out), "src=192.0.2.50 "), n)
		}
	}
	st := peer.Stats()
	drops, _ := p.b.Exec("nstat -az UdpRcvbufErrors 2>/dev/null | awk '/UdpRcvbufErrors/ {print $2}'", nil)
	t.Logf("stalled peer: %d datagrams sent while it was stopped, %s dropped by its full buffer; caught up %v after it went on, nfgo resent %d connections",
		sentWhileStopped, strings.TrimSpace(string(drops)), time.Since(resumed).Round(10*time.Millisecond), st.Resent)
	if st.Resent == 0 {
		t.Error("nothing was resent: the stall lost nothing, so the test did not exercise recovery")
	}
}
