package kernel

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// Netns is a named network namespace a test made; it is deleted when the
// test ends.
type Netns struct {
	Name string
}

var netnsSeq atomic.Uint64

// NewNetns creates a namespace with its loopback up and IPv6 duplicate
// address detection off. Call Require first.
func NewNetns(t testing.TB, label string) *Netns {
	t.Helper()
	n := &Netns{Name: fmt.Sprintf("nfgo-%s-%d-%d", label, os.Getpid(), netnsSeq.Add(1))}
	if out, err := exec.Command("ip", "netns", "add", n.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "delete", n.Name).Run() })
	// No duplicate address detection: a new link's IPv6 addresses,
	// link-local ones too, are usable at once rather than after a second.
	n.MustExec(t, "ip link set lo up; sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0")
	return n
}

// Exec runs a shell script inside the namespace.
func (n *Netns) Exec(script string, stdin []byte) ([]byte, error) {
	cmd := exec.Command("ip", "netns", "exec", n.Name, "sh", "-c", script)
	cmd.Stdin = bytes.NewReader(stdin)
	return cmd.CombinedOutput()
}

// MustExec runs a script inside the namespace and fails the test if it
// fails.
func (n *Netns) MustExec(t testing.TB, script string) {
	t.Helper()
	if out, err := n.Exec(script, nil); err != nil {
		t.Fatalf("in %s: %s: %v: %s", n.Name, script, err, out)
	}
}

// Do runs fn on an OS thread switched into the namespace. Sockets fn
// opens belong to the namespace and may be used from any goroutine
// afterwards. If the thread cannot be switched back it stays locked, so
// the runtime retires it with the goroutine.
func (n *Netns) Do(fn func() error) error { return inNetns(n.Name, fn) }

func inNetns(name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open("/run/netns/" + name)
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

// Veth joins namespaces a and b with a veth pair, named aName in a and
// bName in b, with the given addresses (prefixes, either family, may be
// empty), and brings both ends up.
func Veth(t testing.TB, a *Netns, aName, aAddr string, b *Netns, bName, bAddr string) {
	t.Helper()
	a.MustExec(t, fmt.Sprintf("ip link add %s type veth peer name %s netns %s", aName, bName, b.Name))
	for _, end := range []struct {
		ns         *Netns
		name, addr string
	}{{a, aName, aAddr}, {b, bName, bAddr}} {
		if end.addr != "" {
			end.ns.MustExec(t, fmt.Sprintf("ip addr add %s dev %s nodad 2>/dev/null || ip addr add %s dev %s", end.addr, end.name, end.addr, end.name))
		}
		end.ns.MustExec(t, "ip link set "+end.name+" up")
	}
}
