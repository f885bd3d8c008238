package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"golang.org/x/sys/unix"

	"github.com/nfgo/nfgo/daemon"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/nfq"
	"github.com/nfgo/nfgo/packet"
)

// BenchmarkNFQueue floods 64-byte UDP datagrams from a client namespace
// through a router namespace to a server namespace, each run for a fixed
// time (NFGO_BENCH_SECONDS, default 3), and reports what reached the
// server per second, in the same run for:
//
//   - kernel: no queue at all, the ceiling;
//   - go-nfqueue: an accept-all daemon on github.com/florianl/go-nfqueue,
//     one SetVerdict per packet (the baseline);
//   - nfq: nfgo's transport, accept-all;
//   - engine: nfgo run's daemon, conntrack and 100 rules (hook layout);
//   - nfq-2queues: nfgo's transport on --queue-balance 0:1, four client
//     addresses (balance hashes addresses only).
//
// It needs root. Run it with -benchtime 1x:
//
//	go test -run XXX -bench NFQueue -benchtime 1x -count 3 ./bench/
func BenchmarkNFQueue(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("skipping: the NFQUEUE benchmark needs root to build namespaces")
	}
	secs := 3.0
	if s, err := strconv.ParseFloat(os.Getenv("NFGO_BENCH_SECONDS"), 64); err == nil && s > 0 {
		secs = s
	}
	dur := time.Duration(secs * float64(time.Second))
	for _, c := range []struct {
		name   string
		queues int
		serve  func(ctx context.Context, b *testing.B, ns *kernel.Netns, ready chan<- struct{}) uint64
		// rate paces the sender (packets per second; 0: as fast as it
		// can), so that a daemon-bound run leaves the daemon the CPU the
		// sender would otherwise burn on packets the queue drops.
		rate int
	}{
		{"kernel", 0, nil, 0},
		{"go-nfqueue", 1, serveGoNfqueue, 0},
		{"nfq", 1, serveNfq(1), 0},
		{"engine", 1, serveEngine(100, 1), 0},
		{"nfq-2queues", 2, serveNfq(2), 0},
		{"engine-20000rules-paced", 1, serveEngine(20000, 1), 60000},
		{"engine-20000rules-paced-2queues", 2, serveEngine(20000, 2), 60000},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				pps, allocs := floodOnce(b, dur, c.queues, c.serve, c.rate)
				b.ReportMetric(pps, "pkts/s")
				if c.serve != nil {
					b.ReportMetric(allocs, "allocs/pkt")
				}
			}
		})
	}
}

// floodOnce builds the topology, starts the daemon (if any), floods for
// dur and returns the delivered rate and the process's allocations per
// delivered packet.
func floodOnce(b *testing.B, dur time.Duration, queues int, serve func(context.Context, *testing.B, *kernel.Netns, chan<- struct{}) uint64, rate int) (float64, float64) {
	client, router, server := kernel.NewNetns(b, "bc"), kernel.NewNetns(b, "br"), kernel.NewNetns(b, "bs")
	kernel.Veth(b, client, "c0", "10.1.0.2/24", router, "r0", "10.1.0.1/24")
	kernel.Veth(b, server, "s0", "10.2.0.2/24", router, "r1", "10.2.0.1/24")
	for i := 3; i < 2+candidates; i++ {
		client.MustExec(b, fmt.Sprintf("ip addr add 10.1.0.%d/24 dev c0", i))
	}
	client.MustExec(b, "ip route add default via 10.1.0.1")
	server.MustExec(b, "ip route add default via 10.2.0.1")
	router.MustExec(b, "sysctl -qw net.ipv4.ip_forward=1")
	switch queues {
	case 1:
		router.MustExec(b, "iptables -A FORWARD -p udp -j NFQUEUE --queue-num 0")
	case 2:
		router.MustExec(b, "iptables -A FORWARD -p udp -j NFQUEUE --queue-balance 0:1")
	}

	// The receiver, on a big buffer, reading until told to stop.
	var rx int
	if err := server.Do(func() error {
		var err error
		if rx, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		unix.SetsockoptInt(rx, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
		tv := unix.NsecToTimeval(int64(50 * time.Millisecond))
		unix.SetsockoptTimeval(rx, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		return unix.Bind(rx, &unix.SockaddrInet4{Port: 9, Addr: [4]byte{10, 2, 0, 2}})
	}); err != nil {
		b.Fatal(err)
	}
	defer unix.Close(rx)
	// Sockets on several client addresses, so that queue balancing has
	// addresses to spread; four of them send.
	var cand [candidates]int
	if err := client.Do(func() error {
		for i := range cand {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			cand[i] = fd
			if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{10, 1, 0, byte(2 + i)}}); err != nil {
				return err
			}
			if err := unix.Connect(fd, &unix.SockaddrInet4{Port: 9, Addr: [4]byte{10, 2, 0, 2}}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	defer func() {
		for _, fd := range cand {
			unix.Close(fd)
		}
	}()
	tx := [4]int{cand[0], cand[1], cand[2], cand[3]}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var served sync.WaitGroup
	var judged atomic.Uint64
	if serve != nil {
		ready := make(chan struct{})
		served.Add(1)
		go func() {
			defer served.Done()
			judged.Store(serve(ctx, b, router, ready))
		}()
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			b.Fatal("the daemon did not start")
		}
		if queues == 2 {
			tx = balancedSenders(b, router, cand[:])
		}
	}

	var received atomic.Uint64
	stopRx := make(chan struct{})
	rxDone := make(chan struct{})
	go func() {
		defer close(rxDone)
		// recvmmsg, 64 datagrams a call, so the receiver is not what
		// limits the rate.
		bufs := make([]byte, 64*256)
		iovs := make([]unix.Iovec, 64)
		hdrs := make([]unix.Mmsghdr, 64)
		for i := range hdrs {
			iovs[i].Base = &bufs[i*256]
			iovs[i].SetLen(256)
			hdrs[i].Hdr.Iov = &iovs[i]
			hdrs[i].Hdr.SetIovlen(1)
		}
		for {
			select {
			case <-stopRx:
				return
			default:
			}
			n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(rx), uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), unix.MSG_WAITFORONE, 0, 0)
			if errno == 0 {
				received.Add(uint64(n))
			}
		}
	}()

	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	rx0 := received.Load()
	// The sender offers as much as it can: sendmmsg, 32 datagrams a call,
	// turning over the four sockets.
	payload := make([]byte, 64)
	iov := unix.Iovec{Base: &payload[0]}
	iov.SetLen(len(payload))
	var msgs [32]unix.Mmsghdr
	for i := range msgs {
		msgs[i].Hdr.Iov = &iov
		msgs[i].Hdr.SetIovlen(1)
	}
	deadline := time.Now().Add(dur)
	start := time.Now()
	for i := 0; ; i++ {
		if i&63 == 0 && time.Now().After(deadline) {
			break
		}
		if rate > 0 {
			// Ahead of the rate: wait.
			for float64((i+1)*len(msgs)) > float64(rate)*time.Since(start).Seconds() {
				time.Sleep(200 * time.Microsecond)
			}
		}
		unix.Syscall6(unix.SYS_SENDMMSG, uintptr(tx[i&3]), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), 0, 0, 0)
	}
	elapsed := time.Since(start)
	// Let the queue drain, then stop.
	time.Sleep(200 * time.Millisecond)
	delivered := received.Load() - rx0
	runtime.ReadMemStats(&ms1)
	if out, err := router.Exec("cat /proc/net/netfilter/nfnetlink_queue", nil); err == nil && os.Getenv("NFGO_BENCH_DEBUG") != "" {
		b.Logf("queues:\n%s", out)
	}
	cancel()
	served.Wait()
	close(stopRx)
	<-rxDone
	allocs := 0.0
	if delivered > 0 {
		allocs = float64(ms1.Mallocs-ms0.Mallocs) / float64(delivered)
	}
	return float64(delivered) / elapsed.Seconds(), allocs
}

// serveNfq is an accept-all daemon on nfgo's transport, one thread-locked
// goroutine per queue.
func serveNfq(queues int) func(context.Context, *testing.B, *kernel.Netns, chan<- struct{}) uint64 {
	return func(ctx context.Context, b *testing.B, ns *kernel.Netns, ready chan<- struct{}) uint64 {
		qs := make([]*nfq.Queue, queues)
		if err := ns.Do(func() error {
			for i := range qs {
				var err error
				if qs[i], err = nfq.Open(nfq.Config{Num: uint16(i), MaxLen: 8192}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Error(err)
			close(ready)
			return 0
		}
		close(ready)
		var wg sync.WaitGroup
		var n atomic.Uint64
		for _, q := range qs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread()
				defer q.Close()
				for ctx.Err() == nil {
					pkts, _ := q.Receive()
					for i := range pkts {
						q.SetVerdict(pkts[i].ID, nfq.Verdict{Action: nfq.Accept})
					}
					q.Flush()
					n.Add(uint64(len(pkts)))
				}
			}()
		}
		wg.Wait()
		return n.Load()
	}
}

// serveGoNfqueue is the baseline: go-nfqueue, accept-all, one verdict
// per packet.
func serveGoNfqueue(ctx context.Context, b *testing.B, ns *kernel.Netns, ready chan<- struct{}) uint64 {
	f, err := os.Open("/run/netns/" + ns.Name)
	if err != nil {
		b.Error(err)
		close(ready)
		return 0
	}
	defer f.Close()
	nf, err := nfqueue.Open(&nfqueue.Config{NetNS: int(f.Fd()), NfQueue: 0, MaxPacketLen: 0xffff, MaxQueueLen: 8192,
		Copymode: nfqueue.NfQnlCopyPacket, WriteTimeout: 100 * time.Millisecond})
	if err != nil {
		b.Error(err)
		close(ready)
		return 0
	}
	defer nf.Close()
	var n atomic.Uint64
	err = nf.RegisterWithErrorFunc(ctx, func(a nfqueue.Attribute) int {
		nf.SetVerdict(*a.PacketID, nfqueue.NfAccept)
		n.Add(1)
		return 0
	}, func(error) int { return 0 })
	close(ready)
	if err != nil {
		b.Error(err)
		return 0
	}
	<-ctx.Done()
	return n.Load()
}

// serveEngine is nfgo run's daemon in the hook layout on the given
// queues: conntrack and a FORWARD chain of n rules that do not match,
// then ACCEPT.
func serveEngine(n, queues int) func(context.Context, *testing.B, *kernel.Netns, chan<- struct{}) uint64 {
	return func(ctx context.Context, b *testing.B, ns *kernel.Netns, ready chan<- struct{}) uint64 {
		return runEngine(ctx, b, ns, ready, n, queues)
	}
}

func runEngine(ctx context.Context, b *testing.B, ns *kernel.Netns, ready chan<- struct{}, n, queues int) uint64 {
	var rules strings.Builder
	rules.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	for i := range n {
		fmt.Fprintf(&rules, "-A FORWARD -s 172.%d.%d.0/24 -p tcp -m tcp --dport %d -j ACCEPT\n", 16+i>>8&0xf, i&0xff, 1000+i%50000)
	}
	rules.WriteString("-A FORWARD -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT\nCOMMIT\n")
	rs, err := iptables.Parse(strings.NewReader(rules.String()), packet.IPv4)
	if err != nil {
		b.Error(err)
		close(ready)
		return 0
	}
	var srv *daemon.Server
	markReady := sync.OnceFunc(func() { close(ready) })
	defer markReady()
	err = ns.Do(func() error {
		var err error
		srv, err = daemon.New(daemon.Config{
			Queues:    []uint16{0, 1}[:queues],
			Queue:     nfq.Config{MaxLen: 8192},
			LoadRules: func() (*filter.Ruleset, *filter.Ruleset, error) { return rs, nil, nil },
			Logger:    slog.New(slog.DiscardHandler),
		})
		if err != nil {
			return err
		}
		markReady()
		return srv.Run(ctx)
	})
	if err != nil {
		b.Error(err)
	}
	if srv == nil {
		return 0
	}
	return srv.Stats().Packets()
}

// candidates is how many client addresses the flood may send from.
const candidates = 16

// balancedSenders picks four of the candidate sockets, two whose packets
// --queue-balance sends to queue 0 and two to queue 1, so that both
// queues get half the load. The kernel's hash has a random seed, so it
// asks the kernel: one probe packet from each address, and the queues'
// id counters in /proc/net/netfilter/nfnetlink_queue say where it went.
func balancedSenders(b *testing.B, router *kernel.Netns, cand []int) [4]int {
	ids := func() map[string]string {
		out, _ := router.Exec("cat /proc/net/netfilter/nfnetlink_queue", nil)
		m := map[string]string{}
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) >= 8 {
				m[f[0]] = f[7]
			}
		}
		return m
	}
	var byQueue [2][]int
	probe := make([]byte, 64)
	for _, fd := range cand {
		before := ids()
		unix.Write(fd, probe)
		time.Sleep(5 * time.Millisecond)
		after := ids()
		for q := range byQueue {
			if k := strconv.Itoa(q); after[k] != before[k] {
				byQueue[q] = append(byQueue[q], fd)
			}
		}
	}
	if len(byQueue[0]) < 2 || len(byQueue[1]) < 2 {
		b.Logf("queue balance: %d and %d addresses per queue; using the first four", len(byQueue[0]), len(byQueue[1]))
		return [4]int{cand[0], cand[1], cand[2], cand[3]}
	}
	return [4]int{byQueue[0][0], byQueue[1][0], byQueue[0][1], byQueue[1][1]}
}
