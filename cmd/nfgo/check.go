package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

func checkCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rules := fs.String("rules", "", "IPv4 iptables-save `FILE` to check")
	rules6 := fs.String("rules6", "", "IPv6 ip6tables-save `FILE` to check")
	ipsets := ipsetsFlag(fs)
	nfacct := nfacctFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *rules == "" && *rules6 == "" {
		return fmt.Errorf("%w: --rules FILE or --rules6 FILE is required", errUsage)
	}
	sets, err := loadSets(*ipsets)
	if err != nil {
		return err
	}
	acct, err := nfacctTable(*nfacct)
	if err != nil {
		return err
	}
	ro := ruleObjects{sets: sets, nfacct: acct}
	failed := false
	for _, in := range []struct {
		path string
		f    packet.Family
	}{{*rules, packet.IPv4}, {*rules6, packet.IPv6}} {
		if in.path == "" {
			continue
		}
		rs, err := loadRules(in.path, in.f, ro)
		if err != nil {
			if !printRulesErrors(stdout, err) {
				return err
			}
			failed = true
			continue
		}
		n, notes := summarize(rs)
		fmt.Fprintf(stdout, "%s: OK, %d rules\n", in.path, n)
		if ok, why := rs.Offload(); ok {
			fmt.Fprintf(stdout, "%s: flow offload: allowed (the rules accept every established forwarded packet)\n", in.path)
		} else {
			fmt.Fprintf(stdout, "%s: flow offload: not allowed: %s\n", in.path, why)
		}
		for _, note := range notes {
			fmt.Fprintf(stdout, "%s: note: %s\n", in.path, note)
		}
	}
	if failed {
		return errFailed
	}
	return nil
}

// summarize counts rules and notes the ones that match on connection
// fields nfgo does not hand to the rules yet.
func summarize(rs *filter.Ruleset) (int, []string) {
	n := 0
	var notes []string
	for _, t := range rs.Tables() {
		for _, c := range t.Chains {
			for i, r := range c.Rules {
				n++
				for _, m := range r.Matches {
					if _, ok := m.(*filter.ConnlimitMatch); ok {
						notes = append(notes, fmt.Sprintf("line %d: %s %s rule %d uses connlimit, which does not match yet: nfgo does not count connections per address",
							r.Line, t.ID, c.Name, i+1))
					}
				}
			}
		}
	}
	return n, notes
}

func name(x any) string {
	if n, ok := x.(filter.Namer); ok {
		return n.Name()
	}
	return fmt.Sprintf("%T", x)
}
