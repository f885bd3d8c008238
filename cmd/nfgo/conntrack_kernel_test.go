package main

import (
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/kernel"
)

// TestConntrackScenariosMatchKernel runs every scenario of
// testdata/conntrack through the kernel's conntrack (a router in a
// namespace, its table flushed between scenarios) and through nfgo replay,
// behind a ruleset whose verdicts depend on the state: the ctstate, its
// direction and the verdict must agree for every packet.
func TestConntrackScenariosMatchKernel(t *testing.T) {
	kernel.Require(t, "ip", "nft", "iptables-restore", "ip6tables-restore", "conntrack")
	files, _ := filepath.Glob("testdata/conntrack/*.scn")
	rules, rules6 := "testdata/conntrack/stateful.rules", "testdata/conntrack/stateful.rules6"
	r := kernel.NewRouter(t, kernel.RouterOptions{Conntrack: true})
	restoreFiles(t, r, rules, rules6)
	total, agree, tables := 0, 0, 0
	for _, file := range files {
		for _, sc := range loadScenarios(t, file) {
			t.Run(sc.name, func(t *testing.T) {
				capPath := filepath.Join(t.TempDir(), "s.pcap")
				writePcap(t, capPath, sc.packets)
				recs := replayJSON(t, "--rules", rules, "--rules6", rules6,
					"--local", kernel.RouterAddr4+"/24,"+kernel.RouterAddr6+"/64", capPath)
				if out, err := r.Exec("conntrack -F 2>/dev/null; true", nil); err != nil {
					t.Fatalf("conntrack -F: %v %s", err, out)
				}
				for i, p := range sc.packets {
					total++
					f, err := r.Send(p)
					if err != nil {
						t.Fatal(err)
					}
					kstate := strings.ToUpper(f.CTState)
					kdir := ""
					if kstate != "" && kstate != "INVALID" && kstate != "UNTRACKED" {
						kdir = "original"
						if f.CTReply {
							kdir = "reply"
						}
					}
					kv := "DROP"
					if f.Accepted() {
						kv = "ACCEPT"
					}
					got := recs[i]
					if got.CTState != kstate || got.CTDir != kdir || got.Verdict != kv {
						t.Errorf("%s packet %d (%s):\n kernel %s %s %s\n nfgo   %s %s %s (%s)",
							sc.pos, i, sc.lines[i], kstate, kdir, kv, got.CTState, got.CTDir, got.Verdict, got.CTReason)
						continue
					}
					agree++
				}
				// The final tables must list the same connections with
				// the same states, flags and counters (timeouts aside:
				// the clocks differ by the time the test takes).
				klines, err := r.Conntrack()
				if err != nil {
					t.Fatal(err)
				}
				_, out, _ := runCLI(t, "replay", "--conntrack", "--rules", rules, "--rules6", rules6,
					"--local", kernel.RouterAddr4+"/24,"+kernel.RouterAddr6+"/64", capPath)
				var nlines []string
				for _, l := range strings.Split(out, "\n") {
					if ctLineRE.MatchString(l) {
						nlines = append(nlines, l)
					}
				}
				if k, n := normalizeCT(klines), normalizeCT(nlines); strings.Join(k, "\n") != strings.Join(n, "\n") {
					t.Errorf("%s: final tables differ:\n kernel:\n  %s\n nfgo:\n  %s", sc.pos, strings.Join(k, "\n  "), strings.Join(n, "\n  "))
				} else {
					tables++
				}
			})
		}
	}
	t.Logf("%d/%d scenario packets agree with the kernel on ctstate, direction and verdict; %d final tables identical", agree, total, tables)
}

// ctLineRE matches a conntrack -L line.
var ctLineRE = regexp.MustCompile(`^[a-z0-9]+ +\d+ \d+ `)

// normalizeCT sorts conntrack -L lines and blanks their timeouts.
func normalizeCT(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) > 2 {
			f[2] = "T"
		}
		out = append(out, strings.Join(f, " "))
	}
	sort.Strings(out)
	return out
}
