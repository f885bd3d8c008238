package iptables

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/packet"
)

// upstreamDirEnv names the directory holding iptables' own extension test
// files (extensions/*.t of the iptables source this machine's binaries
// were built from). .ci/run unpacks it with "apt-get source iptables".
const upstreamDirEnv = "NFGO_IPTABLES_T"

// minUpstreamAgreement is the share of iptables' own test cases on which
// nfgo must do what this machine's iptables does.
const minUpstreamAgreement = 0.995

// upstreamCase is one rule line of an iptables extensions/*.t file, with
// the state the file built before it: rules that "%iptables -I" lines
// inserted and nfacct objects that "@nfacct add" lines made.
type upstreamCase struct {
	pos      string
	family   packet.Family
	table    filter.TableID
	chains   []string
	rule     string
	save     string // what the file expects iptables-save to print
	expect   string // OK, FAIL or NOMATCH, for the nf_tables variant
	preamble []string
	nfacct   []string
}

// loadUpstream reads iptables' extension test files as iptables-test.py
// reads them. arptables and ebtables files are left out: nfgo models the
// IPv4 and IPv6 tables only.
func loadUpstream(t *testing.T, dir string) (cases []upstreamCase, skippedFiles []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.t"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s=%s: no *.t files (%v)", upstreamDirEnv, dir, err)
	}
	for _, file := range files {
		base := filepath.Base(file)
		if strings.HasPrefix(base, "libarpt_") || strings.HasPrefix(base, "libebt_") {
			skippedFiles = append(skippedFiles, base)
			continue
		}
		family := packet.IPv4
		if strings.HasPrefix(base, "libip6t_") {
			family = packet.IPv6
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		table := filter.Filter
		var chains, preamble, nfacct []string
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimRight(sc.Text(), " \t\r")
			pos := fmt.Sprintf("%s:%d", base, n)
			switch {
			case strings.TrimSpace(line) == "" || line[0] == '#':
			case line[0] == ':':
				chains = strings.Split(line[1:], ",")
			case line[0] == '*':
				id, ok := filter.ParseTable(line[1:])
				if !ok {
					t.Fatalf("%s: unknown table %q", pos, line[1:])
				}
				table = id
			case line[0] == '@' || line[0] == '%':
				f := strings.Fields(line[1:])
				switch {
				case len(f) >= 3 && f[0] == "nfacct" && f[1] == "add":
					nfacct = append(append([]string(nil), nfacct...), f[2])
				case len(f) >= 3 && f[0] == "nfacct" && f[1] == "del":
					nfacct = without(nfacct, f[2])
				case len(f) >= 3 && f[0] == "iptables" && f[1] == "-I":
					preamble = append([]string{"-A " + strings.Join(f[2:], " ")}, preamble...)
				case len(f) >= 3 && f[0] == "iptables" && f[1] == "-D":
					preamble = without(preamble, "-A "+strings.Join(f[2:], " "))
				case len(f) >= 1 && f[0] == "nfct":
					// CT timeout and helper objects: the cases that name
					// them are commented out in the files.
				default:
					t.Fatalf("%s: external command %q not understood", pos, line)
				}
			default:
				item := strings.Split(line, ";")
				if len(item) < 3 {
					t.Fatalf("%s: want RULE;SAVED;RESULT, got %q", pos, line)
				}
				c := upstreamCase{pos: pos, family: family, table: table, chains: chains,
					rule: item[0], save: item[1], expect: item[2],
					preamble: preamble, nfacct: nfacct}
				if c.save == "=" {
					c.save = c.rule
				}
				if len(item) > 3 && item[3] != "NFT" {
					// Scoped to iptables-legacy: the nf_tables variant gets
					// the alternative result, or the opposite one.
					switch {
					case len(item) > 4:
						c.expect = item[4]
					case c.expect == "FAIL":
						c.expect = "OK"
					default:
						c.expect = "FAIL"
					}
				}
				cases = append(cases, c)
			}
		}
	}
	return cases, skippedFiles
}

func without(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// doc is the restore file that appends the case's rule to each of its
// chains after the file's preamble rules.
func (c upstreamCase) doc() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s\n", c.table)
	for _, r := range c.preamble {
		b.WriteString(r + "\n")
	}
	for _, ch := range c.chains {
		fmt.Fprintf(&b, "-A %s %s\n", ch, c.rule)
	}
	b.WriteString("COMMIT\n")
	return []byte(b.String())
}

// outcome is what a tool did with a case: refused it, or the rule lines
// it saved for it (the preamble's left out).
type outcome struct {
	refused bool
	saved   string
}

func (o outcome) String() string {
	if o.refused {
		return "refused"
	}
	return fmt.Sprintf("saved %q", o.saved)
}

func (c upstreamCase) outcomeOf(out string, err error) outcome {
	if err != nil {
		return outcome{refused: true}
	}
	pre := map[string]int{}
	for _, r := range c.preamble {
		pre[r]++
	}
	var lines []string
	for _, l := range savedRules(out) {
		if pre[l] > 0 {
			pre[l]--
			continue
		}
		lines = append(lines, l)
	}
	return outcome{saved: strings.Join(lines, "\n")}
}

// asFileExpects tells whether an outcome is what the test file expects.
func (c upstreamCase) asFileExpects(o outcome) bool {
	found := true
	for _, ch := range c.chains {
		if !strings.Contains(o.saved+"\n", "-A "+ch+" "+c.save+"\n") {
			found = false
		}
	}
	switch c.expect {
	case "FAIL":
		return o.refused
	case "NOMATCH":
		return !o.refused && !found
	default:
		return !o.refused && found
	}
}

// TestUpstreamExtensionCases runs every case of iptables' own
// extensions/*.t through this machine's iptables and through nfgo, and
// checks that nfgo refuses what iptables refuses and saves the rest as
// iptables-save does, on at least minUpstreamAgreement of the cases.
func TestUpstreamExtensionCases(t *testing.T) {
	dir := os.Getenv(upstreamDirEnv)
	if dir == "" {
		t.Skipf("%s is not set: point it at the extensions/ directory of the iptables source (apt-get source iptables)", upstreamDirEnv)
	}
	kernel.Require(t, "iptables-restore", "ip6tables-restore", "nfacct")
	cases, skipped := loadUpstream(t, dir)
	var agree, fileAgrees, bothAgree int
	var differ []string
	for _, c := range cases {
		out, err := kernel.SaveWith(c.doc(), c.family == packet.IPv6, nil, c.nfacct)
		real := c.outcomeOf(string(out), err)
		ours := c.outcomeOf(nfgoSaveWith(c.doc(), c.family, "", c.nfacct))
		machineAgrees := c.asFileExpects(real)
		if machineAgrees {
			fileAgrees++
		}
		if real == ours {
			agree++
			if machineAgrees {
				bothAgree++
			}
			continue
		}
		_, nfgoErr := nfgoSaveWith(c.doc(), c.family, "", c.nfacct)
		differ = append(differ, fmt.Sprintf("%s %q: iptables %v, nfgo %v (%v)", c.pos, c.rule, real, ours, nfgoErr))
	}
	sort.Strings(differ)
	for _, d := range differ {
		t.Log("differs: " + d)
	}
	share := float64(agree) / float64(len(cases))
	t.Logf("%d cases (arptables/ebtables files left out: %d); this machine's iptables does what the file says on %d; nfgo does what iptables does on %d (%.2f%%), %d of them among the cases the machine agrees with the file on",
		len(cases), len(skipped), fileAgrees, agree, 100*share, bothAgree)
	if share < minUpstreamAgreement {
		t.Errorf("nfgo agrees with iptables on %.2f%% of its own test cases, want at least %.1f%%", 100*share, 100*minUpstreamAgreement)
	}
}
