package main

import (
	"bytes"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/helpers"
	"github.com/nfgo/nfgo/internal/capture"
	"github.com/nfgo/nfgo/packet"
)

// The embedded example: a small router ruleset and a capture that
// exercises it, so "nfgo replay" shows the main job at once.
var (
	//go:embed example/example.rules
	exampleRules []byte
	//go:embed example/example.rules6
	exampleRules6 []byte
	//go:embed example/example.pcap
	examplePcap []byte
)

const exampleLocal = "192.0.2.1,2001:db8::1"

// routeFlag collects repeated --route CIDR=IFACE flags.
type routeFlag []nfgo.Route

func (r *routeFlag) String() string { return fmt.Sprint(*r) }

func (r *routeFlag) Set(s string) error {
	cidr, iface, ok := strings.Cut(s, "=")
	if !ok || iface == "" {
		return fmt.Errorf("want CIDR=IFACE, got %q", s)
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return fmt.Errorf("route %q: %v", s, err)
	}
	*r = append(*r, nfgo.Route{Dst: p.Masked(), Out: iface})
	return nil
}

// helperParams collects repeated --helper-param MODULE.NAME=VALUE flags
// into the helpers' configuration.
type helperParams struct{ cfg helpers.Config }

func (h *helperParams) String() string { return "" }

func (h *helperParams) Set(s string) error { return helpers.ParseParam(&h.cfg, s) }

// helperParamFlag defines --helper-param on fs.
func helperParamFlag(fs *flag.FlagSet, h *helperParams) {
	fs.Var(h, "helper-param", "a helper's module parameter, `MODULE.NAME=VALUE` (repeatable), as the kernel's:\n"+helpers.ParamsHelp())
}

type replayOptions struct {
	helpers       helperParams
	sysctl        sysctlFlag
	rules, rules6 string
	ipsets        string
	nfacct        string
	nfacctList    bool
	osf           string
	local         string
	in            string
	routes        routeFlag
	json          bool
	trace         bool
	conntrack     bool
	expectations  bool
	noConntrack   bool
	events        bool
	write         string
}

// hostFlags defines the flags that give the rules and the simulated
// host, which replay and trace share.
func (o *replayOptions) hostFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.rules, "rules", "", "IPv4 iptables-save `FILE`")
	fs.StringVar(&o.rules6, "rules6", "", "IPv6 ip6tables-save `FILE`")
	fs.StringVar(&o.ipsets, "ipsets", "", "ipset save `FILE` with the sets the rules name (-m set, -j SET)")
	fs.StringVar(&o.nfacct, "nfacct", "", "`NAME[,NAME...]`: nfacct objects the rules name (-m nfacct), as nfacct add makes them")
	fs.StringVar(&o.osf, "osf", "", osfFlagUsage)
	fs.StringVar(&o.local, "local", "", "the simulated host's own addresses, `ADDR[,ADDR...]` (ADDR or ADDR/LEN, on the input interface, or ADDR@IFACE on another)")
	fs.StringVar(&o.in, "in", "eth0", "input interface `NAME`")
	fs.Var(&o.routes, "route", "route `CIDR=IFACE` (repeatable); unrouted packets leave by eth1")
	helperParamFlag(fs, &o.helpers)
	sysctlFlagVar(fs, &o.sysctl)
}

// objects reads --ipsets and --osf and makes the --nfacct objects.
func (o *replayOptions) objects() (ruleObjects, error) {
	sets, err := loadSets(o.ipsets)
	if err != nil {
		return ruleObjects{}, err
	}
	osf, err := loadOSF(o.osf)
	if err != nil {
		return ruleObjects{}, err
	}
	acct, err := nfacctTable(o.nfacct)
	return ruleObjects{sets: sets, nfacct: acct, osf: osf}, err
}

func replayCmd(args []string, stdout, stderr io.Writer) error {
	var o replayOptions
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.hostFlags(fs)
	fs.BoolVar(&o.json, "json", false, "print one JSON object per packet")
	fs.BoolVar(&o.trace, "trace", false, "show every rule evaluated")
	fs.BoolVar(&o.conntrack, "conntrack", false, "print the final connection table, as conntrack -L does")
	fs.BoolVar(&o.nfacctList, "nfacct-list", false, "print the nfacct objects' final counts, as nfacct list does")
	fs.BoolVar(&o.expectations, "expectations", false, "print the final expectations, as conntrack -L expect does")
	fs.BoolVar(&o.noConntrack, "no-conntrack", false, "run without connection tracking (every packet UNTRACKED)")
	fs.BoolVar(&o.events, "events", false, "show each packet's conntrack events, as conntrack -E prints them")
	fs.StringVar(&o.write, "write", "", "write every accepted packet as it leaves (after NAT) to `OUT.pcap`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("%w: at most one capture file, got %d", errUsage, fs.NArg())
	}

	var (
		capData  io.Reader
		capSize  int64
		rs4, rs6 *filter.Ruleset
		err      error
	)
	ro, err := o.objects()
	if err != nil {
		return err
	}
	if fs.NArg() == 0 {
		if o.rules != "" || o.rules6 != "" {
			return fmt.Errorf("%w: --rules needs a CAPTURE file", errUsage)
		}
		fmt.Fprintln(stderr, "nfgo replay: no capture given: running the embedded example (a router, 192.0.2.1 and 2001:db8::1, with the ruleset of cmd/nfgo/example)")
		capData, capSize = bytes.NewReader(examplePcap), int64(len(examplePcap))
		if o.local == "" {
			o.local = exampleLocal
		}
		if rs4, err = parseRules("example.rules", exampleRules, packet.IPv4, ruleObjects{}); err != nil {
			return err
		}
		if rs6, err = parseRules("example.rules6", exampleRules6, packet.IPv6, ruleObjects{}); err != nil {
			return err
		}
	} else {
		fh, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer fh.Close()
		if st, err := fh.Stat(); err == nil {
			capSize = st.Size()
		}
		capData = fh
		for _, in := range []struct {
			path string
			f    packet.Family
			dst  **filter.Ruleset
		}{{o.rules, packet.IPv4, &rs4}, {o.rules6, packet.IPv6, &rs6}} {
			if in.path == "" {
				continue
			}
			if *in.dst, err = loadRules(in.path, in.f, ro); err != nil {
				if printRulesErrors(stderr, err) {
					return errFailed
				}
				return err
			}
		}
	}

	host, err := hostFromFlags(o)
	if err != nil {
		return err
	}
	// LOG lines are shown with each packet, so they are not logged again.
	quiet := slog.New(slog.DiscardHandler)
	eng := nfgo.New(nfgo.Config{Host: host, Logger: quiet, NoConntrack: o.noConntrack, Helpers: o.helpers.cfg, NFAcct: ro.nfacct, OSF: ro.osf,
		Conntrack: conntrack.Config{TCP: o.sysctl.tcp}})
	eng.UseSets(ro.sets)
	for _, rs := range []*filter.Ruleset{rs4, rs6} {
		if rs != nil {
			if err := eng.SetRuleset(rs); err != nil {
				return err
			}
		}
	}
	progress := newProgress(stderr, capSize)
	capData = progress.wrap(capData)
	rd, err := capture.NewReader(capData)
	if err != nil {
		return err
	}
	var sub *conntrack.Subscription
	if o.events && eng.Conntrack() != nil {
		sub = eng.Conntrack().Subscribe(1024)
		defer sub.Close()
	}
	var wr *pcapgo.Writer
	if o.write != "" {
		f, err := os.Create(o.write)
		if err != nil {
			return err
		}
		defer f.Close()
		wr = pcapgo.NewWriter(f)
		if err := wr.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
			return err
		}
	}
	out := newReplayPrinter(stdout, o)
	var (
		p    packet.Packet
		last time.Time
	)
	for i := 0; ; i++ {
		fr, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("packet %d: %w", i, err)
		}
		progress.tick()
		last = fr.Time
		rec := packetRecord{Index: i, Time: fr.Time}
		if fr.L3 == nil {
			rec.Verdict, rec.Reason = "SKIP", "not an IP packet"
			out.record(&rec, nil, nil)
			continue
		}
		p.Decode(fr.L3)
		var trace []filter.TraceEvent
		meta := nfgo.Meta{In: o.in, Time: fr.Time, PktType: fr.PktType, LinkHeader: fr.Link}
		if o.trace {
			meta.Trace = func(ev filter.TraceEvent) { trace = append(trace, ev) }
		}
		v := eng.Path(&p, meta)
		rec.fill(&p, v, trace)
		rec.Events = drainEvents(sub)
		if wr != nil && v.Action == filter.Accept {
			b := p.Bytes()
			if err := wr.WritePacket(gopacket.CaptureInfo{Timestamp: fr.Time, CaptureLength: len(b), Length: len(b)}, b); err != nil {
				return fmt.Errorf("--write: %w", err)
			}
		}
		out.record(&rec, &p, eng)
	}
	progress.done()
	if err := out.finish(rs4, rs6); err != nil {
		return err
	}
	if o.nfacctList {
		// The nfacct objects' counts, as nfacct list prints them.
		if _, err := eng.NFAcct().WriteTo(stdout); err != nil {
			return err
		}
	}
	if o.conntrack && eng.Conntrack() != nil {
		// The table as it stands after the last packet, in capture time.
		n := 0
		for c := range eng.Conntrack().All(last) {
			fmt.Fprintln(stdout, c.String())
			n++
		}
		fmt.Fprintf(stderr, "conntrack v1.4.7 (conntrack-tools): %d flow entries have been shown.\n", n)
	}
	if o.expectations && eng.Conntrack() != nil {
		exps := eng.Conntrack().Expectations(last)
		for _, x := range exps {
			fmt.Fprintln(stdout, x.String())
		}
		fmt.Fprintf(stderr, "conntrack v1.4.7 (conntrack-tools): %d expectations have been shown.\n", len(exps))
	}
	return nil
}

// drainEvents returns the events the last packet caused, as conntrack -E
// lines.
func drainEvents(sub *conntrack.Subscription) []string {
	if sub == nil {
		return nil
	}
	var out []string
	for {
		select {
		case ev := <-sub.Events():
			out = append(out, strings.TrimSpace(ev.String()))
		default:
			return out
		}
	}
}

// hostFromFlags builds the simulated host: the --local addresses sit on
// the input interface, or on the interface an ADDR@IFACE names.
func hostFromFlags(o replayOptions) (nfgo.Host, error) {
	h := nfgo.Host{Routes: o.routes, DefaultOut: "eth1"}
	index := map[string]int{}
	add := func(name string, p netip.Prefix) {
		i, ok := index[name]
		if !ok {
			i = len(h.Interfaces)
			index[name] = i
			h.Interfaces = append(h.Interfaces, nfgo.Interface{Name: name})
		}
		h.Interfaces[i].Addrs = append(h.Interfaces[i].Addrs, p)
	}
	h.Interfaces = append(h.Interfaces, nfgo.Interface{Name: o.in})
	index[o.in] = 0
	if o.local != "" {
		for _, s := range strings.Split(o.local, ",") {
			s, iface, onOther := strings.Cut(strings.TrimSpace(s), "@")
			if !onOther {
				iface = o.in
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				a, err2 := netip.ParseAddr(s)
				if err2 != nil {
					return h, fmt.Errorf("%w: --local %q: not an address or prefix", errUsage, s)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			add(iface, p)
		}
	}
	return h, nil
}

// packetRecord is one packet's line of replay output; its JSON form is
// what --json prints.
type packetRecord struct {
	Index    int       `json:"index"`
	Time     time.Time `json:"time"`
	Src      string    `json:"src,omitempty"`
	Dst      string    `json:"dst,omitempty"`
	Proto    string    `json:"proto,omitempty"`
	Verdict  string    `json:"verdict"`
	Target   string    `json:"target,omitempty"`
	Table    string    `json:"table,omitempty"`
	Chain    string    `json:"chain,omitempty"`
	Rule     string    `json:"rule,omitempty"`
	RuleNum  int       `json:"rule_num,omitempty"`
	Reason   string    `json:"reason"`
	CTState  string    `json:"ctstate"`
	CTDir    string    `json:"ctdir,omitempty"`
	CTReason string    `json:"ct_reason,omitempty"`
	Mark     uint32    `json:"mark,omitempty"`
	Out      string    `json:"out,omitempty"`
	Response string    `json:"response,omitempty"`
	// Tee holds the copies TEE rules made (hex), each with its gateway.
	Tee    []teeJSON   `json:"tee,omitempty"`
	Logs   []string    `json:"logs,omitempty"`
	Events []string    `json:"events,omitempty"`
	Trace  []traceJSON `json:"trace,omitempty"`
}

type teeJSON struct {
	Gateway string `json:"gateway"`
	OIF     string `json:"oif,omitempty"`
	Packet  string `json:"packet"`
}

type traceJSON struct {
	Table   string `json:"table"`
	Chain   string `json:"chain"`
	Rule    int    `json:"rule"`
	Matched bool   `json:"matched"`
}

func (r *packetRecord) fill(p *packet.Packet, v nfgo.Verdict, trace []filter.TraceEvent) {
	r.Src, r.Dst, r.Proto = endpoint(p, true), endpoint(p, false), protoSummary(p)
	r.Verdict = v.Action.String()
	r.Reason = v.String()
	r.Mark, r.Out = v.Mark, v.Out
	r.CTState, r.CTReason = v.CT.String(), v.CTReason
	if v.CT != conntrack.Untracked && v.CT != conntrack.Invalid {
		r.CTDir = v.CTDir.String()
	}
	if v.Chain != nil {
		r.Table, r.Chain, r.RuleNum = v.Table.String(), v.Chain.Name, v.Rule
		r.Target = v.Chain.Policy.String()
	}
	if v.RuleRef != nil {
		r.Rule = "-A " + v.Chain.Name + " " + iptables.FormatRule(v.RuleRef, p.Family)
		r.Target = targetName(v.RuleRef.Target)
	}
	if resp := v.Effects.Response(); resp != nil {
		r.Response = hex.EncodeToString(resp)
	}
	r.Logs = v.Effects.Logs()
	for _, e := range v.Effects {
		if e.Kind == filter.EffectTee {
			r.Tee = append(r.Tee, teeJSON{Gateway: e.To.Addr().String(), OIF: e.Text, Packet: hex.EncodeToString(e.Packet)})
		}
	}
	for _, ev := range trace {
		r.Trace = append(r.Trace, traceJSON{Table: ev.Table.String(), Chain: ev.Chain, Rule: ev.Rule, Matched: ev.Matched})
	}
}

func targetName(t filter.Target) string {
	switch t := t.(type) {
	case nil:
		return ""
	case *filter.StandardTarget:
		return t.Verdict.String()
	case *filter.JumpTarget:
		return t.Chain
	}
	return name(t)
}

func endpoint(p *packet.Packet, src bool) string {
	a := p.Dst()
	port := p.DstPort
	if src {
		a, port = p.Src(), p.SrcPort
	}
	if !a.IsValid() {
		return ""
	}
	if p.L4Off != 0 && (p.Proto == 6 || p.Proto == 17 || p.Proto == 132 || p.Proto == 136) {
		return netip.AddrPortFrom(a, port).String()
	}
	return a.String()
}

func protoSummary(p *packet.Packet) string {
	name := iptables.ProtocolName(p.Proto)
	switch {
	case p.Invalid != packet.OK:
		return name + " (" + p.Invalid.String() + ")"
	case p.Proto == 6 && p.L4Off != 0:
		return name + " " + tcpFlags(p.TCPFlags)
	case (p.Proto == 1 || p.Proto == 58) && p.L4Off != 0:
		return fmt.Sprintf("%s %d/%d", name, p.ICMPType, p.ICMPCode)
	case p.Fragment:
		return fmt.Sprintf("%s frag@%d", name, p.FragOffset)
	}
	return name
}

func tcpFlags(f uint8) string {
	const names = "FSRPAUEC"
	var b strings.Builder
	for i := range 8 {
		if f&(1<<i) != 0 {
			b.WriteByte(names[i])
		}
	}
	return b.String()
}

// replayPrinter prints per-packet lines and the summary.
type replayPrinter struct {
	w       io.Writer
	o       replayOptions
	tw      *tabwriter.Writer
	enc     *json.Encoder
	counts  map[string]int
	packets int
}

func newReplayPrinter(w io.Writer, o replayOptions) *replayPrinter {
	rp := &replayPrinter{w: w, o: o, counts: map[string]int{}}
	if o.json {
		rp.enc = json.NewEncoder(w)
	} else {
		rp.tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(rp.tw, "#\tSRC\tDST\tPROTO\tCTSTATE\tVERDICT\tBY")
	}
	return rp
}

func (rp *replayPrinter) record(r *packetRecord, _ *packet.Packet, _ *nfgo.Engine) {
	rp.packets++
	rp.counts[r.Verdict]++
	if rp.enc != nil {
		_ = rp.enc.Encode(r)
		return
	}
	by := r.Reason
	if r.Rule != "" {
		by = fmt.Sprintf("%s %s #%d: %s", r.Table, r.Chain, r.RuleNum, r.Rule)
	}
	ct := r.CTState
	if r.CTDir == "reply" {
		ct += " (reply)"
	}
	fmt.Fprintf(rp.tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Index, r.Src, r.Dst, r.Proto, ct, r.Verdict, by)
	for _, l := range r.Logs {
		fmt.Fprintf(rp.tw, "\t\t\t\t\t\tlog: %s\n", l)
	}
	for _, ev := range r.Events {
		fmt.Fprintf(rp.tw, "\t\t\t\t\t\tevent: %s\n", ev)
	}
	for _, t := range r.Trace {
		m := "no match"
		if t.Matched {
			m = "match"
		}
		if t.Rule == 0 {
			fmt.Fprintf(rp.tw, "\t\t\t\t\t\ttrace: %s %s policy\n", t.Table, t.Chain)
		} else {
			fmt.Fprintf(rp.tw, "\t\t\t\t\t\ttrace: %s %s rule %d: %s\n", t.Table, t.Chain, t.Rule, m)
		}
	}
}

// finish prints the summary: counts per verdict and the rules that
// matched most, with their counters.
func (rp *replayPrinter) finish(rulesets ...*filter.Ruleset) error {
	if rp.enc != nil {
		return nil
	}
	if err := rp.tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(rp.w, "\n%d packets:", rp.packets)
	verdicts := make([]string, 0, len(rp.counts))
	for v := range rp.counts {
		verdicts = append(verdicts, v)
	}
	sort.Strings(verdicts)
	for _, v := range verdicts {
		fmt.Fprintf(rp.w, " %s %d", v, rp.counts[v])
	}
	fmt.Fprintln(rp.w)
	type hit struct {
		pkts, bytes uint64
		table       string
		rule        string
	}
	var hits []hit
	for _, rs := range rulesets {
		if rs == nil {
			continue
		}
		for _, t := range rs.Tables() {
			for _, c := range t.Chains {
				for _, r := range c.Rules {
					if p, b := r.Counters.Load(); p > 0 {
						hits = append(hits, hit{p, b, t.ID.String(), "-A " + c.Name + " " + iptables.FormatRule(r, rs.Family)})
					}
				}
			}
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].pkts > hits[j].pkts })
	if len(hits) > 10 {
		hits = hits[:10]
	}
	if len(hits) > 0 {
		fmt.Fprintf(rp.w, "\ntop rules:\n%8s %10s  %-8s %s\n", "pkts", "bytes", "table", "rule")
		for _, h := range hits {
			fmt.Fprintf(rp.w, "%8d %10d  %-8s %s\n", h.pkts, h.bytes, h.table, h.rule)
		}
	}
	return nil
}
