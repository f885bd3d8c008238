package nfq_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/nfq"
	"github.com/nfgo/nfgo/packet"
)

// lab is a namespace whose OUTPUT chain queues UDP to port 9999 to queue
// 0, with a UDP socket to send from and one listening on 127.0.0.1:9999.
type lab struct {
	ns         *kernel.Netns
	send, recv int
}

const labPort = 9999

func newLab(t *testing.T, rules string) *lab {
	t.Helper()
	kernel.Require(t, "ip", "iptables-restore")
	l := &lab{ns: kernel.NewNetns(t, "nfq")}
	if rules == "" {
		rules = fmt.Sprintf("*filter\n-A OUTPUT -p udp --dport %d -j NFQUEUE --queue-num 0\nCOMMIT\n", labPort)
	}
	if out, err := l.ns.Exec("iptables-restore", []byte(rules)); err != nil {
		t.Fatalf("iptables-restore: %v: %s", err, out)
	}
	err := l.ns.Do(func() error {
		var err error
		if l.recv, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		if err := unix.Bind(l.recv, &unix.SockaddrInet4{Port: labPort, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return err
		}
		tv := unix.NsecToTimeval(int64(200 * time.Millisecond))
		if err := unix.SetsockoptTimeval(l.recv, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		l.send, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(l.send); unix.Close(l.recv) })
	return l
}

// open binds a queue inside the lab's namespace.
func (l *lab) open(t *testing.T, cfg nfq.Config) *nfq.Queue {
	t.Helper()
	var q *nfq.Queue
	err := l.ns.Do(func() error {
		var err error
		q, err = nfq.Open(cfg)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// sendN sends n datagrams "msg-<i>" to the listener, without blocking:
// queued packets count against the sender's buffer, so a full buffer
// fails the test rather than hanging it.
func (l *lab) sendN(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		if err := unix.Sendto(l.send, fmt.Appendf(nil, "msg-%d", i), unix.MSG_DONTWAIT, &unix.SockaddrInet4{Port: labPort, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			t.Fatalf("send %d of %d: %v", i, n, err)
		}
	}
}

// received reads what reached the listener until it is quiet.
func (l *lab) received() []string {
	var got []string
	buf := make([]byte, 2048)
	for {
		n, _, err := unix.Recvfrom(l.recv, buf, 0)
		if err != nil {
			return got
		}
		got = append(got, string(buf[:n]))
	}
}

// serve answers packets with verdict(p) until want packets were answered
// or two seconds pass; it returns the packets' copies.
func serve(t *testing.T, q *nfq.Queue, want int, verdict func(p *nfq.Packet) nfq.Verdict) []nfq.Packet {
	t.Helper()
	var seen []nfq.Packet
	deadline := time.Now().Add(2 * time.Second)
	for len(seen) < want && time.Now().Before(deadline) {
		pkts, err := q.Receive()
		if err != nil {
			t.Fatal(err)
		}
		for i := range pkts {
			p := &pkts[i]
			q.SetVerdict(p.ID, verdict(p))
			c := *p
			c.Payload = append([]byte(nil), p.Payload...)
			seen = append(seen, c)
		}
		if err := q.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	return seen
}

func TestAcceptedPacketsArriveWithTheirMetadata(t *testing.T) {
	l := newLab(t, "")
	q := l.open(t, nfq.Config{Num: 0})
	l.sendN(t, 50)
	seen := serve(t, q, 50, func(*nfq.Packet) nfq.Verdict { return nfq.Verdict{Action: nfq.Accept} })
	if len(seen) != 50 {
		t.Fatalf("queued %d packets, want 50", len(seen))
	}
	for i, p := range seen {
		var d packet.Packet
		d.Decode(p.Payload)
		if p.Hook != 3 || p.HWProtocol != unix.ETH_P_IP || d.Invalid != packet.OK || d.DstPort != labPort ||
			d.Dst() != netip.MustParseAddr("127.0.0.1") || p.OutDev == 0 || p.Length != len(p.Payload) {
			t.Errorf("packet %d: hook %d proto %#x outdev %d len %d/%d, decoded %v → %v:%d", i, p.Hook, p.HWProtocol,
				p.OutDev, len(p.Payload), p.Length, d.Invalid, d.Dst(), d.DstPort)
		}
		if i > 0 && p.ID != seen[i-1].ID+1 {
			t.Errorf("packet ids %d then %d, want consecutive", seen[i-1].ID, p.ID)
		}
	}
	got := l.received()
	if len(got) != 50 || got[0] != "msg-0" || got[49] != "msg-49" {
		t.Errorf("listener got %d datagrams (%v…), want msg-0…msg-49", len(got), got[:min(3, len(got))])
	}
	// All 50 ACCEPTs in a row fold into batch verdicts: fewer messages
	// than verdicts.
	if s := q.Stats(); s.Verdicts != 50 || s.Messages >= s.Verdicts {
		t.Errorf("stats %+v: want 50 verdicts in fewer messages", s)
	}
}

func TestVerdictsDropMarkAndReplace(t *testing.T) {
	// Count packets by mark after the queue, to see the verdict's mark.
	l := newLab(t, fmt.Sprintf(`*mangle
-A POSTROUTING -p udp --dport %d -m mark --mark 0x2a -j ACCEPT
COMMIT
*filter
-A OUTPUT -p udp --dport %d -j NFQUEUE --queue-num 0
COMMIT
`, labPort, labPort))
	q := l.open(t, nfq.Config{Num: 0})
	l.sendN(t, 6)
	// Drop the odd ones, mark msg-2, and rewrite msg-4's payload.
	serve(t, q, 6, func(p *nfq.Packet) nfq.Verdict {
		body := string(p.Payload[28:])
		switch body {
		case "msg-1", "msg-3", "msg-5":
			return nfq.Verdict{Action: nfq.Drop}
		case "msg-2":
			return nfq.Verdict{Action: nfq.Accept, SetMark: true, Mark: 0x2a}
		case "msg-4":
			b := append([]byte(nil), p.Payload...)
			copy(b[28:], "MSG-4")
			var d packet.Packet
			d.Decode(b)
			d.ComputeChecksums()
			return nfq.Verdict{Action: nfq.Accept, Payload: b}
		}
		return nfq.Verdict{Action: nfq.Accept}
	})
	got := l.received()
	if want := []string{"msg-0", "msg-2", "MSG-4"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("listener got %v, want %v", got, want)
	}
	out, err := l.ns.Exec("iptables -t mangle -L POSTROUTING -v -n -x | awk '/0x2a/ {print $1}'", nil)
	if err != nil || string(bytes.TrimSpace(out)) != "1" {
		t.Errorf("packets with mark 0x2a after the queue: %q (%v), want 1", out, err)
	}
}

func TestSecondBindOfAQueueIsRefused(t *testing.T) {
	l := newLab(t, "")
	l.open(t, nfq.Config{Num: 0})
	err := l.ns.Do(func() error {
		q, err := nfq.Open(nfq.Config{Num: 0})
		if err == nil {
			q.Close()
		}
		return err
	})
	if !errors.Is(err, nfq.ErrBusy) {
		t.Errorf("second bind: %v, want ErrBusy", err)
	}
}

func TestShutdownDrainsWhatIsQueued(t *testing.T) {
	l := newLab(t, "")
	q := l.open(t, nfq.Config{Num: 0})
	l.sendN(t, 20)
	time.Sleep(50 * time.Millisecond)
	q.Shutdown()
	n := 0
	for {
		pkts, err := q.Receive()
		if errors.Is(err, nfq.ErrClosed) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			q.SetVerdict(p.ID, nfq.Verdict{Action: nfq.Accept})
			n++
		}
		if err := q.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(l.received()); n != 20 || got != 20 {
		t.Errorf("after Shutdown: %d packets answered, %d delivered; want 20 and 20", n, got)
	}
}

func TestSteadyStateDoesNotAllocate(t *testing.T) {
	l := newLab(t, "")
	q := l.open(t, nfq.Config{Num: 0, Batch: 8})
	l.sendN(t, 120)
	time.Sleep(50 * time.Millisecond)
	// Warm up: the first rounds size the verdict buffers.
	for range 3 {
		pkts, _ := q.Receive()
		for _, p := range pkts {
			q.SetVerdict(p.ID, nfq.Verdict{Action: nfq.Accept})
		}
		q.Flush()
	}
	got := 0
	allocs := testing.AllocsPerRun(10, func() {
		pkts, err := q.Receive()
		if err != nil {
			t.Fatal(err)
		}
		for i := range pkts {
			q.SetVerdict(pkts[i].ID, nfq.Verdict{Action: nfq.Accept, SetMark: pkts[i].ID%2 == 0, Mark: 7})
		}
		got += len(pkts)
		if err := q.Flush(); err != nil {
			t.Fatal(err)
		}
	})
	if got == 0 {
		t.Fatal("no packets received during the measurement")
	}
	if allocs != 0 {
		t.Errorf("Receive + SetVerdict + Flush: %v allocations per batch, want 0", allocs)
	}
}

// TestFailOpenAcceptsWhatTheQueueCannotHold fills a queue of two that
// nobody reads: with fail-open the overflow is accepted, without it
// dropped, as the kernel documents.
func TestFailOpenAcceptsWhatTheQueueCannotHold(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail-open=%v", failOpen), func(t *testing.T) {
			l := newLab(t, "")
			l.open(t, nfq.Config{Num: 0, MaxLen: 2, FailOpen: failOpen})
			l.sendN(t, 20)
			got := len(l.received())
			want := 0
			if failOpen {
				want = 18
			}
			if got != want {
				t.Errorf("%d of 20 delivered past a full queue of 2, want %d", got, want)
			}
		})
	}
}

// TestVerdictAllAnswersWhatIsHeld is the watchdog's tool: packets
// received but never answered by the serving loop are answered at once
// by VerdictAll, from another goroutine.
func TestVerdictAllAnswersWhatIsHeld(t *testing.T) {
	l := newLab(t, "")
	q := l.open(t, nfq.Config{Num: 0})
	l.sendN(t, 5)
	got := 0
	for deadline := time.Now().Add(2 * time.Second); got < 5 && time.Now().Before(deadline); {
		pkts, err := q.Receive()
		if err != nil {
			t.Fatal(err)
		}
		got += len(pkts) // held: no verdict
	}
	if got != 5 {
		t.Fatalf("received %d of 5", got)
	}
	if n := len(l.received()); n != 0 {
		t.Fatalf("%d delivered before any verdict", n)
	}
	done := make(chan error)
	go func() { done <- q.VerdictAll(nfq.Accept) }()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(l.received()); n != 5 {
		t.Errorf("%d of 5 delivered after VerdictAll(Accept)", n)
	}
}
