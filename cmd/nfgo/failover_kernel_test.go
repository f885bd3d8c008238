package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/kernel"
)

// The failover tests put two routers between the client and the server,
// on shared bridges, with a sync link between them:
//
//	                 ┌─ lan0 10.1.0.11  router A  wan0 10.2.0.11 ─┐
//	client 10.1.0.2 ─┤br0          sync0 10.99.0.1               ├─br1─ server 10.2.0.2
//	                 │               ║                            │
//	                 └─ lan0 10.1.0.12  router B  wan0 10.2.0.12 ─┘
//	                              sync0 10.99.0.2
//
// The active router holds the virtual addresses, 10.1.0.1 (the client's
// gateway) and 10.2.0.1 (the source the routers SNAT to, to a port of
// 20000-20999), as keepalived would. A router is nfgo in the path layout
// or the kernel with a stock conntrackd; both take the same ruleset,
// which lets a TCP connection start only with a SYN, so a router that
// does not know a connection stalls it. A failover is what keepalived
// and its conntrackd notify script do: the active node dies (its process
// killed, its links down), the backup commits its external cache and
// takes the addresses, and its gratuitous ARP updates the neighbours
// (done here with ip neigh replace).

// haRules is both routers' ruleset.
const haRules = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o wan0 -p tcp -j SNAT --to-source 10.2.0.1:20000-20999
-A POSTROUTING -o wan0 -p udp -j SNAT --to-source 10.2.0.1:20000-20999
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m conntrack --ctstate NEW -j ACCEPT
-A FORWARD -p udp -m conntrack --ctstate NEW -j ACCEPT
COMMIT
`

// haPlumbing queues an nfgo router's packets in the path layout; the
// sync link stays the kernel's.
const haPlumbing = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -i sync0 -j ACCEPT
-A PREROUTING -j NOTRACK
-A PREROUTING -j NFQUEUE --queue-num 0
-A OUTPUT -o sync0 -j ACCEPT
-A OUTPUT -j NOTRACK
-A OUTPUT -j NFQUEUE --queue-num 0
COMMIT
`

type haRouter struct {
	name, kind string // "a" or "b"; "nfgo" or "kernel"
	rules      string // its ruleset
	ns         *kernel.Netns
	dir        string
	conf       string      // its conntrackd.conf
	nfgo       *daemonProc // kind nfgo
	conntrackd *exec.Cmd   // kind kernel, with sync
	lanMAC     string
	wanMAC     string
}

type haTopo struct {
	*topo
	a, b *haRouter
}

// newHATopo builds the topology; kinds are router A's and B's ("nfgo"
// or "kernel"); with sync, each syncs with the other in FTFW mode. A is
// active.
func newHATopo(t *testing.T, kindA, kindB string, sync bool) *haTopo {
	t.Helper()
	return newHATopoWith(t, kindA, kindB, sync, haRules, "")
}

// newHATopoWith is newHATopo with the routers' ruleset and extra lines
// for the Sync section of their conntrackd.conf.
func newHATopoWith(t *testing.T, kindA, kindB string, sync bool, rules, syncOptions string) *haTopo {
	t.Helper()
	kernel.Require(t, "ip", "iptables-restore", "conntrack", "conntrackd")
	tp := &haTopo{topo: &topo{client: kernel.NewNetns(t, "client"), server: kernel.NewNetns(t, "server"), dir: t.TempDir()}}
	tp.client.MustExec(t, "ip link add br0 type bridge && ip link set br0 up && ip addr add 10.1.0.2/24 dev br0 && ip route add default via 10.1.0.1")
	tp.server.MustExec(t, "ip link add br1 type bridge && ip link set br1 up && ip addr add 10.2.0.2/24 dev br1 && ip addr add fd02::2/64 dev br1 nodad")
	tp.a = tp.router(t, "a", kindA, 11)
	tp.b = tp.router(t, "b", kindB, 12)
	tp.a.rules, tp.b.rules = rules, rules
	kernel.Veth(t, tp.a.ns, "sync0", "10.99.0.1/24", tp.b.ns, "sync0", "10.99.0.2/24")
	tp.serve(t)
	tp.takeAddresses(t, tp.a)
	for _, r := range []*haRouter{tp.a, tp.b} {
		r.conf = r.syncConf(t, map[string]string{"a": "10.99.0.1", "b": "10.99.0.2"}[r.name], map[string]string{"a": "10.99.0.2", "b": "10.99.0.1"}[r.name], syncOptions)
	}
	for _, r := range []*haRouter{tp.a, tp.b} {
		r.start(t, sync)
	}
	return tp
}

// router makes router name of the given kind, its host addresses ending
// in host.
func (tp *haTopo) router(t *testing.T, name, kind string, host int) *haRouter {
	t.Helper()
	r := &haRouter{name: name, kind: kind, ns: kernel.NewNetns(t, "router-"+name), dir: filepath.Join(tp.dir, name)}
	if err := os.Mkdir(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kernel.Veth(t, tp.client, "c"+name, "", r.ns, "lan0", fmt.Sprintf("10.1.0.%d/24", host))
	kernel.Veth(t, tp.server, "s"+name, "", r.ns, "wan0", fmt.Sprintf("10.2.0.%d/24", host))
	tp.client.MustExec(t, "ip link set c"+name+" master br0")
	tp.server.MustExec(t, "ip link set s"+name+" master br1")
	r.ns.MustExec(t, "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.all.accept_local=1 net.netfilter.nf_conntrack_tcp_loose=1")
	r.lanMAC = strings.TrimSpace(string(mustOut(t, r.ns, "cat /sys/class/net/lan0/address")))
	r.wanMAC = strings.TrimSpace(string(mustOut(t, r.ns, "cat /sys/class/net/wan0/address")))
	return r
}

func mustOut(t *testing.T, ns *kernel.Netns, script string) []byte {
	t.Helper()
	out, err := ns.Exec(script, nil)
	if err != nil {
		t.Fatalf("in %s: %s: %v: %s", ns.Name, script, err, out)
	}
	return out
}

// syncConf writes the router's conntrackd.conf: FTFW on sync0.
func (r *haRouter) syncConf(t *testing.T, local, peer, options string) string {
	t.Helper()
	conf := fmt.Sprintf(`Sync {
	Mode FTFW {
		DisableExternalCache off
		StartupResync on
	}
	UDP {
		IPv4_address %s
		IPv4_Destination_Address %s
		Port 3780
		Interface sync0
		Checksum on
	}
%s}
General {
	HashSize 8192
	HashLimit 65536
	LogFile %s
	Syslog off
	LockFile %s
	UNIX {
		Path %s
	}
	Filter From Kernelspace {
		Address Ignore {
			IPv4_address 127.0.0.1
			IPv4_address 10.99.0.1
			IPv4_address 10.99.0.2
		}
	}
}
`, local, peer, options, filepath.Join(r.dir, "conntrackd.log"), filepath.Join(r.dir, "conntrackd.lock"), filepath.Join(r.dir, "conntrackd.ctl"))
	path := filepath.Join(r.dir, "conntrackd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// start runs the router: nfgo run in the path layout, or the kernel's
// rules and, with sync, conntrackd.
func (r *haRouter) start(t *testing.T, sync bool) {
	t.Helper()
	if r.kind == "nfgo" {
		if out, err := r.ns.Exec("iptables-restore", []byte(haPlumbing)); err != nil {
			t.Fatalf("router %s plumbing: %v: %s", r.name, err, out)
		}
		flags := []string{"--mode", "path"}
		if sync {
			flags = append(flags, "--sync", r.conf)
		}
		r.nfgo = startNfgo(t, r.ns, r.dir, r.rules, flags...)
		return
	}
	if out, err := r.ns.Exec("iptables-restore", []byte(r.rules)); err != nil {
		t.Fatalf("router %s rules: %v: %s", r.name, err, out)
	}
	if !sync {
		return
	}
	r.ns.MustExec(t, "sysctl -qw net.netfilter.nf_conntrack_events=1")
	cmd := exec.Command("ip", "netns", "exec", r.ns.Name, "conntrackd", "-C", r.conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.conntrackd = cmd
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(r.dir, "conntrackd.log"))
			t.Logf("router %s conntrackd output: %s\nlog: %s", r.name, out.Bytes(), log)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(r.dir, "conntrackd.ctl")); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("router %s: conntrackd did not come up: %s", r.name, out.Bytes())
}

// external lists the router's external cache: nfgo sync external, or
// conntrackd -e.
func (r *haRouter) external(t *testing.T) string {
	t.Helper()
	if r.kind == "nfgo" {
		return r.nfgo.command(t, "sync", "external")
	}
	out, err := r.ns.Exec("conntrackd -C "+r.conf+" -e", nil)
	if err != nil {
		t.Fatalf("conntrackd -e: %v: %s", err, out)
	}
	return string(out)
}

// externalExpect lists the router's external expectations: nfgo sync
// external expect, or conntrackd -e expect.
func (r *haRouter) externalExpect(t *testing.T) string {
	t.Helper()
	if r.kind == "nfgo" {
		return r.nfgo.command(t, "sync", "external", "expect")
	}
	out, err := r.ns.Exec("conntrackd -C "+r.conf+" -e expect", nil)
	if err != nil {
		t.Fatalf("conntrackd -e expect: %v: %s", err, out)
	}
	return string(out)
}

// table lists the router's connections and expectations.
func (r *haRouter) table(t *testing.T) string {
	t.Helper()
	if r.kind == "nfgo" {
		return r.nfgo.command(t, "conntrack", "-L") + r.nfgo.command(t, "conntrack", "-L", "expect")
	}
	out, _ := r.ns.Exec("conntrack -L 2>&1; conntrack -L expect 2>&1", nil)
	return string(out)
}

// commit is the notify script's conntrackd -c (nfgo sync commit).
func (r *haRouter) commit(t *testing.T) {
	t.Helper()
	if r.kind == "nfgo" {
		r.nfgo.command(t, "sync", "commit")
		return
	}
	if out, err := r.ns.Exec("conntrackd -C "+r.conf+" -c", nil); err != nil {
		t.Fatalf("conntrackd -c: %v: %s", err, out)
	}
	if out, err := r.ns.Exec("conntrackd -C "+r.conf+" -c expect", nil); err != nil {
		t.Fatalf("conntrackd -c expect: %v: %s", err, out)
	}
}

// die kills the router's process and takes its links down, as a node
// that loses power.
func (r *haRouter) die(t *testing.T) {
	t.Helper()
	if r.nfgo != nil {
		r.nfgo.kill()
	}
	if r.conntrackd != nil {
		r.conntrackd.Process.Kill()
	}
	r.ns.MustExec(t, "ip link set lan0 down; ip link set wan0 down; ip link set sync0 down")
}

// revive brings a dead nfgo router back as the backup: its links up
// without the virtual addresses, and nfgo run started again, which asks
// its peer for the table (StartupResync).
func (r *haRouter) revive(t *testing.T) {
	t.Helper()
	r.ns.MustExec(t, "ip addr del 10.1.0.1/24 dev lan0; ip addr del 10.2.0.1/24 dev wan0; ip link set lan0 up; ip link set wan0 up; ip link set sync0 up")
	r.nfgo = startNfgo(t, r.ns, r.dir, r.rules, "--mode", "path", "--sync", r.conf)
}

// takeAddresses gives r the virtual addresses and points the
// neighbours at it, as keepalived's gratuitous ARP does.
func (tp *haTopo) takeAddresses(t *testing.T, r *haRouter) {
	t.Helper()
	r.ns.MustExec(t, "ip addr add 10.1.0.1/24 dev lan0 && ip addr add 10.2.0.1/24 dev wan0")
	tp.client.MustExec(t, "ip neigh replace 10.1.0.1 lladdr "+r.lanMAC+" dev br0 nud reachable")
	tp.server.MustExec(t, "ip neigh replace 10.2.0.1 lladdr "+r.wanMAC+" dev br1 nud reachable")
}

// echoSession is a TCP session with the server's echo service.
type echoSession struct {
	c  net.Conn
	rd *bufio.Reader
}

func (tp *topo) echoSession(t *testing.T) *echoSession {
	t.Helper()
	c, err := tp.dial("10.2.0.2:7", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &echoSession{c: c, rd: bufio.NewReader(c)}
}

// say sends a line and returns the address the server saw it from.
func (e *echoSession) say(msg string, wait time.Duration) (string, error) {
	e.c.SetDeadline(time.Now().Add(wait))
	if _, err := fmt.Fprintln(e.c, msg); err != nil {
		return "", err
	}
	return e.hear(msg, wait)
}

// hear reads the echo of msg and returns the address the server saw it
// from.
func (e *echoSession) hear(msg string, wait time.Duration) (string, error) {
	e.c.SetDeadline(time.Now().Add(wait))
	line, err := e.rd.ReadString('\n')
	if err != nil {
		return "", err
	}
	from, ok := strings.CutPrefix(strings.TrimSpace(line), msg+" from ")
	if !ok {
		return "", fmt.Errorf("echo %q for %q", line, msg)
	}
	return from, nil
}

// waitExternal waits until the router's external cache lists a
// connection with all of the given fields.
func (r *haRouter) waitExternal(t *testing.T, fields ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var list string
	for time.Now().Before(deadline) {
		list = r.external(t)
		for _, line := range strings.Split(list, "\n") {
			all := true
			for _, f := range fields {
				all = all && strings.Contains(line, f)
			}
			if all {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("router %s's external cache never listed %q:\n%s", r.name, fields, list)
}

// udpSession is a UDP flow with the server's :55, which answers with
// the address it saw.
type udpSession struct{ c net.Conn }

func (tp *haTopo) udpSession(t *testing.T) *udpSession {
	t.Helper()
	var c net.Conn
	if err := tp.client.Do(func() (err error) {
		c, err = net.Dial("udp", "10.2.0.2:55")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpSession{c: c}
}

// ping sends msg until it is answered (UDP has no retransmission of its
// own: a datagram sent while no router holds the addresses is lost), at
// most tries times, and returns the address the server saw.
func (u *udpSession) ping(msg string, tries int) (string, error) {
	buf := make([]byte, 2048)
	var err error
	for range tries {
		u.c.SetDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err = u.c.Write([]byte(msg)); err != nil {
			continue
		}
		for {
			var n int
			if n, err = u.c.Read(buf); err != nil {
				break
			}
			// A late answer to an earlier try is not this one's.
			if from, ok := strings.CutPrefix(string(buf[:n]), msg+" from "); ok {
				return from, nil
			}
		}
	}
	return "", err
}

// sessions are the flows that must survive a failover, with the address
// and port the server saw each from before it.
type sessions struct {
	tcp       *echoSession
	tcpFrom   string
	udp       *udpSession // nil: TCP only
	udpFrom   string
	failovers int
}

// openSessions opens a TCP session (and, with udp, a UDP flow) through
// A and waits until B's external cache has them.
func (tp *haTopo) openSessions(t *testing.T, udp bool) *sessions {
	t.Helper()
	ss := &sessions{tcp: tp.echoSession(t)}
	var err error
	if ss.tcpFrom, err = ss.tcp.say("hello", 3*time.Second); err != nil {
		t.Fatalf("TCP through A: %v", err)
	}
	if !strings.HasPrefix(ss.tcpFrom, "10.2.0.1:20") {
		t.Fatalf("the server saw %s; want the SNAT address 10.2.0.1 and a port of 20000-20999", ss.tcpFrom)
	}
	// conntrackd -e shows no reply tuple, so no NAT port: the echoes
	// check that.
	tp.b.waitExternal(t, "dport=7", "ESTABLISHED")
	if udp {
		ss.udp = tp.udpSession(t)
		if ss.udpFrom, err = ss.udp.ping("hello", 5); err != nil {
			t.Fatalf("UDP through A: %v", err)
		}
		if !strings.HasPrefix(ss.udpFrom, "10.2.0.1:20") {
			t.Fatalf("the server saw UDP from %s; want 10.2.0.1 and a port of 20000-20999", ss.udpFrom)
		}
		tp.b.waitExternal(t, "udp", "dport=55")
	}
	return ss
}

// failoverDuring runs 30 echoes on the sessions, runs failover with the
// eleventh TCP echo in flight, and checks that every echo comes back,
// seen from the same NAT address and port as before.
func (ss *sessions) failoverDuring(t *testing.T, failover func()) {
	t.Helper()
	ss.failovers++
	for i := range 30 {
		msg := fmt.Sprintf("echo %d.%d", ss.failovers, i)
		var got string
		var err error
		if i == 10 {
			ss.tcp.c.SetDeadline(time.Now().Add(15 * time.Second))
			fmt.Fprintln(ss.tcp.c, msg)
			failover()
			got, err = ss.tcp.hear(msg, 15*time.Second)
		} else {
			got, err = ss.tcp.say(msg, 15*time.Second)
		}
		if err != nil {
			t.Fatalf("TCP %s (failover %d began at echo 10): %v", msg, ss.failovers, err)
		}
		if got != ss.tcpFrom {
			t.Fatalf("TCP %s: the server saw %s, before %s: the NAT binding changed", msg, got, ss.tcpFrom)
		}
		if ss.udp != nil {
			got, err := ss.udp.ping(msg, 30)
			if err != nil {
				t.Fatalf("UDP %s (failover %d began at echo 10): %v", msg, ss.failovers, err)
			}
			if got != ss.udpFrom {
				t.Fatalf("UDP %s: the server saw %s, before %s: the NAT binding changed", msg, got, ss.udpFrom)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// failoverTCP fails A over to B in the middle of a TCP echo session.
func (tp *haTopo) failoverTCP(t *testing.T) {
	t.Helper()
	ss := tp.openSessions(t, false)
	ss.failoverDuring(t, func() {
		tp.a.die(t)
		tp.b.commit(t)
		tp.takeAddresses(t, tp.b)
	})
}

// TestFailoverNfgoToConntrackd: A is nfgo, syncing over FTFW to B, a
// kernel with a stock conntrackd, which takes over.
func TestFailoverNfgoToConntrackd(t *testing.T) {
	tp := newHATopo(t, "nfgo", "kernel", true)
	tp.failoverTCP(t)
}

// TestFailoverConntrackdToNfgo: A is the kernel with conntrackd, B is
// nfgo, which takes over.
func TestFailoverConntrackdToNfgo(t *testing.T) {
	tp := newHATopo(t, "kernel", "nfgo", true)
	tp.failoverTCP(t)
	// What B counted: conntrackd's messages, the connection received.
	stats := tp.b.nfgo.command(t, "sync", "stats")
	for _, want := range []string{"cache internal:", "cache external:", "UDP traffic (active device=sync0):", "message tracking:"} {
		if !strings.Contains(stats, want) {
			t.Errorf("nfgo sync stats lacks %q:\n%s", want, stats)
		}
	}
	metrics := tp.b.nfgo.command(t, "stats")
	if metricValue(metrics, `nfgo_sync_changes_received_total{kind="new"}`)+metricValue(metrics, `nfgo_sync_changes_received_total{kind="update"}`) == 0 ||
		metricValue(metrics, "nfgo_sync_messages_received_total") == 0 {
		t.Errorf("the sync metrics show nothing received:\n%s", metrics)
	}
}

// TestFailoverNfgoToNfgo: both routers are nfgo, with a TCP session and
// a UDP flow. A fails over to B; A comes back as the backup, gets the
// table from B (StartupResync), and B fails back to A.
func TestFailoverNfgoToNfgo(t *testing.T) {
	tp := newHATopo(t, "nfgo", "nfgo", true)
	ss := tp.openSessions(t, true)
	ss.failoverDuring(t, func() {
		tp.a.die(t)
		tp.b.commit(t)
		tp.takeAddresses(t, tp.b)
	})
	tp.a.revive(t)
	tp.a.waitExternal(t, "dport=7", "ESTABLISHED")
	tp.a.waitExternal(t, "udp", "dport=55")
	ss.failoverDuring(t, func() {
		tp.b.die(t)
		tp.a.commit(t)
		tp.takeAddresses(t, tp.a)
	})
}

// TestFailoverWithoutSyncStalls is the control: the same failover with
// sync off leaves B without the connection, and the session stalls.
func TestFailoverWithoutSyncStalls(t *testing.T) {
	for _, kind := range []string{"kernel", "nfgo"} {
		t.Run(kind, func(t *testing.T) {
			tp := newHATopo(t, "nfgo", kind, false)
			e := tp.echoSession(t)
			if _, err := e.say("hello", 3*time.Second); err != nil {
				t.Fatalf("through A: %v", err)
			}
			tp.a.die(t)
			tp.takeAddresses(t, tp.b)
			if from, err := e.say("after", 4*time.Second); err == nil {
				t.Fatalf("the session went on through B without sync (seen from %s)", from)
			}
		})
	}
}

// haFTPRules admit new TCP connections only to port 21, and the data
// connections only as RELATED by the FTP helper.
const haFTPRules = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o wan0 -p tcp -j SNAT --to-source 10.2.0.1:20000-20999
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT
-A FORWARD -m conntrack --ctstate RELATED -m helper --helper ftp -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 21 --tcp-flags FIN,SYN,RST,ACK SYN -m conntrack --ctstate NEW -j ACCEPT
COMMIT
`

// ftpControl is an FTP control connection from the client.
type ftpControl struct {
	c  net.Conn
	rd *bufio.Reader
}

// cmd sends an FTP command (none for "") and returns the final reply.
func (f *ftpControl) cmd(line string) (string, error) {
	f.c.SetDeadline(time.Now().Add(10 * time.Second))
	if line != "" {
		if _, err := fmt.Fprintf(f.c, "%s\r\n", line); err != nil {
			return "", err
		}
	}
	for {
		l, err := f.rd.ReadString('\n')
		if err != nil {
			return "", err
		}
		if len(l) >= 4 && l[3] == ' ' {
			return strings.TrimSpace(l), nil
		}
	}
}

// TestFailoverKeepsFTPRelated: nfgo to nfgo with ExpectationSync. The
// client logs in and asks for a passive data port through A; A fails
// over to B; the client then opens the data connection, which B admits
// only as RELATED to the control connection, by the expectation A's FTP
// helper made and the sync carried, and the file comes through. Without
// ExpectationSync, B has the control connection but not the
// expectation, and the data connection is refused.
func TestFailoverKeepsFTPRelated(t *testing.T) {
	for _, tc := range []struct {
		a, b   string
		expect bool
	}{{"nfgo", "nfgo", true}, {"kernel", "nfgo", true}, {"nfgo", "kernel", true}, {"nfgo", "nfgo", false}} {
		expect := tc.expect
		name := tc.a + "-to-" + tc.b
		if !expect {
			name = "control"
		}
		t.Run(name, func(t *testing.T) {
			opts := ""
			if expect {
				opts = "\tOptions {\n\t\tExpectationSync {\n\t\t\tftp\n\t\t}\n\t}\n"
			}
			tp := newHATopoWith(t, tc.a, tc.b, true, haFTPRules, opts)
			startVsftpd(t, tp.topo)
			c, err := tp.dial("10.2.0.2:21", 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			f := &ftpControl{c: c, rd: bufio.NewReader(c)}
			for _, step := range []struct{ cmd, want string }{{"", "220"}, {"USER anonymous", "230"}, {"TYPE I", "200"}} {
				if got, err := f.cmd(step.cmd); err != nil || !strings.HasPrefix(got, step.want) {
					t.Fatalf("%q: %q, %v", step.cmd, got, err)
				}
			}
			reply, err := f.cmd("PASV")
			var h1, h2, h3, h4, p1, p2 int
			if err == nil {
				_, err = fmt.Sscanf(reply[strings.IndexByte(reply, '(')+1:], "%d,%d,%d,%d,%d,%d", &h1, &h2, &h3, &h4, &p1, &p2)
			}
			if err != nil {
				t.Fatalf("PASV: %q, %v", reply, err)
			}
			dataAddr := fmt.Sprintf("%d.%d.%d.%d:%d", h1, h2, h3, h4, p1<<8|p2)
			if expect {
				tp.b.waitExternal(t, "dport=21", "ESTABLISHED")
				kernel.WaitFor(t, "the expectation on B", func() bool {
					return strings.Contains(tp.b.externalExpect(t), fmt.Sprintf("dport=%d", p1<<8|p2))
				})
			} else {
				tp.b.waitExternal(t, "dport=21", "ESTABLISHED")
			}
			tp.a.die(t)
			tp.b.commit(t)
			tp.takeAddresses(t, tp.b)
			data, err := tp.dial(dataAddr, 4*time.Second)
			if !expect {
				if err == nil {
					data.Close()
					t.Fatal("B admitted the data connection without the expectation")
				}
				return
			}
			if err != nil {
				t.Fatalf("the data connection through B: %v\nB's table:\n%s", err, tp.b.table(t))
			}
			defer data.Close()
			if got, err := f.cmd("RETR file"); err != nil || !strings.HasPrefix(got, "150") {
				t.Fatalf("RETR: %q, %v", got, err)
			}
			data.SetDeadline(time.Now().Add(10 * time.Second))
			body, err := io.ReadAll(data)
			if err != nil || string(body) != fileBody {
				t.Fatalf("the file through B: %d bytes of %d, %v", len(body), len(fileBody), err)
			}
			if got, err := f.cmd(""); err != nil || !strings.HasPrefix(got, "226") {
				t.Errorf("after the transfer: %q, %v", got, err)
			}
			if list := tp.b.table(t); !strings.Contains(list, fmt.Sprintf("dport=%d", p1<<8|p2)) {
				t.Errorf("B's table lacks the data connection:\n%s", list)
			}
		})
	}
}
