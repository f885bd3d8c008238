package main

import (
	"strings"
	"testing"
	"time"
)

// kernelFirewall is the router's ruleset for the adopt and hand-back
// tests, run by the kernel or by nfgo: the failover tests' (SNAT to a
// port range, a TCP connection starts only with a SYN, so a firewall
// that does not know a connection stalls it) on this topology's
// outside interface.
var kernelFirewall = strings.ReplaceAll(haRules, "wan0", "r1")

// toNfgo hands the router's path to nfgo: the kernel's own rules go,
// and every packet is queued untracked (the path layout).
const toNfgo = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -j NOTRACK
-A PREROUTING -j NFQUEUE --queue-num 0
-A OUTPUT -j NOTRACK
-A OUTPUT -j NFQUEUE --queue-num 0
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
`

// toKernel gives the path back to the kernel firewall.
var toKernel = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
` + kernelFirewall

// switchTopo is the single router topology with the router ready for
// either firewall.
func switchTopo(t *testing.T) *topo {
	t.Helper()
	tp := newTopo(t)
	tp.router.MustExec(t, "sysctl -qw net.ipv4.conf.all.accept_local=1 net.ipv4.conf.r0.accept_local=1 net.ipv4.conf.r1.accept_local=1")
	return tp
}

// keepsSession checks that the session goes on, seen from the same NAT
// address and port, for 10 echoes.
func keepsSession(t *testing.T, e *echoSession, from string) {
	t.Helper()
	for i := range 10 {
		got, err := e.say("after "+string(rune('0'+i)), 10*time.Second)
		if err != nil {
			t.Fatalf("echo %d after the switch: %v", i, err)
		}
		if got != from {
			t.Fatalf("echo %d after the switch seen from %s, before from %s: the NAT binding changed", i, got, from)
		}
	}
}

// TestAdoptKernelKeepsSession: a TCP session NATed by the kernel goes on
// after nfgo run --adopt-kernel takes the path over; without
// --adopt-kernel it stalls.
func TestAdoptKernelKeepsSession(t *testing.T) {
	for _, adopt := range []bool{true, false} {
		name := "adopt"
		if !adopt {
			name = "control"
		}
		t.Run(name, func(t *testing.T) {
			tp := switchTopo(t)
			tp.routerRules(t, kernelFirewall)
			e := tp.echoSession(t)
			from, err := e.say("hello", 3*time.Second)
			if err != nil || !strings.HasPrefix(from, "10.2.0.1:20") {
				t.Fatalf("through the kernel: %q, %v", from, err)
			}
			flags := []string{"--mode", "path"}
			if adopt {
				flags = append(flags, "--adopt-kernel")
			}
			d := tp.startDaemon(t, kernelFirewall, flags...)
			if adopt {
				_, port, _ := strings.Cut(from, ":")
				if list := d.command(t, "conntrack", "-L"); !strings.Contains(list, "dport=7 ") || !strings.Contains(list, "dport="+port+" ") {
					t.Fatalf("nfgo did not adopt the session (port %s):\n%s", port, list)
				}
			}
			tp.routerRules(t, toNfgo)
			if !adopt {
				if got, err := e.say("after", 4*time.Second); err == nil {
					t.Fatalf("the session went on through nfgo without --adopt-kernel (seen from %s)", got)
				}
				return
			}
			keepsSession(t, e, from)
		})
	}
}

// TestHandoffKernelKeepsSession: a TCP session NATed by nfgo goes on
// after nfgo run --handoff-kernel stops and the kernel firewall takes
// the path back; without --handoff-kernel it stalls.
func TestHandoffKernelKeepsSession(t *testing.T) {
	for _, handoff := range []bool{true, false} {
		name := "handoff"
		if !handoff {
			name = "control"
		}
		t.Run(name, func(t *testing.T) {
			tp := switchTopo(t)
			tp.routerRules(t, toNfgo)
			flags := []string{"--mode", "path"}
			if handoff {
				flags = append(flags, "--handoff-kernel")
			}
			d := tp.startDaemon(t, kernelFirewall, flags...)
			e := tp.echoSession(t)
			from, err := e.say("hello", 3*time.Second)
			if err != nil || !strings.HasPrefix(from, "10.2.0.1:20") {
				t.Fatalf("through nfgo: %q, %v", from, err)
			}
			d.stop(t)
			tp.routerRules(t, toKernel)
			if !handoff {
				if got, err := e.say("after", 4*time.Second); err == nil {
					t.Fatalf("the session went on through the kernel without --handoff-kernel (seen from %s)", got)
				}
				return
			}
			out, _ := tp.router.Exec("conntrack -L -p tcp --dport 7 2>/dev/null", nil)
			if !strings.Contains(string(out), "ESTABLISHED") {
				t.Fatalf("the kernel's table after the hand-back:\n%s\nnfgo:\n%s", out, d.stderr)
			}
			keepsSession(t, e, from)
		})
	}
}
