package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketRules accept the router's own TCP by the sockets it has: a
// listener on 9000 and 9004, a transparent one on 9003, none on 9002.
const socketRules = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m multiport --dports 9003,9004 -m socket --transparent -j ACCEPT
-A INPUT -p tcp -m multiport --dports 9003,9004 -j DROP
-A INPUT -p tcp -m socket -j ACCEPT
COMMIT
`

// TestDaemonFindsTheKernelsSockets runs -m socket under nfgo run, which
// asks the kernel through sock_diag: a connection to a listener passes
// (its SYN finds the listener, its handshake's ACK the request socket,
// the rest the connection), one to a port without a socket is dropped
// rather than reset, and --transparent tells a transparent listener
// from a plain one, for the request socket too.
func TestDaemonFindsTheKernelsSockets(t *testing.T) {
	tp := newTopo(t)
	tp.routerListen(t, 9000, false)
	tp.routerListen(t, 9003, true)
	tp.routerListen(t, 9004, false)
	tp.routerRules(t, "*filter\n-A INPUT -p tcp -j NFQUEUE --queue-num 0\nCOMMIT\n")
	d := tp.startDaemon(t, socketRules)

	// talk connects to port, sends a line and reads the answer.
	talk := func(port int) (string, error) {
		c, err := tp.dial(fmt.Sprintf("10.1.0.1:%d", port), time.Second)
		if err != nil {
			return "", err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintln(c, "hi")
		return bufio.NewReader(c).ReadString('\n')
	}
	for _, tt := range []struct {
		port int
		pass bool
	}{
		{9000, true},  // -m socket finds the listener, then the connection
		{9002, false}, // no socket: the INPUT policy drops the SYN
		{9003, true},  // transparent listener
		{9004, false}, // plain listener: --transparent does not match
	} {
		got, err := talk(tt.port)
		switch {
		case tt.pass && (err != nil || got != fmt.Sprintf("%d hi\n", tt.port)):
			t.Errorf("port %d: %q, %v; want the listener's answer", tt.port, got, err)
		case !tt.pass && err == nil:
			t.Errorf("port %d answered %q; want the connection dropped", tt.port, got)
		case !tt.pass && strings.Contains(err.Error(), "refused"):
			t.Errorf("port %d: %v; want the SYN dropped, not reset", tt.port, err)
		}
	}
	if t.Failed() {
		t.Logf("counters:\n%s", d.command(t, "counters"))
	}
	if n := metricValue(d.command(t, "stats"), "nfgo_socket_lookup_errors_total"); n != 0 {
		t.Errorf("%d socket lookups failed", n)
	}
}

// routerListen runs a line-echo service on the router's 10.1.0.1:port,
// with IP_TRANSPARENT as asked; each answer starts with the port.
func (tp *topo) routerListen(t *testing.T, port int, transparent bool) {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if transparent {
			c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_TRANSPARENT, 1) })
		}
		return serr
	}}
	var l net.Listener
	err := tp.router.Do(func() error {
		var err error
		l, err = lc.Listen(context.Background(), "tcp", fmt.Sprintf("10.1.0.1:%d", port))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if line, err := bufio.NewReader(c).ReadString('\n'); err == nil {
					fmt.Fprintf(c, "%d %s", port, line)
				}
			}()
		}
	}()
}
