package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nfgo/nfgo/internal/kernel"
)

// The end-to-end tests run "nfgo run" as a process in a router namespace
// between a client and a server namespace, joined by veth pairs:
//
//	client 10.1.0.2 ── c0 ══ r0 ── router 10.1.0.1 | 10.2.0.1 ── r1 ══ s0 ── server 10.2.0.2
//
// The server answers HTTP on :80, echoes TCP lines on :7 and UDP on :53
// and :54, and on :55 UDP with the sender's address. Every wait is
// bounded.

var (
	nfgoBinOnce sync.Once
	nfgoBin     string
	nfgoBinErr  error
)

// TestMain removes the binary buildNfgo built.
func TestMain(m *testing.M) {
	code := m.Run()
	if nfgoBin != "" {
		os.RemoveAll(filepath.Dir(nfgoBin))
	}
	os.Exit(code)
}

// buildNfgo builds the nfgo binary once per test run.
func buildNfgo(t *testing.T) string {
	t.Helper()
	nfgoBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nfgo-bin")
		if err != nil {
			nfgoBinErr = err
			return
		}
		nfgoBin = filepath.Join(dir, "nfgo")
		out, err := exec.Command("go", "build", "-o", nfgoBin, ".").CombinedOutput()
		if err != nil {
			nfgoBinErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if nfgoBinErr != nil {
		t.Fatal(nfgoBinErr)
	}
	return nfgoBin
}

type topo struct {
	client, router, server *kernel.Netns
	dir                    string
}

func newTopo(t *testing.T) *topo {
	t.Helper()
	kernel.Require(t, "ip", "iptables-restore")
	tp := &topo{
		client: kernel.NewNetns(t, "client"),
		router: kernel.NewNetns(t, "router"),
		server: kernel.NewNetns(t, "server"),
		dir:    t.TempDir(),
	}
	kernel.Veth(t, tp.client, "c0", "10.1.0.2/24", tp.router, "r0", "10.1.0.1/24")
	kernel.Veth(t, tp.server, "s0", "10.2.0.2/24", tp.router, "r1", "10.2.0.1/24")
	tp.client.MustExec(t, "ip addr add fd01::2/64 dev c0 nodad; ip route add default via 10.1.0.1; ip -6 route add default via fd01::1")
	tp.server.MustExec(t, "ip addr add fd02::2/64 dev s0 nodad; ip route add default via 10.2.0.1; ip -6 route add default via fd02::1")
	tp.router.MustExec(t, "ip addr add fd01::1/64 dev r0 nodad; ip addr add fd02::1/64 dev r1 nodad")
	tp.router.MustExec(t, "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.r0.rp_filter=0 net.ipv4.conf.r1.rp_filter=0")
	tp.serve(t)
	return tp
}

// serve starts the server's services.
func (tp *topo) serve(t *testing.T) {
	t.Helper()
	var web, web6, echo net.Listener
	var udp53, udp54, udp55 net.PacketConn
	err := tp.server.Do(func() error {
		var err error
		if web, err = net.Listen("tcp", "10.2.0.2:80"); err != nil {
			return err
		}
		if web6, err = net.Listen("tcp", "[fd02::2]:80"); err != nil {
			return err
		}
		if echo, err = net.Listen("tcp", "10.2.0.2:7"); err != nil {
			return err
		}
		if udp53, err = net.ListenPacket("udp", "10.2.0.2:53"); err != nil {
			return err
		}
		if udp54, err = net.ListenPacket("udp", "10.2.0.2:54"); err != nil {
			return err
		}
		udp55, err = net.ListenPacket("udp", "10.2.0.2:55")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write(bigBody)
			return
		}
		fmt.Fprintf(w, "hello %s", r.RemoteAddr)
	}), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(web)
	go hs.Serve(web6)
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintf(c, "%s from %s\n", sc.Text(), c.RemoteAddr())
				}
			}()
		}
	}()
	for _, pc := range []net.PacketConn{udp53, udp54} {
		go func() {
			buf := make([]byte, 2048)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				pc.WriteTo(append([]byte("echo "), buf[:n]...), from)
			}
		}()
	}
	// :55 says whom it answers, as the TCP echo does.
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := udp55.ReadFrom(buf)
			if err != nil {
				return
			}
			udp55.WriteTo(fmt.Appendf(nil, "%s from %s", buf[:n], from), from)
		}
	}()
	t.Cleanup(func() { hs.Close(); echo.Close(); udp53.Close(); udp54.Close(); udp55.Close() })
}

// routerRules loads the router's kernel rules (the NFQUEUE plumbing).
func (tp *topo) routerRules(t *testing.T, rules string) {
	t.Helper()
	if out, err := tp.router.Exec("iptables-restore", []byte(rules)); err != nil {
		t.Fatalf("router iptables-restore: %v: %s", err, out)
	}
}

// routerRules6 loads the router's IPv6 kernel rules.
func (tp *topo) routerRules6(t *testing.T, rules string) {
	t.Helper()
	if out, err := tp.router.Exec("ip6tables-restore", []byte(rules)); err != nil {
		t.Fatalf("router ip6tables-restore: %v: %s", err, out)
	}
}

// daemonProc is a running nfgo run.
type daemonProc struct {
	cmd     *exec.Cmd
	stderr  *bytes.Buffer
	control string
	done    chan error
}

// startDaemon runs nfgo run in the router namespace with the given nfgo
// ruleset and flags, and waits until its control socket answers.
func (tp *topo) startDaemon(t *testing.T, rules string, flags ...string) *daemonProc {
	t.Helper()
	return startNfgo(t, tp.router, tp.dir, rules, flags...)
}

// startNfgo runs nfgo run in ns with the given nfgo ruleset and flags,
// its files (rules, control socket) in dir, and waits until its control
// socket answers.
func startNfgo(t *testing.T, ns *kernel.Netns, dir, rules string, flags ...string) *daemonProc {
	t.Helper()
	bin := buildNfgo(t)
	rulesPath := filepath.Join(dir, "nfgo.rules")
	if err := os.WriteFile(rulesPath, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{stderr: &bytes.Buffer{}, control: filepath.Join(dir, "ctl.sock"), done: make(chan error, 1)}
	args := append([]string{"netns", "exec", ns.Name, bin, "run", "--rules", rulesPath, "--control", d.control}, flags...)
	d.cmd = exec.Command("ip", args...)
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() { d.stop(t) })
	// Up means the control socket answers and the queues are bound
	// (the kernel lists them): the control socket comes up alongside
	// the binding, and a packet queued before it is dropped.
	queues := 1
	for i, f := range flags {
		if f == "--queue" && i+1 < len(flags) {
			if q, err := parseQueues(flags[i+1]); err == nil {
				queues = len(q)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("unix", d.control); err == nil {
			c.Close()
			out, err := ns.Exec("cat /proc/net/netfilter/nfnetlink_queue", nil)
			if bound := strings.TrimSpace(string(out)); err == nil && bound != "" && strings.Count(bound, "\n")+1 >= queues {
				return d
			}
		}
		select {
		case err := <-d.done:
			d.done <- err
			t.Fatalf("nfgo run exited: %v\n%s", err, d.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("nfgo run did not come up:\n%s", d.stderr)
	return nil
}

// kill ends the daemon at once (SIGKILL), as a node that dies.
func (d *daemonProc) kill() {
	d.cmd.Process.Kill()
	err := <-d.done
	d.done <- err
}

// signal sends sig to the daemon.
func (d *daemonProc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// stop ends the daemon with SIGTERM and waits (bounded) for it.
func (d *daemonProc) stop(t *testing.T) {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		t.Errorf("nfgo run did not stop on SIGTERM:\n%s", d.stderr)
	}
}

// command runs an nfgo control command against the daemon.
func (d *daemonProc) command(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(append(args, "--control", d.control), &out, &errb); code != 0 {
		t.Fatalf("nfgo %v: exit %d: %s%s", args, code, out.String(), errb.String())
	}
	return out.String()
}

// dial opens a TCP connection from the client namespace.
func (tp *topo) dial(addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := tp.client.Do(func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, timeout)
		return err
	})
	return c, err
}

// bigBody is what the server's /big serves: 4 MiB of a pattern no
// single corrupted byte leaves intact.
var bigBody = func() []byte {
	b := make([]byte, 4<<20)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}()

// get fetches http://addr/ from the client.
func (tp *topo) get(addr string) (string, error) { return tp.getPath(addr, "/") }

// getPath fetches http://addr+path from the client.
func (tp *topo) getPath(addr, path string) (string, error) {
	cl := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, a string) (net.Conn, error) { return tp.dial(a, 2*time.Second) },
	}}
	resp, err := cl.Get("http://" + addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// udp sends one datagram from the client and returns the answer.
func (tp *topo) udp(addr, msg string) (string, error) {
	var c net.Conn
	if err := tp.client.Do(func() error {
		var err error
		c, err = net.Dial("udp", addr)
		return err
	}); err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

// ping sends one ICMP echo request from the client and reports whether
// the reply came back within a second.
func (tp *topo) ping(dst [4]byte) bool {
	var fd int
	if err := tp.client.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)
		return err
	}); err != nil {
		return false
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(int64(time.Second))
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	req := []byte{8, 0, 0, 0, 0x12, 0x34, 0, 1, 'n', 'f', 'g', 'o'}
	var sum uint32
	for i := 0; i < len(req); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(req[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(req[2:], ^uint16(sum))
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrInet4{Addr: dst}); err != nil {
		return false
	}
	buf := make([]byte, 1500)
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return false
		}
		// The raw socket gets the IP header too.
		if n >= 28 && buf[20] == 0 && binary.BigEndian.Uint16(buf[24:]) == 0x1234 {
			return true
		}
	}
	return false
}

const filterRules = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 7 -m conntrack --ctstate NEW -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 81 -j REJECT --reject-with tcp-reset
-A FORWARD -p udp -m udp --dport 53 -j ACCEPT
-A FORWARD -p udp -m udp --dport 54 -j REJECT --reject-with icmp-port-unreachable
-A FORWARD -p icmp -m icmp --icmp-type 8 -j ACCEPT
COMMIT
`

// TestDaemonFiltersForwardedTraffic is the filtering layout: the kernel
// queues FORWARD to nfgo, whose stateful ruleset passes HTTP, echo, DNS
// and pings, rejects port 81 with a reset and UDP 54 with port
// unreachable (both generated by nfgo and injected), and drops the rest.
func TestDaemonFiltersForwardedTraffic(t *testing.T) {
	tp := newTopo(t)
	tp.routerRules(t, "*filter\n-A FORWARD -j NFQUEUE --queue-num 0\nCOMMIT\n")
	d := tp.startDaemon(t, filterRules)

	if body, err := tp.get("10.2.0.2:80"); err != nil || !strings.HasPrefix(body, "hello 10.1.0.2:") {
		t.Errorf("HTTP through the router: %q, %v; want the page, seen from 10.1.0.2", body, err)
	}
	// Watch the events while a DNS exchange passes.
	ev, err := net.Dial("unix", d.control)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	fmt.Fprintln(ev, "conntrack -E")
	time.Sleep(50 * time.Millisecond)
	if ans, err := tp.udp("10.2.0.2:53", "q"); err != nil || ans != "echo q" {
		t.Errorf("UDP 53: %q, %v", ans, err)
	}
	ev.SetReadDeadline(time.Now().Add(2 * time.Second))
	if line, err := bufio.NewReader(ev).ReadString('\n'); err != nil || !strings.Contains(line, "[NEW] udp") || !strings.Contains(line, "dport=53") {
		t.Errorf("conntrack -E: %q, %v; want the DNS exchange's [NEW] event", line, err)
	}
	if _, err := tp.udp("10.2.0.2:54", "q"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("UDP 54: %v, want ECONNREFUSED from the REJECT's port unreachable", err)
	}
	if _, err := tp.dial("10.2.0.2:81", time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("TCP 81: %v, want ECONNREFUSED from the REJECT's reset", err)
	}
	if c, err := tp.dial("10.2.0.2:82", 500*time.Millisecond); err == nil {
		c.Close()
		t.Error("TCP 82 connected; the policy should drop it")
	}
	if !tp.ping([4]byte{10, 2, 0, 2}) {
		t.Error("ping through the router got no answer")
	}
	// The daemon saw it all: its table lists the HTTP connection, and
	// the counters show the rules that matched.
	if out := d.command(t, "conntrack", "-L"); !strings.Contains(out, "dport=80") {
		t.Errorf("conntrack -L lacks the HTTP connection:\n%s", out)
	}
	if out := d.command(t, "counters"); !strings.Contains(out, "Chain FORWARD (policy DROP") {
		t.Errorf("counters:\n%s", out)
	}
}

// TestReloadUnderTrafficKeepsConnections sends lines over an echo
// connection while the rules are reloaded twice (SIGHUP and nfgo reload),
// and a bad ruleset is refused: every line comes back.
func TestReloadUnderTrafficKeepsConnections(t *testing.T) {
	tp := newTopo(t)
	tp.routerRules(t, "*filter\n-A FORWARD -j NFQUEUE --queue-num 0\nCOMMIT\n")
	d := tp.startDaemon(t, filterRules)
	c, err := tp.dial("10.2.0.2:7", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	for i := range 40 {
		switch i {
		case 10:
			d.signal(t, syscall.SIGHUP)
		case 20:
			d.command(t, "reload")
		case 30:
			// A broken file is refused; the old rules stay.
			os.WriteFile(filepath.Join(tp.dir, "nfgo.rules"), []byte("*filter\n-A FORWARD -j NOSUCHTARGET\nCOMMIT\n"), 0o644)
			var out, errb bytes.Buffer
			if code := run([]string{"reload", "--control", d.control}, &out, &errb); code == 0 {
				t.Errorf("reload of a broken ruleset succeeded: %s", out.String())
			}
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := fmt.Fprintf(c, "line %d\n", i); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		got, err := rd.ReadString('\n')
		if err != nil || !strings.HasPrefix(got, fmt.Sprintf("line %d from", i)) {
			t.Fatalf("line %d came back as %q, %v", i, got, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// natRulesForPath is the router's NAT, done entirely by nfgo: a port
// forward of 10.1.0.1:8080 to the server, and MASQUERADE out of r1.
const natRulesForPath = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.1.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.2.0.2:80
-A POSTROUTING -o r1 -p udp -j SNAT --to-source 10.2.0.1:20000-20010
-A POSTROUTING -o r1 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m conntrack --ctstate NEW -j ACCEPT
-A FORWARD -p udp -m conntrack --ctstate NEW -j ACCEPT
COMMIT
`

// pathPlumbing is the kernel side of the path layout: the kernel's
// conntrack is off for everything, and every packet is queued once,
// where it enters (PREROUTING) or is made (OUTPUT). A source NATed to
// the router's own address must be accepted on the way in (accept_local).
const pathPlumbing = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -j NOTRACK
-A PREROUTING -j NFQUEUE --queue-num 0
-A OUTPUT -j NOTRACK
-A OUTPUT -j NFQUEUE --queue-num 0
COMMIT
`

func newPathTopo(t *testing.T) *topo {
	tp := newTopo(t)
	tp.router.MustExec(t, "sysctl -qw net.ipv4.conf.all.accept_local=1 net.ipv4.conf.r0.accept_local=1 net.ipv4.conf.r1.accept_local=1")
	tp.routerRules(t, pathPlumbing)
	return tp
}

// TestDaemonNATsInUserspace is the path layout: MASQUERADE and a DNAT
// port forward done by nfgo alone, with real TCP and UDP.
func TestDaemonNATsInUserspace(t *testing.T) {
	tp := newPathTopo(t)
	d := tp.startDaemon(t, natRulesForPath, "--mode", "path")
	if body, err := tp.get("10.2.0.2:80"); err != nil || !strings.HasPrefix(body, "hello 10.2.0.1:") {
		t.Errorf("HTTP through MASQUERADE: %q, %v; want the page, seen from the router's 10.2.0.1", body, err)
	}
	if body, err := tp.get("10.1.0.1:8080"); err != nil || !strings.HasPrefix(body, "hello 10.2.0.1:") {
		t.Errorf("HTTP through the port forward: %q, %v", body, err)
	}
	if ans, err := tp.udp("10.2.0.2:53", "q"); err != nil || ans != "echo q" {
		t.Errorf("UDP through MASQUERADE: %q, %v", ans, err)
	}
	out := d.command(t, "conntrack", "-L")
	if !strings.Contains(out, "src=10.1.0.2 dst=10.1.0.1 sport=") || !strings.Contains(out, "dport=8080") {
		t.Errorf("conntrack -L lacks the port forward:\n%s", out)
	}
	// UDP took the SNAT rule: its reply comes to a port of the range.
	if !strings.Contains(out, "src=10.2.0.2 dst=10.2.0.1 sport=53 dport=200") {
		t.Errorf("conntrack -L lacks the SNAT of UDP to 10.2.0.1:20000-20010:\n%s", out)
	}
}

// TestRestartWithSnapshotKeepsTCPAlive stops the daemon in the middle of
// a NATed TCP connection and starts it again from its snapshot: the
// connection goes on, its binding and state restored. Without the
// snapshot its next segment would be a mid-stream NEW, which the rules
// drop.
func TestRestartWithSnapshotKeepsTCPAlive(t *testing.T) {
	tp := newPathTopo(t)
	snap := filepath.Join(tp.dir, "ct.snap")
	d := tp.startDaemon(t, natRulesForPath, "--mode", "path", "--snapshot", snap)
	c, err := tp.dial("10.2.0.2:7", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	say := func(msg string) (string, error) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := fmt.Fprintln(c, msg); err != nil {
			return "", err
		}
		return rd.ReadString('\n')
	}
	if got, err := say("before"); err != nil || !strings.HasPrefix(got, "before from 10.2.0.1:") {
		t.Fatalf("before the restart: %q, %v", got, err)
	}
	d.stop(t)
	if _, err := os.Stat(snap); err != nil {
		t.Fatalf("no snapshot after SIGTERM: %v\n%s", err, d.stderr)
	}
	tp.startDaemon(t, natRulesForPath, "--mode", "path", "--snapshot", snap)
	if got, err := say("after"); err != nil || !strings.HasPrefix(got, "after from 10.2.0.1:") {
		t.Fatalf("after the restart: %q, %v", got, err)
	}
}

// TestQueueBypassWithoutDaemon shows the kernel's rules the docs state:
// with no daemon bound, a queue rule drops, and with --queue-bypass it
// accepts.
func TestQueueBypassWithoutDaemon(t *testing.T) {
	tp := newTopo(t)
	tp.routerRules(t, "*filter\n-A FORWARD -p icmp -j NFQUEUE --queue-num 5\nCOMMIT\n")
	if tp.ping([4]byte{10, 2, 0, 2}) {
		t.Error("ping passed a queue nobody serves, without --queue-bypass")
	}
	tp.routerRules(t, "*filter\n-A FORWARD -p icmp -j NFQUEUE --queue-num 5 --queue-bypass\nCOMMIT\n")
	if !tp.ping([4]byte{10, 2, 0, 2}) {
		t.Error("ping did not pass an unserved queue with --queue-bypass")
	}
}

// TestGSOSuperPacketsThroughUserspaceNAT takes GSO super-packets from
// the queue (--gso): veth hands the router whole 64 KB TCP segments with
// partial checksums. They must not be INVALID, and NAT must rewrite them
// into packets the kernel segments and the client accepts: a 4 MiB
// download through MASQUERADE and the port forward arrives intact.
func TestGSOSuperPacketsThroughUserspaceNAT(t *testing.T) {
	tp := newPathTopo(t)
	d := tp.startDaemon(t, natRulesForPath, "--mode", "path", "--gso")
	for _, addr := range []string{"10.2.0.2:80", "10.1.0.1:8080"} {
		body, err := tp.getPath(addr, "/big")
		if err != nil || !bytes.Equal([]byte(body), bigBody) {
			t.Errorf("download through %s: %d of %d bytes, intact %v, err %v", addr, len(body), len(bigBody), bytes.Equal([]byte(body), bigBody), err)
		}
	}
	// It was GSO: super-packets with partial checksums came, were
	// rewritten, and none was INVALID (the rules would have dropped it).
	out := d.command(t, "stats")
	for _, name := range []string{"nfgo_gso_packets_total", "nfgo_partial_checksum_packets_total", "nfgo_rewritten_packets_total"} {
		if n := metricValue(out, name); n == 0 {
			t.Errorf("%s = 0, want GSO traffic:\n%s", name, out)
		}
	}
	if n := metricValue(out, "nfgo_conntrack_invalid_total"); n != 0 {
		t.Errorf("%d packets INVALID", n)
	}
}

// TestDaemonOffloadsEstablishedConnections is the path layout with
// --flow-offload, the rules offload allows (ESTABLISHED accepted first):
// 4 MiB downloads through MASQUERADE (IPv4 and IPv6) and the port
// forward arrive intact, most of their packets forwarded by the fast
// path, none INVALID.
func TestDaemonOffloadsEstablishedConnections(t *testing.T) {
	tp := newPathTopo(t)
	tp.routerRules6(t, pathPlumbing)
	rules6 := filepath.Join(tp.dir, "nfgo.rules6")
	os.WriteFile(rules6, []byte(masqRules6), 0o644)
	d := tp.startDaemon(t, natRulesForPath, "--mode", "path", "--flow-offload", "--rules6", rules6)
	offloaded := func() uint64 { return metricValue(d.command(t, "stats"), "nfgo_offloaded_packets_total") }
	for _, addr := range []string{"10.2.0.2:80", "10.1.0.1:8080", "[fd02::2]:80"} {
		before := offloaded()
		body, err := tp.getPath(addr, "/big")
		if err != nil || !bytes.Equal([]byte(body), bigBody) {
			t.Errorf("download through %s: %d of %d bytes, intact %v, err %v", addr, len(body), len(bigBody), bytes.Equal([]byte(body), bigBody), err)
		}
		if n := offloaded() - before; n < 1000 {
			t.Errorf("download through %s: %d packets offloaded, want most of its ~3,900", addr, n)
		}
	}
	if ans, err := tp.udp("10.2.0.2:53", "q"); err != nil || ans != "echo q" {
		t.Errorf("UDP through MASQUERADE: %q, %v", ans, err)
	}
	out := d.command(t, "stats")
	// The downloads are some 11,700 packets; all but the handshakes' and
	// closes' can be offloaded.
	if n, all := metricValue(out, "nfgo_offloaded_packets_total"), metricValue(out, "nfgo_packets_total"); n < 1000 || n*2 < all {
		t.Errorf("%d of %d packets offloaded, want most of them:\n%s", n, all, out)
	}
	if n := metricValue(out, "nfgo_conntrack_invalid_total"); n != 0 {
		t.Errorf("%d packets INVALID", n)
	}
	// It said at start that the rules allow offload.
	d.stop(t)
	if log := d.stderr.String(); strings.Count(log, "flow offload: the rules allow it") != 2 {
		t.Errorf("the daemon's log does not say, for IPv4 and IPv6, that the rules allow offload:\n%s", log)
	}
}

// masqRules6 is the IPv6 ruleset of the path layout: MASQUERADE out of
// r1 and a stateful FORWARD that admits new TCP connections.
const masqRules6 = `*nat
-A POSTROUTING -o r1 -j MASQUERADE
COMMIT
*filter
:FORWARD DROP [0:0]
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -p tcp -m tcp --syn -m conntrack --ctstate NEW -j ACCEPT
COMMIT
`

// metricValue returns a sample's value from Prometheus text (0 if absent).
func metricValue(text, name string) uint64 {
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == name {
			var v uint64
			fmt.Sscan(f[1], &v)
			return v
		}
	}
	return 0
}

const filterRules6 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 81 -j REJECT --reject-with tcp-reset
COMMIT
`

// TestDaemonServesSeveralQueuesAndIPv6 balances forwarded traffic over
// two queues (--queue 0:1, one goroutine each, one conntrack table) and
// filters IPv6 as well: HTTP over both families passes from four client
// addresses, and IPv6 port 81 is rejected with a reset nfgo injects.
func TestDaemonServesSeveralQueuesAndIPv6(t *testing.T) {
	tp := newTopo(t)
	for i := 3; i <= 5; i++ {
		tp.client.MustExec(t, fmt.Sprintf("ip addr add 10.1.0.%d/24 dev c0", i))
	}
	tp.routerRules(t, "*filter\n-A FORWARD -j NFQUEUE --queue-balance 0:1\nCOMMIT\n")
	tp.routerRules6(t, "*filter\n-A FORWARD -j NFQUEUE --queue-balance 0:1\nCOMMIT\n")
	rules6 := filepath.Join(tp.dir, "nfgo.rules6")
	os.WriteFile(rules6, []byte(filterRules6), 0o644)
	d := tp.startDaemon(t, filterRules, "--queue", "0:1", "--rules6", rules6)
	for i := 2; i <= 5; i++ {
		src := fmt.Sprintf("10.1.0.%d", i)
		var c net.Conn
		err := tp.client.Do(func() error {
			var err error
			dl := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
			c, err = dl.Dial("tcp", "10.2.0.2:7")
			return err
		})
		if err != nil {
			t.Errorf("from %s: %v", src, err)
			continue
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintln(c, "hi")
		if got, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(got, "hi from "+src+":") {
			t.Errorf("echo from %s: %q, %v", src, got, err)
		}
		c.Close()
	}
	if body, err := tp.get("[fd02::2]:80"); err != nil || !strings.HasPrefix(body, "hello [fd01::2]:") {
		t.Errorf("HTTP over IPv6: %q, %v", body, err)
	}
	if _, err := tp.dial("[fd02::2]:81", time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("IPv6 TCP 81: %v, want ECONNREFUSED from the REJECT's reset", err)
	}
	// Both queues served packets.
	out := d.command(t, "stats")
	if !strings.Contains(out, "nfgo_kernel_queue_dropped_total{queue=\"0\"} 0") || !strings.Contains(out, "nfgo_kernel_queue_dropped_total{queue=\"1\"} 0") {
		t.Errorf("stats lack both queues:\n%s", out)
	}
}

// eachHookPlumbing is the kernel side of the each-hook layout: the
// kernel's conntrack off, and a queue at every hook.
const eachHookPlumbing = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -j NOTRACK
-A OUTPUT -j NOTRACK
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -j NFQUEUE --queue-num 0
-A INPUT -j NFQUEUE --queue-num 0
-A FORWARD -j NFQUEUE --queue-num 0
-A OUTPUT -j NFQUEUE --queue-num 0
-A POSTROUTING -j NFQUEUE --queue-num 0
COMMIT
`

// TestDaemonNATsAtEachHook is the other full-NAT layout: a queue at every
// hook, the kernel's conntrack off, nfgo carrying each packet's
// connection from PREROUTING through FORWARD to POSTROUTING. MASQUERADE,
// the port forward and a stateful FORWARD policy work with real TCP and
// UDP, and a 4 MiB download arrives intact.
func TestDaemonNATsAtEachHook(t *testing.T) {
	tp := newTopo(t)
	tp.routerRules(t, eachHookPlumbing)
	d := tp.startDaemon(t, natRulesForPath, "--mode", "each-hook")
	if body, err := tp.get("10.2.0.2:80"); err != nil || !strings.HasPrefix(body, "hello 10.2.0.1:") {
		t.Errorf("HTTP through MASQUERADE: %q, %v", body, err)
	}
	if body, err := tp.get("10.1.0.1:8080"); err != nil || !strings.HasPrefix(body, "hello 10.2.0.1:") {
		t.Errorf("HTTP through the port forward: %q, %v", body, err)
	}
	if ans, err := tp.udp("10.2.0.2:53", "q"); err != nil || ans != "echo q" {
		t.Errorf("UDP through MASQUERADE: %q, %v", ans, err)
	}
	if body, err := tp.getPath("10.2.0.2:80", "/big"); err != nil || body != string(bigBody) {
		t.Errorf("download: %d of %d bytes, %v", len(body), len(bigBody), err)
	}
	// A mid-stream packet of no connection is NEW and not a SYN: the
	// FORWARD policy drops it (checked through the daemon's counters).
	out := d.command(t, "stats")
	if n := metricValue(out, "nfgo_packets_total"); n == 0 {
		t.Errorf("no packets judged:\n%s", out)
	}
	if out := d.command(t, "conntrack", "-L"); !strings.Contains(out, "dport=8080") || !strings.Contains(out, "[ASSURED]") {
		t.Errorf("conntrack -L:\n%s", out)
	}
}

// TestSecondDaemonOnABoundQueueExplains starts a second nfgo run on the
// queue the first one holds: it must exit with a message that says so.
func TestSecondDaemonOnABoundQueueExplains(t *testing.T) {
	tp := newTopo(t)
	tp.routerRules(t, "*filter\n-A FORWARD -j NFQUEUE --queue-num 0\nCOMMIT\n")
	tp.startDaemon(t, filterRules)
	rules := filepath.Join(tp.dir, "nfgo.rules")
	cmd := exec.Command("ip", "netns", "exec", tp.router.Name, buildNfgo(t), "run", "--rules", rules, "--control", "")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "bound by another process") {
			t.Errorf("second daemon: %v, stderr %q; want exit 1 saying the queue is bound by another process", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the second daemon did not exit")
	}
}

// TestDaemonNATsIPv6InUserspace is the path layout over IPv6: MASQUERADE
// of the client's fd01::2 to the router's fd02::1, by nfgo alone.
func TestDaemonNATsIPv6InUserspace(t *testing.T) {
	tp := newPathTopo(t)
	tp.routerRules6(t, pathPlumbing)
	rules6 := filepath.Join(tp.dir, "nfgo.rules6")
	os.WriteFile(rules6, []byte(masqRules6), 0o644)
	tp.startDaemon(t, natRulesForPath, "--mode", "path", "--rules6", rules6)
	if body, err := tp.get("[fd02::2]:80"); err != nil || !strings.HasPrefix(body, "hello [fd02::1]:") {
		t.Errorf("HTTP over IPv6 through MASQUERADE: %q, %v; want it seen from the router's fd02::1", body, err)
	}
}

// TestDaemonJudgesTruncatedCopies runs with --copy-range 80: the kernel
// copies only the headers of larger packets, and nfgo judges them by
// those, answering without a payload, so the 4 MiB download and the
// stateful rules still work.
func TestDaemonJudgesTruncatedCopies(t *testing.T) {
	tp := newTopo(t)
	tp.routerRules(t, "*filter\n-A FORWARD -j NFQUEUE --queue-num 0\nCOMMIT\n")
	tp.startDaemon(t, filterRules, "--copy-range", "80")
	if body, err := tp.getPath("10.2.0.2:80", "/big"); err != nil || body != string(bigBody) {
		t.Errorf("download with headers-only copies: %d of %d bytes, %v", len(body), len(bigBody), err)
	}
	if c, err := tp.dial("10.2.0.2:82", 500*time.Millisecond); err == nil {
		c.Close()
		t.Error("TCP 82 connected; the policy should drop it")
	}
}
