package iptables

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/ipset"
	"github.com/nfgo/nfgo/packet"
)

// minRealRulesets is how many projects' rulesets the corpus must hold.
const minRealRulesets = 20

// TestRealRulesetsSaveAsIptablesSave loads every ruleset of
// testdata/rulesets, as the projects named in each file's first line
// generate them, into nfgo and into the real iptables (with the ipsets of
// NAME.ipsets and the nfacct objects of NAME.nfacct first), and checks
// that nfgo accepts each and saves it exactly as iptables-save prints it.
// NAME.rules is IPv4, NAME.rules6 IPv6.
func TestRealRulesetsSaveAsIptablesSave(t *testing.T) {
	files, err := filepath.Glob("testdata/rulesets/*.rules*")
	if err != nil {
		t.Fatal(err)
	}
	var rulesets []string
	for _, f := range files {
		if strings.HasSuffix(f, ".rules") || strings.HasSuffix(f, ".rules6") {
			rulesets = append(rulesets, f)
		}
	}
	if len(rulesets) < minRealRulesets {
		t.Errorf("%d rulesets in testdata/rulesets, want at least %d", len(rulesets), minRealRulesets)
	}
	for _, path := range rulesets {
		t.Run(filepath.Base(path), func(t *testing.T) {
			doc, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f := packet.IPv4
			if strings.HasSuffix(path, ".rules6") {
				f = packet.IPv6
			}
			base := strings.TrimSuffix(strings.TrimSuffix(path, "6"), ".rules")
			setsDoc, _ := os.ReadFile(base + ".ipsets")
			var acctNames []string
			if b, err := os.ReadFile(base + ".nfacct"); err == nil {
				acctNames = strings.Fields(string(b))
			}
			rs, err := Parse(strings.NewReader(string(doc)), f)
			if err != nil {
				t.Fatalf("nfgo refuses it: %v", err)
			}
			objs := &filter.Objects{NFAcct: &filter.NFAcctTable{}}
			for _, n := range acctNames {
				objs.NFAcct.Add(n)
			}
			if len(setsDoc) > 0 {
				sets, err := ipset.ParseSets(strings.NewReader(string(setsDoc)))
				if err != nil {
					t.Fatalf("its ipsets: %v", err)
				}
				objs.Sets = sets
			}
			if _, err := filter.CompileWith(rs, objs); err != nil {
				t.Fatalf("nfgo refuses it: %v", err)
			}
			ours := strings.TrimSpace(String(rs))
			kernel.Require(t, "iptables-restore", "ip6tables-restore", "ipset", "nfacct")
			out, err := kernel.SaveWith(doc, f == packet.IPv6, setsDoc, acctNames)
			if err != nil {
				t.Fatalf("the real iptables-restore refuses it: %v", err)
			}
			var lines []string
			for _, l := range strings.Split(string(out), "\n") {
				if l != "" && !strings.HasPrefix(l, "#") {
					lines = append(lines, l)
				}
			}
			if want := strings.Join(lines, "\n"); ours != want {
				t.Errorf("nfgo saves it differently from iptables-save.\nnfgo:\n%s\niptables-save:\n%s", ours, want)
			}
		})
	}
}
