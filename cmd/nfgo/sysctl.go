package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/nfgo/nfgo/conntrack"
)

// sysctlFlag is --sysctl NAME=VALUE (repeatable): the conntrack sysctls
// a ruleset may rely on, by the kernel's names, as sysctl -w takes them.
// SYNPROXY's deployment, for one, needs nf_conntrack_tcp_loose=0.
type sysctlFlag struct {
	tcp conntrack.TCPConfig
	set []string
}

// sysctls are the settable names and what each sets.
var sysctls = map[string]func(c *conntrack.TCPConfig, on bool){
	"net.netfilter.nf_conntrack_tcp_loose":      func(c *conntrack.TCPConfig, on bool) { c.NoLoose = !on },
	"net.netfilter.nf_conntrack_tcp_be_liberal": func(c *conntrack.TCPConfig, on bool) { c.BeLiberal = on },
}

func sysctlNames() string {
	var names []string
	for n := range sysctls {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (s *sysctlFlag) String() string { return strings.Join(s.set, ",") }

func (s *sysctlFlag) Set(v string) error {
	name, val, ok := strings.Cut(v, "=")
	name = strings.ReplaceAll(strings.TrimSpace(name), "/", ".")
	apply, known := sysctls[name]
	if !ok || !known {
		return fmt.Errorf("want NAME=0 or NAME=1, NAME one of %s", sysctlNames())
	}
	switch strings.TrimSpace(val) {
	case "0":
		apply(&s.tcp, false)
	case "1":
		apply(&s.tcp, true)
	default:
		return fmt.Errorf("%s: value %q: want 0 or 1", name, val)
	}
	s.set = append(s.set, v)
	return nil
}

func sysctlFlagVar(fs *flag.FlagSet, s *sysctlFlag) {
	fs.Var(s, "sysctl", "a conntrack sysctl, `NAME=VALUE` (repeatable): "+sysctlNames())
}
