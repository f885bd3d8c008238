package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/packet"
)

// traceCmd is nfgo trace: it follows packets, described on the command
// line or on standard input, through the rules as the TRACE target
// would, printing every rule each one meets, its conntrack state, its
// verdict and what it looks like when it leaves. The packets share one
// conntrack table, so a handshake can be traced step by step.
func traceCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var o replayOptions
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.hostFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: nfgo trace --rules FILE [flags] [PACKET ...]

Each PACKET (or each line of standard input, without PACKET arguments) is
"SRC[:PORT] > DST[:PORT] PROTO [FLAGS] [key=value ...]", e.g.
  "198.51.100.7:40000 > 192.0.2.1:22 tcp S"   "10.0.0.5 > 8.8.8.8 icmp type=8 id=1"
Keys: seq ack win len ttl mss wscale type code id icmpseq about=N trunc=N badsum.

`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.rules == "" && o.rules6 == "" {
		return fmt.Errorf("%w: --rules FILE or --rules6 FILE is required", errUsage)
	}
	ro, err := o.objects()
	if err != nil {
		return err
	}
	var rulesets []*filter.Ruleset
	for _, in := range []struct {
		path string
		f    packet.Family
	}{{o.rules, packet.IPv4}, {o.rules6, packet.IPv6}} {
		if in.path == "" {
			continue
		}
		rs, err := loadRules(in.path, in.f, ro)
		if err != nil {
			if printRulesErrors(stderr, err) {
				return errFailed
			}
			return err
		}
		rulesets = append(rulesets, rs)
	}
	host, err := hostFromFlags(o)
	if err != nil {
		return err
	}
	eng := nfgo.New(nfgo.Config{Host: host, Logger: slog.New(slog.DiscardHandler), Helpers: o.helpers.cfg, NFAcct: ro.nfacct, OSF: ro.osf,
		Conntrack: conntrack.Config{TCP: o.sysctl.tcp}})
	eng.UseSets(ro.sets)
	for _, rs := range rulesets {
		if err := eng.SetRuleset(rs); err != nil {
			return err
		}
	}
	lines := fs.Args()
	if len(lines) == 0 {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		if err := sc.Err(); err != nil {
			return err
		}
	}
	if len(lines) == 0 {
		return fmt.Errorf("%w: no packet to trace", errUsage)
	}
	t := &tracer{w: stdout, rulesets: rulesets}
	now := time.Now()
	var earlier [][]byte
	for i, line := range lines {
		b, err := parsePacketLine(line, earlier)
		if err != nil {
			return fmt.Errorf("packet %d: %w", i+1, err)
		}
		earlier = append(earlier, append([]byte(nil), b...))
		t.packet(eng, i+1, line, b, o.in, now.Add(time.Duration(i)*time.Millisecond))
	}
	return nil
}

// tracer prints traces.
type tracer struct {
	w        io.Writer
	rulesets []*filter.Ruleset
}

// packet traces one packet.
func (t *tracer) packet(eng *nfgo.Engine, n int, line string, b []byte, in string, at time.Time) {
	var p packet.Packet
	p.Decode(b)
	fmt.Fprintf(t.w, "packet %d: %s (in %s)\n", n, line, in)
	var events []filter.TraceEvent
	v := eng.Path(&p, nfgo.Meta{In: in, Time: at, Trace: func(ev filter.TraceEvent) { events = append(events, ev) }})
	for _, ev := range events {
		fmt.Fprintf(t.w, "  %s\n", t.describe(&ev, p.Family))
	}
	ct := v.CT.String()
	if v.CT != conntrack.Untracked && v.CT != conntrack.Invalid {
		ct += " " + v.CTDir.String()
	}
	if v.CTReason != "" {
		ct += " (" + v.CTReason + ")"
	}
	fmt.Fprintf(t.w, "  conntrack: %s\n", ct)
	for _, l := range v.Effects.Logs() {
		fmt.Fprintf(t.w, "  log: %s\n", l)
	}
	fmt.Fprintf(t.w, "  verdict: %s\n", v)
	if v.Action == filter.Accept {
		out := v.Out
		if out == "" {
			out = "the host"
		}
		leave := endpoint(&p, true) + " > " + endpoint(&p, false) + " " + protoSummary(&p)
		if p.Modified {
			fmt.Fprintf(t.w, "  leaves to %s as %s (rewritten)\n", out, leave)
		} else {
			fmt.Fprintf(t.w, "  leaves to %s as %s\n", out, leave)
		}
	}
	if resp := v.Effects.Response(); resp != nil {
		var r packet.Packet
		r.Decode(resp)
		fmt.Fprintf(t.w, "  answered with %s > %s %s\n", endpoint(&r, true), endpoint(&r, false), protoSummary(&r))
	}
	fmt.Fprintln(t.w)
}

// describe formats one trace event with the rule it names.
func (t *tracer) describe(ev *filter.TraceEvent, f packet.Family) string {
	var chain *filter.Chain
	for _, rs := range t.rulesets {
		if rs.Family != f {
			continue
		}
		if tb := rs.Table(ev.Table); tb != nil {
			for _, c := range tb.Chains {
				if c.Name == ev.Chain {
					chain = c
				}
			}
		}
	}
	if ev.Rule == 0 {
		if chain != nil && chain.Builtin {
			return fmt.Sprintf("%s %s: policy %v", ev.Table, ev.Chain, chain.Policy)
		}
		return fmt.Sprintf("%s %s: end of chain, return", ev.Table, ev.Chain)
	}
	rule := "?"
	if chain != nil && ev.Rule <= len(chain.Rules) {
		rule = "-A " + chain.Name + " " + iptables.FormatRule(chain.Rules[ev.Rule-1], f)
	}
	if ev.Matched {
		return fmt.Sprintf("%s %s rule %d: %s  => match", ev.Table, ev.Chain, ev.Rule, rule)
	}
	return fmt.Sprintf("%s %s rule %d: %s", ev.Table, ev.Chain, ev.Rule, rule)
}
