package ctsync

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// senderBench is a table whose changes go, or do not go, to a sync
// peer on loopback.
type senderBench struct {
	tb   *conntrack.Table
	pkt  []byte
	p    packet.Packet
	r    conntrack.Result
	stop func()
}

func newSenderBench(tb testing.TB, syncOn bool) *senderBench {
	b := &senderBench{tb: conntrack.NewTable(conntrack.Config{Max: 1 << 22})}
	b.pkt = testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
		Proto: "udp", SrcPort: 1, DstPort: 53, Payload: []byte("q")})
	if syncOn {
		// The standby is a socket that reads and discards, so that
		// what is measured is the sender's own work.
		sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			tb.Fatal(err)
		}
		go func() {
			buf := make([]byte, 65536)
			for {
				if _, err := sink.Read(buf); err != nil {
					return
				}
			}
		}()
		pa, err := ListenPeer(PeerConfig{Local: netip.MustParseAddrPort("127.0.0.1:0"), Remote: sink.LocalAddr().(*net.UDPAddr).AddrPort()})
		if err != nil {
			tb.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { pa.Run(ctx); close(done) }()
		stop, _ := Tap(b.tb, pa, 1<<16, nil)
		b.stop = func() { stop(); cancel(); <-done; sink.Close() }
	}
	return b
}

// packet runs flow i's next packet through conntrack: flows differ in
// source address and port.
func (b *senderBench) packet(i int, now time.Time) {
	binary.BigEndian.PutUint32(b.pkt[12:], 0x0a000000|uint32(i>>16)&0xffff)
	binary.BigEndian.PutUint16(b.pkt[20:], uint16(i))
	b.p.Decode(b.pkt)
	b.tb.In(&b.r, &b.p, 0, now, false)
	b.tb.Confirm(&b.r)
}

// peerPair runs two peers on loopback until the benchmark or test ends.
func peerPair(tb testing.TB, rcvBuffer int, apply func([]Received)) (pa, pb *Peer) {
	tb.Helper()
	var err error
	pa, err = ListenPeer(PeerConfig{Local: netip.MustParseAddrPort("127.0.0.1:0"), Remote: netip.MustParseAddrPort("127.0.0.1:9")})
	if err != nil {
		tb.Fatal(err)
	}
	pb, err = ListenPeer(PeerConfig{Local: netip.MustParseAddrPort("127.0.0.1:0"), Remote: pa.LocalAddr(), Apply: apply, RcvBuffer: rcvBuffer})
	if err != nil {
		tb.Fatal(err)
	}
	pa.SetRemote(pb.LocalAddr())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, p := range []*Peer{pa, pb} {
		wg.Go(func() { p.Run(ctx) })
	}
	tb.Cleanup(func() { cancel(); wg.Wait() })
	return pa, pb
}

// BenchmarkSenderPerPacket is the per-packet cost of conntrack on the
// active node with sync off and on: an established flow (no event) and
// a new flow every packet (an event, sent to the peer).
func BenchmarkSenderPerPacket(b *testing.B) {
	for _, kind := range []string{"established", "new"} {
		for _, syncOn := range []bool{false, true} {
			name := kind + "/sync-off"
			if syncOn {
				name = kind + "/sync-on"
			}
			b.Run(name, func(b *testing.B) {
				sb := newSenderBench(b, syncOn)
				if sb.stop != nil {
					defer sb.stop()
				}
				now := time.Now()
				sb.packet(0, now)
				b.ReportAllocs()
				// The packet loop's own CPU time (its thread's) is the
				// packet path's cost; the rest of the process's is the
				// sync goroutines' and the runtime's, which run on
				// the other cores.
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				b.ResetTimer()
				thread0, self0 := cpuTime(unix.RUSAGE_THREAD), cpuTime(unix.RUSAGE_SELF)
				for i := range b.N {
					if kind == "new" {
						sb.packet(i+1, now)
					} else {
						sb.packet(0, now)
					}
				}
				thread, self := cpuTime(unix.RUSAGE_THREAD)-thread0, cpuTime(unix.RUSAGE_SELF)-self0
				b.ReportMetric(float64(thread.Nanoseconds())/float64(b.N), "path-cpu-ns/op")
				b.ReportMetric(float64((self-thread).Nanoseconds())/float64(b.N), "other-cpu-ns/op")
			})
		}
	}
}

// cpuTime returns the user and system CPU time of the process or the
// calling thread.
func cpuTime(who int) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSenderAllocatesNothingPerPacketWithSyncOn: with the sync tap's
// subscription on the table, tracking packets of new and established
// flows allocates nothing; building and sending messages happens on the
// tap's goroutine, which this test holds back (its events wait in the
// subscription's buffer) so that only the packet path is counted.
func TestSenderAllocatesNothingPerPacketWithSyncOn(t *testing.T) {
	sb := newSenderBench(t, false)
	sub := sb.tb.Subscribe(4096)
	defer sub.Close()
	now := time.Now()
	i := 0
	if n := testing.AllocsPerRun(1000, func() { i++; sb.packet(i, now) }); n != 0 {
		t.Errorf("a new flow with sync on allocates %v per packet", n)
	}
	if n := testing.AllocsPerRun(1000, func() { sb.packet(1, now) }); n != 0 {
		t.Errorf("an established packet with sync on allocates %v", n)
	}
	if sub.Lost() != 0 || len(sub.Events()) < 1000 {
		t.Errorf("the subscription got %d events, lost %d: the test did not tap the new flows", len(sub.Events()), sub.Lost())
	}
}

// BenchmarkConverge100k is the time for 100,000 connections to reach
// the standby's external cache over loopback, FTFW, with the system's
// receive buffer and with 16 MB (RcvSocketBuffer).
func BenchmarkConverge100k(b *testing.B) {
	for _, rcv := range []int{0, 16 << 20} {
		b.Run(fmt.Sprintf("rcvbuf=%d", rcv), func(b *testing.B) { converge(b, rcv) })
	}
}

func converge(b *testing.B, rcvBuffer int) {
	const n = 100_000
	conns := make([]Conn, n)
	for i := range conns {
		conns[i] = *testConn(i, 1)
		conns[i].Orig.SrcPort = uint16(i)
		conns[i].Orig.Src[3] = byte(i >> 16)
	}
	for range b.N {
		ext := NewExternalCache(n)
		done := make(chan struct{})
		var once sync.Once
		pa, _ := peerPair(b, rcvBuffer, func(rs []Received) {
			ext.Apply(rs, time.Now())
			if ext.Len() == n {
				once.Do(func() { close(done) })
			}
		})
		start := time.Now()
		for i := range conns {
			pa.Enqueue(TypeNew, &conns[i])
		}
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			b.Fatalf("after 60 s the standby has %d of %d", ext.Len(), n)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/converge")
		st := pa.Stats()
		b.ReportMetric(float64(st.Resent), "resent")
	}
}
