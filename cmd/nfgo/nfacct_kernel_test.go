package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
)

// TestNFAcctCountsMatchKernel sends the same packets through a kernel
// router and nfgo replay with kube-proxy-style nfacct rules, and compares
// the objects' packet and byte counts, as nfacct list prints them.
func TestNFAcctCountsMatchKernel(t *testing.T) {
	kernel.Require(t, "ip", "iptables-restore", "nfacct")
	rules := `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 5000 -m nfacct --nfacct-name udp5000
-A INPUT -p tcp -m nfacct --nfacct-name alltcp
-A INPUT -m nfacct --nfacct-name everything
COMMIT
`
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "acct.rules")
	if err := os.WriteFile(rulesPath, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	var pkts [][]byte
	for i, n := range []int{0, 10, 100, 1000} {
		pkts = append(pkts,
			testpkt.Build(testpkt.Spec{Src: a("198.18.0.7"), Dst: a(kernel.RouterAddr4), Proto: "udp", SrcPort: uint16(40000 + i), DstPort: 5000, Payload: make([]byte, n)}),
			testpkt.Build(testpkt.Spec{Src: a("198.18.0.7"), Dst: a(kernel.RouterAddr4), Proto: "tcp", SrcPort: uint16(41000 + i), DstPort: 80, Flags: "S", Payload: make([]byte, n)}))
	}
	capPath := filepath.Join(dir, "in.pcap")
	writePcap(t, capPath, pkts)
	names := "udp5000,alltcp,everything"
	_, ours, _ := runCLI(t, "replay", "--rules", rulesPath, "--nfacct", names, "--nfacct-list", "--local", kernel.RouterAddr4+"/24", capPath)

	r := kernel.NewRouter(t, kernel.RouterOptions{})
	for _, n := range strings.Split(names, ",") {
		if out, err := r.Exec("nfacct add "+n, nil); err != nil {
			t.Fatalf("nfacct add %s: %v %s", n, err, out)
		}
	}
	if err := r.Restore([]byte(rules), false); err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		if _, err := r.Send(p); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
	}
	theirs, err := r.Exec("nfacct list", nil)
	if err != nil {
		t.Fatalf("nfacct list: %v %s", err, theirs)
	}
	var got []string
	for _, l := range strings.Split(ours, "\n") {
		if strings.HasPrefix(l, "{ pkts = ") {
			got = append(got, l)
		}
	}
	t.Logf("nfacct list after %d packets:\n%s", len(pkts), theirs)
	if want := strings.TrimSpace(string(theirs)); len(got) != 3 || strings.Join(got, "\n") != want {
		t.Errorf("nfgo counts:\n%s\nthe kernel's (nfacct list):\n%s", strings.Join(got, "\n"), want)
	}
}
