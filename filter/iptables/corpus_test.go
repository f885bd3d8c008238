package iptables

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/ipset"
	"github.com/nfgo/nfgo/packet"
)

// corpusCase is one line of a testdata/ext/*.t file: a rule, the text
// iptables-save prints for it (want), or that iptables rejects it.
type corpusCase struct {
	pos    string // file:line
	family packet.Family
	table  filter.TableID
	chains []string
	rule   string
	want   string
	ok     bool
	// before are rules ("-A CHAIN ...") put ahead of the case's in any
	// batch it is in, from the file's "@before" lines: the RATEEST rules
	// that make the estimators a rateest match names, say.
	before []string
}

// corpusSets are the ipsets the corpus's rules name, from its
// "@ipset COMMAND" lines (ipset restore's syntax): both nfgo and the
// kernel get them before the rules.
var corpusSets strings.Builder

// corpusNFAcct are the nfacct objects the corpus's rules name, from its
// "@nfacct NAME" lines: both nfgo and the kernel (nfacct add) get them.
var corpusNFAcct []string

// loadCorpus reads the extension test files, modelled on iptables'
// extensions/*.t: "@family 4|6|46", "@ipset COMMAND", "*table",
// ":CHAIN[,CHAIN]", "@before -A CHAIN RULE" and "RULE;SAVED|=;OK|FAIL"
// lines.
func loadCorpus(t *testing.T) []corpusCase {
	t.Helper()
	files, err := filepath.Glob("testdata/ext/*.t")
	if err != nil {
		t.Fatal(err)
	}
	var cases []corpusCase
	corpusSets.Reset()
	corpusNFAcct = nil
	for _, file := range files {
		fh, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		families := []packet.Family{packet.IPv4}
		table := filter.Filter
		chains := []string{"INPUT"}
		var before []string
		sc := bufio.NewScanner(fh)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			pos := fmt.Sprintf("%s:%d", file, n)
			switch {
			case line == "" || line[0] == '#':
			case strings.HasPrefix(line, "@nfacct "):
				corpusNFAcct = append(corpusNFAcct, strings.TrimSpace(strings.TrimPrefix(line, "@nfacct ")))
			case strings.HasPrefix(line, "@before -A "):
				before = append(before, strings.TrimPrefix(line, "@before "))
			case strings.HasPrefix(line, "@ipset "):
				corpusSets.WriteString(strings.TrimPrefix(line, "@ipset ") + "\n")
			case strings.HasPrefix(line, "@family"):
				switch strings.TrimSpace(strings.TrimPrefix(line, "@family")) {
				case "4":
					families = []packet.Family{packet.IPv4}
				case "6":
					families = []packet.Family{packet.IPv6}
				case "46":
					families = []packet.Family{packet.IPv4, packet.IPv6}
				default:
					t.Fatalf("%s: bad @family line", pos)
				}
			case line[0] == '*':
				id, ok := filter.ParseTable(line[1:])
				if !ok {
					t.Fatalf("%s: unknown table", pos)
				}
				table = id
			case line[0] == ':':
				chains = strings.Split(line[1:], ",")
			default:
				parts := strings.Split(line, ";")
				if len(parts) < 3 {
					t.Fatalf("%s: want RULE;SAVED;OK|FAIL, got %q", pos, line)
				}
				c := corpusCase{pos: pos, table: table, chains: chains, rule: parts[0], want: parts[1], ok: parts[2] == "OK", before: before}
				if c.want == "=" {
					c.want = c.rule
				}
				if !c.ok && parts[2] != "FAIL" {
					t.Fatalf("%s: third field must be OK or FAIL", pos)
				}
				for _, f := range families {
					c.family = f
					cases = append(cases, c)
				}
			}
		}
		fh.Close()
	}
	return cases
}

// corpusDoc builds an iptables-restore file appending each case's rule to
// each of its chains.
func corpusDoc(table filter.TableID, cases []corpusCase) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s\n", table)
	declared := map[string]bool{}
	for _, c := range cases {
		for _, ch := range c.chains {
			if _, builtin := filter.ParseHook(ch); !builtin && !declared[ch] {
				declared[ch] = true
				fmt.Fprintf(&b, ":%s - [0:0]\n", ch)
			}
		}
	}
	for _, r := range beforeRules(cases) {
		fmt.Fprintln(&b, r)
	}
	for _, c := range cases {
		for _, ch := range c.chains {
			fmt.Fprintf(&b, "-A %s %s\n", ch, c.rule)
		}
	}
	b.WriteString("COMMIT\n")
	return []byte(b.String())
}

// beforeRules are the cases' "@before" rules, each once, in order.
func beforeRules(cases []corpusCase) []string {
	var rules []string
	seen := map[string]bool{}
	for _, c := range cases {
		for _, r := range c.before {
			if !seen[r] {
				seen[r] = true
				rules = append(rules, r)
			}
		}
	}
	return rules
}

// withoutBefore removes the cases' "@before" rules from saved rule
// lines: each once, where it comes first.
func withoutBefore(rules []string, cases []corpusCase) []string {
	drop := map[string]int{}
	for _, r := range beforeRules(cases) {
		drop[r]++
	}
	var out []string
	for _, r := range rules {
		if drop[r] > 0 {
			drop[r]--
			continue
		}
		out = append(out, r)
	}
	return out
}

// savedRules returns the "-A ..." lines of iptables-save output.
func savedRules(out string) []string {
	var rules []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "-A ") {
			rules = append(rules, l)
		}
	}
	return rules
}

// byChain groups saved rule lines by their chain.
func byChain(rules []string) map[string][]string {
	m := map[string][]string{}
	for _, r := range rules {
		chain, _, _ := strings.Cut(strings.TrimPrefix(r, "-A "), " ")
		m[chain] = append(m[chain], r)
	}
	return m
}

func expected(cases []corpusCase) []string {
	var want []string
	for _, c := range cases {
		for _, ch := range c.chains {
			want = append(want, strings.TrimSpace("-A "+ch+" "+c.want))
		}
	}
	return want
}

// nfgoSave runs a restore file through nfgo's reader, validation and
// writer, as "nfgo save" does.
func nfgoSave(doc []byte, f packet.Family) (string, error) {
	return nfgoSaveWith(doc, f, corpusSets.String(), corpusNFAcct)
}

// nfgoSaveWith is nfgoSave with the ipsets of an ipset save file and the
// nfacct objects named.
func nfgoSaveWith(doc []byte, f packet.Family, ipsets string, nfacct []string) (string, error) {
	rs, err := Parse(strings.NewReader(string(doc)), f)
	if err != nil {
		return "", err
	}
	sets, err := ipset.ParseSets(strings.NewReader(ipsets))
	if err != nil {
		return "", fmt.Errorf("corpus ipsets: %w", err)
	}
	acct := &filter.NFAcctTable{}
	for _, name := range nfacct {
		if err := acct.Add(name); err != nil {
			return "", err
		}
	}
	if _, err := filter.CompileWith(rs, &filter.Objects{Sets: sets, NFAcct: acct}); err != nil {
		return "", err
	}
	return String(rs), nil
}

// TestCorpusAgreesWithIptablesSave checks every corpus rule through nfgo:
// accepted rules must print exactly as iptables-save printed them, and
// rejected ones must be rejected.
func TestCorpusAgreesWithIptablesSave(t *testing.T) {
	cases := loadCorpus(t)
	if len(cases) == 0 {
		t.Fatal("no corpus cases found in testdata/ext")
	}
	accepted := map[string]bool{}
	for _, c := range cases {
		t.Run(c.pos+"/v"+fmt.Sprint(c.family), func(t *testing.T) {
			out, err := nfgoSave(corpusDoc(c.table, []corpusCase{c}), c.family)
			if !c.ok {
				if err == nil {
					t.Errorf("rule %q in %s: nfgo accepted it, iptables rejects it; nfgo saved:\n%s", c.rule, c.table, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("rule %q in %s: nfgo rejected it: %v", c.rule, c.table, err)
			}
			got, want := withoutBefore(savedRules(out), []corpusCase{c}), expected([]corpusCase{c})
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("rule %q:\n got %q\nwant %q", c.rule, got, want)
			}
			accepted[fmt.Sprint(c.family)+" "+want[0]] = true
		})
	}
	t.Logf("%d corpus cases, %d distinct accepted rules", len(cases), len(accepted))
}

// TestCorpusAgainstKernel feeds the corpus to the real iptables-restore and
// iptables-save in a network namespace, so the expected texts are the
// kernel's and not our guesses, and nfgo's output equals the real one.
func TestCorpusAgainstKernel(t *testing.T) {
	kernel.Require(t, "iptables-restore", "ip6tables-restore")
	cases := loadCorpus(t)
	type group struct {
		f packet.Family
		t filter.TableID
	}
	groups := map[group][]corpusCase{}
	var fails []corpusCase
	for _, c := range cases {
		if c.ok {
			g := group{c.family, c.table}
			groups[g] = append(groups[g], c)
		} else {
			fails = append(fails, c)
		}
	}
	for g, cs := range groups {
		doc := corpusDoc(g.t, cs)
		out, err := kernel.SaveWith(doc, g.f == packet.IPv6, []byte(corpusSets.String()), corpusNFAcct)
		if err != nil {
			// Find the culprits one by one.
			for _, c := range cs {
				if _, err := kernel.SaveWith(corpusDoc(g.t, []corpusCase{c}), g.f == packet.IPv6, []byte(corpusSets.String()), corpusNFAcct); err != nil {
					t.Errorf("%s: the kernel rejects %q (marked OK): %v", c.pos, c.rule, err)
				}
			}
			continue
		}
		// iptables-save groups rules by chain; within a chain they keep
		// the order they were appended in, which is the cases' order.
		got := byChain(withoutBefore(savedRules(string(out)), cs))
		type where struct {
			c   corpusCase
			chn string
		}
		var order []where
		for _, c := range cs {
			for _, ch := range c.chains {
				order = append(order, where{c, ch})
			}
		}
		seen := map[string]int{}
		for _, w := range order {
			i := seen[w.chn]
			seen[w.chn]++
			want := strings.TrimSpace("-A " + w.chn + " " + w.c.want)
			if i >= len(got[w.chn]) {
				t.Errorf("%s: iptables-save printed no rule for it in %s", w.c.pos, w.chn)
				continue
			}
			if got[w.chn][i] != want {
				t.Errorf("%s: iptables-save printed\n %q\nthe corpus says\n %q", w.c.pos, got[w.chn][i], want)
			}
		}
		ours, err := nfgoSave(doc, g.f)
		if err != nil {
			t.Errorf("v%d %s: nfgo rejects the batch the kernel took: %v", g.f, g.t, err)
			continue
		}
		if o := savedRules(ours); strings.Join(o, "\n") != strings.Join(savedRules(string(out)), "\n") {
			t.Errorf("v%d %s: nfgo's save differs from iptables-save's", g.f, g.t)
		}
	}
	for _, c := range fails {
		if _, err := kernel.SaveWith(corpusDoc(c.table, []corpusCase{c}), c.family == packet.IPv6, []byte(corpusSets.String()), corpusNFAcct); err == nil {
			t.Errorf("%s: the kernel accepts %q (marked FAIL)", c.pos, c.rule)
		}
	}
}

// TestWholeSaveMatchesIptablesSave restores a ruleset of every table,
// user chains and policies included, into the real iptables and checks
// that nfgo prints the whole of it as iptables-save does: tables in its
// order, chains, policies, rules.
func TestWholeSaveMatchesIptablesSave(t *testing.T) {
	doc := `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth1 -j MASQUERADE
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:zeta - [0:0]
:alpha - [0:0]
-A INPUT -p udp -m udp --sport 67 -m udp --dport 68 -j ACCEPT
-A INPUT -j zeta
-A zeta -j alpha
COMMIT
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp
COMMIT
*security
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
COMMIT
`
	ours, err := nfgoSave([]byte(doc), packet.IPv4)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for _, l := range strings.Split(ours, "\n") {
		if strings.HasPrefix(l, "*") {
			tables = append(tables, l)
		}
	}
	if want := "*mangle *security *raw *filter *nat"; strings.Join(tables, " ") != want {
		t.Errorf("tables saved in the order %q, want iptables-nft-save's %q", tables, want)
	}
	kernel.Require(t, "iptables-restore")
	out, err := kernel.Save([]byte(doc), false)
	if err != nil {
		t.Fatal(err)
	}
	var kernelLines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			kernelLines = append(kernelLines, l)
		}
	}
	if got, want := strings.TrimSpace(ours), strings.Join(kernelLines, "\n"); got != want {
		t.Errorf("nfgo save:\n%s\niptables-save:\n%s", got, want)
	}
}
