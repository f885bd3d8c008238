// Command nfgo runs netfilter rulesets in userspace: it replays captures
// through them, checks and prints iptables-save files, and serves NFQUEUE
// as a verdict daemon.
//
// Usage:
//
//	nfgo replay [flags] [CAPTURE]   run a pcap/pcapng through the rules
//	nfgo check --rules FILE         validate a ruleset
//	nfgo save --rules FILE          print a ruleset in iptables-save form
//	nfgo trace --rules FILE PACKET  follow packets through the rules
//	nfgo run --rules FILE [flags]   the NFQUEUE verdict daemon
//	nfgo reload | counters | conntrack -L|-E|-F|-D | sync commit ...
//	                                talk to a running daemon (--control PATH)
//
// "nfgo replay" with no arguments runs the embedded example.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// errUsage marks a command-line mistake: exit status 2.
var errUsage = errors.New("usage")

// errFailed marks a command that ran and reported failure itself (check
// found errors): exit status 1, nothing more to print.
var errFailed = errors.New("failed")

// errFlags marks a flag error the flag package has already reported,
// with the command's usage: exit status 2, nothing more to print.
var errFlags = errors.New("bad flags")

// parseFlags parses a command's flags; a mistake is a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return errFlags
	}
	return err
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "replay":
		err = replayCmd(args[1:], stdout, stderr)
	case "check":
		err = checkCmd(args[1:], stdout, stderr)
	case "save":
		err = saveCmd(args[1:], stdout, stderr)
	case "run":
		err = runCmd(args[1:], stdout, stderr)
	case "trace":
		err = traceCmd(args[1:], os.Stdin, stdout, stderr)
	case "reload", "counters", "stats", "conntrack", "ipset", "recent", "nfacct", "idletimer", "sync",
		"iptables-restore", "ip6tables-restore", "iptables-save", "ip6tables-save":
		err = controlCmd(args[0], args[1:], os.Stdin, stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "nfgo: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "nfgo %s: %v\n", args[0], err)
		return 2
	case errors.Is(err, errFlags):
		return 2
	case errors.Is(err, errFailed):
		return 1
	}
	fmt.Fprintf(stderr, "nfgo %s: %v\n", args[0], err)
	return 1
}

func usage(w io.Writer) {
	fmt.Fprint(w, `nfgo: Linux netfilter in userspace.

Commands:
  replay [flags] [CAPTURE]  run every packet of a pcap/pcapng capture through
                            the rules (no CAPTURE: the embedded example)
  check --rules FILE        validate an iptables-save file; exit 1 with
                            FILE:LINE: reason for every error
  save --rules FILE         print a ruleset in canonical iptables-save form
  trace --rules FILE PACKET follow packets ("SRC:PORT > DST:PORT tcp S") through
                            the rules: every rule met, conntrack, verdict, NAT
  run --rules FILE [flags]  serve NFQUEUE: judge every queued packet with the
                            rules, conntrack and NAT (the verdict daemon)
  reload                    make a running "nfgo run" re-read its rules
  counters                  print a running daemon's rules with counters
  iptables-restore [-n] [-c] [-T TABLE]
                            apply an iptables-save file (stdin) to a running
                            daemon's rules, as iptables-restore does; -n
                            (--noflush) costs what the changed chains cost
  iptables-save [-c] [-t TABLE]
                            print a running daemon's rules (ip6tables-restore
                            and ip6tables-save: its IPv6 rules)
  stats                     print a running daemon's metrics
  conntrack -L|-E|-F|-D     list, watch, flush or delete its connections
  conntrack export          write its connections into the kernel's table
  ipset COMMAND ...         add, del, test, list, save, restore (file on
                            stdin), create, flush, rename, swap, destroy
                            its sets, as the ipset tool does
  sync commit|flush|resync|bulk|stats|internal|external
                            a daemon run with --sync: conntrackd's -c, -f,
                            -n, -B, -s, -i and -e

Run "nfgo COMMAND -h" for a command's flags.
`)
}
