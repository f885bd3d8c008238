package iptables

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/packet"
)

// A --noflush restore into a ruleset ends where iptables-restore
// --noflush ends in the kernel: the updates kube-proxy and others send,
// applied to the same base in a namespace and in nfgo, save the same.
func TestNoFlushMatchesKernel(t *testing.T) {
	const base = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-A - [0:0]
:KUBE-SEP-A1 - [0:0]
:KUBE-SEP-OLD - [0:0]
-A PREROUTING -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-A
-A KUBE-SVC-A -j KUBE-SEP-A1
-A KUBE-SEP-A1 -p tcp -m tcp -j DNAT --to-destination 10.244.0.1:8080
-A KUBE-SEP-OLD -p tcp -m tcp -j DNAT --to-destination 10.244.0.9:8080
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
`
	for _, tt := range []struct{ name, update string }{
		{"one service's chains redeclared and refilled", "*nat\n:KUBE-SVC-A - [0:0]\n:KUBE-SEP-A2 - [0:0]\n" +
			"-A KUBE-SVC-A -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-A1\n-A KUBE-SVC-A -j KUBE-SEP-A2\n" +
			"-A KUBE-SEP-A2 -p tcp -m tcp -j DNAT --to-destination 10.244.0.2:8080\nCOMMIT\n"},
		{"a stale chain flushed and deleted", "*nat\n:KUBE-SEP-OLD - [0:0]\n-X KUBE-SEP-OLD\nCOMMIT\n"},
		{"rules added to a chain not declared", "*filter\n-A FORWARD -p tcp -m tcp --dport 22 -j ACCEPT\n-I FORWARD 1 -i lo -j ACCEPT\nCOMMIT\n"},
		{"a built-in chain's policy", "*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n"},
		{"one table untouched, one new", "*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j MARK --set-xmark 0x1/0xffffffff\nCOMMIT\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := Parse(strings.NewReader(base), packet.IPv4)
			if err != nil {
				t.Fatal(err)
			}
			next, err := Restore(strings.NewReader(tt.update), rs, ReadOptions{NoFlush: true})
			if err != nil {
				t.Fatal(err)
			}
			var ours bytes.Buffer
			if err := Write(&ours, next, WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			var again bytes.Buffer
			if err := Write(&again, rs, WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			if wantBase := mustSave(t, base); again.String() != wantBase {
				t.Errorf("Restore changed the ruleset it was given:\n%s", again.String())
			}
			kernel.Require(t, "iptables-restore")
			out, err := kernel.Shell("cat > /tmp/nfgo-noflush-$$ <<'NFGO_EOF'\n"+tt.update+"NFGO_EOF\n"+
				"iptables-restore && iptables-restore --noflush < /tmp/nfgo-noflush-$$; rc=$?; rm -f /tmp/nfgo-noflush-$$; [ $rc = 0 ] && iptables-save", []byte(base))
			if err != nil {
				t.Fatal(err)
			}
			var kernelLines []string
			for _, l := range strings.Split(string(out), "\n") {
				if l != "" && !strings.HasPrefix(l, "#") {
					kernelLines = append(kernelLines, l)
				}
			}
			if got, want := strings.TrimSpace(ours.String()), strings.Join(kernelLines, "\n"); got != want {
				t.Errorf("nfgo after the update:\n%s\niptables-save after iptables-restore --noflush:\n%s", got, want)
			}
		})
	}
}

func mustSave(t *testing.T, rules string) string {
	t.Helper()
	rs, err := Parse(strings.NewReader(rules), packet.IPv4)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, rs, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
