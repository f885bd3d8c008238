package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/packet"
)

func saveCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("save", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rules := fs.String("rules", "", "IPv4 iptables-save `FILE` to print")
	rules6 := fs.String("rules6", "", "IPv6 ip6tables-save `FILE` to print")
	ipsets := ipsetsFlag(fs)
	nfacct := nfacctFlag(fs)
	counters := fs.Bool("counters", false, "print packet and byte counters (iptables-save -c)")
	fs.BoolVar(counters, "c", false, "shorthand for --counters")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	path, f := *rules, packet.IPv4
	if path == "" {
		path, f = *rules6, packet.IPv6
	}
	if path == "" {
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
	rs, err := loadRules(path, f, ro)
	if err != nil {
		if printRulesErrors(stderr, err) {
			return errFailed
		}
		return err
	}
	return iptables.Write(stdout, rs, iptables.WriteOptions{Counters: *counters, ConnLabels: hostConnLabels()})
}
