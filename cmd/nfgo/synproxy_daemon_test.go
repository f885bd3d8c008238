package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// synproxyDaemonRules are SYNPROXY's deployment, done by nfgo alone in
// the path layout: the clients' SYNs untracked, SYNPROXY for what
// conntrack does not know, the rest of INVALID dropped.
const synproxyDaemonRules = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -i r0 -p tcp -m tcp --dport 80 --syn -j CT --notrack
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -i r0 -p tcp -m tcp --dport 80 -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460
-A FORWARD -i r0 -p tcp -m tcp --dport 80 -m conntrack --ctstate INVALID -j DROP
COMMIT
`

// TestDaemonSYNPROXY puts nfgo run's SYNPROXY between a real client and
// a real server, both Linux stacks: HTTP requests over IPv4 and IPv6
// complete, each over a connection whose handshake the proxy answered
// with a cookie and then replayed to the server, translating sequence
// numbers and timestamps for the rest of it. The proxy's own packets,
// which the kernel queues again at OUTPUT, are not judged twice.
func TestDaemonSYNPROXY(t *testing.T) {
	for _, mode := range []string{"path", "each-hook"} {
		t.Run(mode, func(t *testing.T) { testDaemonSYNPROXY(t, mode) })
	}
}

func testDaemonSYNPROXY(t *testing.T, mode string) {
	var tp *topo
	if mode == "path" {
		tp = newPathTopo(t)
		tp.routerRules6(t, pathPlumbing)
	} else {
		tp = newTopo(t)
		tp.routerRules(t, eachHookPlumbing)
		tp.routerRules6(t, eachHookPlumbing)
	}
	d := tp.startDaemon(t, synproxyDaemonRules, "--mode", mode, "--rules6", synproxyDaemonRules6(t, tp),
		"--sysctl", "net.netfilter.nf_conntrack_tcp_loose=0")
	for i := range 3 {
		if body, err := tp.get("10.2.0.2:80"); err != nil || !strings.HasPrefix(body, "hello 10.1.0.2:") {
			t.Fatalf("HTTP %d through SYNPROXY: %q, %v", i, body, err)
		}
	}
	if body, err := tp.get("[fd02::2]:80"); err != nil || !strings.HasPrefix(body, "hello [fd01::2]:") {
		t.Fatalf("HTTP over IPv6 through SYNPROXY: %q, %v", body, err)
	}
	st := d.command(t, "stats")
	if got := metricValue(st, "nfgo_synproxy_syn_received_total"); got != 4 {
		t.Errorf("nfgo_synproxy_syn_received_total %d, want 4 (one SYN per connection)", got)
	}
	if got := metricValue(st, "nfgo_synproxy_cookie_valid_total"); got != 4 {
		t.Errorf("nfgo_synproxy_cookie_valid_total %d, want 4", got)
	}
	if got := metricValue(st, "nfgo_synproxy_cookie_invalid_total"); got != 0 {
		t.Errorf("nfgo_synproxy_cookie_invalid_total %d, want 0", got)
	}
	// Each connection's four packets of the proxy's (the SYN/ACK, the SYN
	// and the ACK to the server, the window update) come back from the
	// kernel's OUTPUT queue and must leave as they are.
	if got := metricValue(st, "nfgo_own_packets_passed_total"); got < 16 {
		t.Errorf("nfgo_own_packets_passed_total %d, want at least 16", got)
	}
	out := d.command(t, "conntrack", "-L")
	if !strings.Contains(out, "src=10.1.0.2 dst=10.2.0.2") || !strings.Contains(out, "ASSURED") {
		t.Errorf("conntrack -L lacks the proxied connections:\n%s", out)
	}
}

// TestDaemonRefusesSYNPROXYInHookLayout: in the hook layout the
// kernel's conntrack has the connection, and nfgo cannot splice it; nfgo
// run says so and does not start.
func TestDaemonRefusesSYNPROXYInHookLayout(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules")
	if err := os.WriteFile(path, []byte(synproxyDaemonRules), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run([]string{"run", "--rules", path, "--control", "", "--queue", "65000"}, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "rules line 10: SYNPROXY needs nfgo's own connection tracking") {
		t.Errorf("exit %d, stderr %q; want the layout refused with the rule's line", code, errb.String())
	}
}

// synproxyDaemonRules6 writes the rules for IPv6 too and returns their
// path.
func synproxyDaemonRules6(t *testing.T, tp *topo) string {
	t.Helper()
	path := filepath.Join(tp.dir, "nfgo.rules6")
	if err := os.WriteFile(path, []byte(synproxyDaemonRules), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
