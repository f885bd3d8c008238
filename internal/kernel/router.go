package kernel

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Router is a kernel router in a throwaway network namespace, built as
// reference/kernel-harness.md describes: two TUN devices named like nfgo
// replay's defaults, eth0 (in, carrying the router's own addresses) and
// eth1 (out, the default route), forwarding on, and a separate nftables
// table of counting chains that tells what happened to each packet.
type Router struct {
	Name     string
	in, out  *os.File
	observed string
}

// The router's own addresses, on eth0, as "nfgo replay --local" gets them.
const (
	RouterAddr4 = "192.0.2.1"
	RouterAddr6 = "2001:db8::1"
)

var routerSeq atomic.Int32

// NewRouter builds the router. The namespace is deleted when the test
// ends. Call Require first.
func NewRouter(t testing.TB) *Router {
	t.Helper()
	r := &Router{Name: fmt.Sprintf("nfgo-test-%d-%d", os.Getpid(), routerSeq.Add(1))}
	if out, err := exec.Command("ip", "netns", "add", r.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if r.in != nil {
			r.in.Close()
		}
		if r.out != nil {
			r.out.Close()
		}
		exec.Command("ip", "netns", "delete", r.Name).Run()
	})
	r.mustExec(t, "ip link set lo up; ip tuntap add dev eth0 mode tun; ip tuntap add dev eth1 mode tun")
	var err error
	if r.in, err = r.openTUN("eth0"); err != nil {
		t.Fatalf("open eth0: %v", err)
	}
	if r.out, err = r.openTUN("eth1"); err != nil {
		t.Fatalf("open eth1: %v", err)
	}
	r.mustExec(t, strings.Join([]string{
		"sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1",
		"sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0",
		"sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0",
		"ip addr add " + RouterAddr4 + "/24 dev eth0",
		"ip -6 addr add " + RouterAddr6 + "/64 dev eth0 nodad",
		"ip link set eth0 up", "ip link set eth1 up",
		"sysctl -qw net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.eth1.rp_filter=0",
		"ip route add default dev eth1", "ip -6 route add default dev eth1",
	}, "; "))
	// The counting chains: accepted at input and forward after filter
	// (0) and security (50); leaving at postrouting after nat (100);
	// and every packet the router's own stack sends (RSTs, ICMP errors,
	// MLD) counted and dropped before conntrack, so it cannot disturb
	// the flows under test.
	r.mustExec(t, `nft -f - <<'EOF'
table inet nfgo_observe {
	chain input { type filter hook input priority 500; counter; }
	chain forward { type filter hook forward priority 500; counter; }
	chain postrouting { type filter hook postrouting priority 500; counter; }
	chain local_out { type filter hook output priority -400; counter drop; }
}
EOF`)
	time.Sleep(20 * time.Millisecond)
	r.drain()
	return r
}

func (r *Router) mustExec(t testing.TB, script string) {
	t.Helper()
	if out, err := r.Exec(script, nil); err != nil {
		t.Fatalf("in %s: %s: %v: %s", r.Name, script, err, out)
	}
}

// Exec runs a shell script inside the router's namespace.
func (r *Router) Exec(script string, stdin []byte) ([]byte, error) {
	cmd := exec.Command("ip", "netns", "exec", r.Name, "sh", "-c", script)
	cmd.Stdin = bytes.NewReader(stdin)
	return cmd.CombinedOutput()
}

// Restore loads a ruleset with iptables-restore (ip6tables-restore).
func (r *Router) Restore(rules []byte, v6 bool) error {
	tool := "iptables-restore"
	if v6 {
		tool = "ip6tables-restore"
	}
	if out, err := r.Exec(tool, rules); err != nil {
		return fmt.Errorf("%s: %v: %s", tool, err, out)
	}
	return nil
}

// Fate is what the kernel did with one injected packet.
type Fate struct {
	// Input, Forward: the packet was accepted at that hook.
	Input, Forward bool
	// Left: the packet passed POSTROUTING (forwarded out).
	Left bool
	// Emitted holds the packets read from eth1 after the injection.
	Emitted [][]byte
}

// Accepted reports whether the router let the packet through to its
// destination: delivered locally, or forwarded out.
func (f Fate) Accepted() bool { return f.Input || f.Left }

// Send injects a layer-3 packet as received on eth0 and reports its fate.
func (r *Router) Send(pkt []byte) (Fate, error) {
	before, err := r.counters()
	if err != nil {
		return Fate{}, err
	}
	if _, err := r.in.Write(pkt); err != nil {
		return Fate{}, fmt.Errorf("write to eth0: %w", err)
	}
	time.Sleep(3 * time.Millisecond)
	after, err := r.counters()
	if err != nil {
		return Fate{}, err
	}
	f := Fate{
		Input:   after["input"] > before["input"],
		Forward: after["forward"] > before["forward"],
		Left:    after["postrouting"] > before["postrouting"],
	}
	f.Emitted = r.drain()
	return f, nil
}

var counterRE = regexp.MustCompile(`chain (\w+) \{[^}]*?counter packets (\d+)`)

func (r *Router) counters() (map[string]uint64, error) {
	out, err := r.Exec("nft list table inet nfgo_observe", nil)
	if err != nil {
		return nil, fmt.Errorf("nft list: %v: %s", err, out)
	}
	m := map[string]uint64{}
	for _, sm := range counterRE.FindAllSubmatch(out, -1) {
		n, _ := strconv.ParseUint(string(sm[2]), 10, 64)
		m[string(sm[1])] = n
	}
	if len(m) != 4 {
		return nil, fmt.Errorf("nft list: want 4 counters, got %v in %s", m, out)
	}
	return m, nil
}

// drain reads every packet waiting on eth1.
func (r *Router) drain() [][]byte {
	var pkts [][]byte
	buf := make([]byte, 65536)
	for {
		n, err := unix.Read(int(r.out.Fd()), buf)
		if n <= 0 || err != nil {
			return pkts
		}
		pkts = append(pkts, append([]byte(nil), buf[:n]...))
	}
}

// openTUN attaches to a TUN device inside the router's namespace. The
// descriptor keeps working from any namespace once opened.
func (r *Router) openTUN(name string) (*os.File, error) {
	var f *os.File
	err := r.inNetns(func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return err
		}
		var req [unix.IFNAMSIZ + 64]byte
		copy(req[:], name)
		*(*uint16)(unsafe.Pointer(&req[unix.IFNAMSIZ])) = unix.IFF_TUN | unix.IFF_NO_PI
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req[0]))); errno != 0 {
			unix.Close(fd)
			return fmt.Errorf("TUNSETIFF %s: %w", name, errno)
		}
		f = os.NewFile(uintptr(fd), name)
		return nil
	})
	return f, err
}

// inNetns runs fn on an OS thread switched into the router's namespace.
// If the thread cannot be switched back it is left locked, so the runtime
// retires it with the goroutine.
func (r *Router) inNetns(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open("/run/netns/" + r.Name)
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("setns back: %w", err))
			return // thread stays locked and dies with the goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
