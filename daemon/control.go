package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/packet"
)

// The control socket speaks one command per connection: the client sends
// a line, the server answers with text and closes. The commands:
//
//	reload                     re-read the rules (like SIGHUP)
//	stats                      the metrics, in Prometheus text
//	counters                   the rules with their counters, like iptables -L -v -n -x
//	conntrack -L               the table, in conntrack -L format
//	conntrack -F               flush the table
//	conntrack -D [filters]     delete matching connections; filters are
//	                           -p PROTO, -s ADDR, -d ADDR, --sport N, --dport N
//	                           (of the original direction)
//	conntrack -E               stream events until the client hangs up
//	conntrack export           write the table into the kernel's, NAT
//	                           bindings included (see ExportKernel)
//	conntrack -L|-F|-E expect  the same for the expectations
//	sync commit                the HA pair's commands, as conntrackd's
//	sync flush [external|internal]  -c, -f, -n, -B, -s, -i and -e
//	sync resync                (see syncCommand)
//	sync bulk
//	sync stats
//	sync internal|external
//	ipset COMMAND ...          an ipset command on the daemon's sets
//	                           (create, add, del, test, list, save,
//	                           restore with the file after the line,
//	                           flush, rename, swap, destroy)
//
// A failed command's answer starts with "error: ".

// ServeControl serves the control socket at path until ctx ends. A stale
// socket file is replaced.
func (s *Server) ServeControl(ctx context.Context, path string) error {
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("control socket: %w", err)
	}
	go func() {
		<-ctx.Done()
		ln.Close()
		os.Remove(path)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("control socket: %w", err)
		}
		go s.control(ctx, c)
	}
}

func (s *Server) control(ctx context.Context, c net.Conn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return
	}
	c.SetReadDeadline(time.Time{})
	w := bufio.NewWriter(c)
	defer w.Flush()
	if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "ipset "); ok {
		// ipset's lines keep their quoting (comments), so they are
		// not split here; restore's file follows the line.
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		err = s.IpsetCommand(rest, w, r)
	} else {
		err = s.Command(ctx, strings.Fields(line), w, r)
	}
	if err != nil {
		fmt.Fprintf(w, "error: %v\n", err)
	}
}

// IpsetCommand runs one ipset command on the daemon's sets, as the
// ipset tool takes it: create, add, del, test, flush, rename, swap,
// destroy (with -exist or -!), list [NAME], save [NAME], and restore,
// which reads an ipset save file from body. Changes apply to packets at
// once; rules naming a set that is created here find it at the next
// reload, which also replaces the sets with those of --ipsets.
func (s *Server) IpsetCommand(line string, w *bufio.Writer, body io.Reader) error {
	sets := s.eng.Sets()
	if sets == nil {
		return errors.New("the daemon has no sets (start it with --ipsets)")
	}
	f := strings.Fields(line)
	if len(f) == 0 {
		return errors.New("ipset needs a command")
	}
	exist := false
	for len(f) > 0 && (f[0] == "-exist" || f[0] == "-!") {
		exist = true
		f = f[1:]
	}
	if len(f) == 0 {
		return errors.New("ipset needs a command")
	}
	name := ""
	if len(f) > 1 {
		name = f[1]
	}
	switch f[0] {
	case "save":
		if name != "" {
			return sets.SaveSet(w, name)
		}
		return sets.Save(w)
	case "list":
		return sets.List(w, name)
	case "restore":
		return sets.Restore(body, exist)
	case "test":
		if len(f) < 3 {
			return errors.New("Invalid test command: missing element") //lint:ignore ST1005 ipset's message
		}
		ok, err := sets.Test(f[1], f[2])
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s is NOT in set %s.", f[2], f[1]) //lint:ignore ST1005 ipset's message
		}
		fmt.Fprintf(w, "%s is in set %s.\n", f[2], f[1])
		return nil
	}
	return sets.Exec(line, false)
}

// Command runs one control command, writing its answer to w. For
// conntrack -E it streams until ctx ends or the peer (closer) goes.
func (s *Server) Command(ctx context.Context, args []string, w *bufio.Writer, peer io.Reader) error {
	if len(args) == 0 {
		return errors.New("empty command")
	}
	ct := s.eng.Conntrack()
	switch args[0] {
	case "reload":
		if err := s.Reload(); err != nil {
			return err
		}
		fmt.Fprintln(w, "rules reloaded")
		return nil
	case "iptables-restore", "ip6tables-restore":
		return s.restoreCommand(args, w, peer)
	case "iptables-save", "ip6tables-save":
		return s.saveCommand(args, w)
	case "stats":
		s.WriteMetrics(w)
		return nil
	case "recent":
		return s.recent(args[1:], w)
	case "sync":
		return s.syncCommand(args[1:], w)
	case "nfacct":
		return s.nfacct(args[1:], w)
	case "idletimer":
		// /sys/class/xt_idletimer/timers: each label and the seconds
		// it has left.
		now := time.Now()
		for _, tm := range s.eng.IdleTimers() {
			fmt.Fprintf(w, "%s %d\n", tm.Label(), int64(tm.Left(now).Seconds()))
		}
		return nil
	case "counters":
		v4, v6 := s.Rulesets()
		for _, rs := range []*filter.Ruleset{v4, v6} {
			if rs != nil {
				writeCounters(w, rs)
			}
		}
		return nil
	case "conntrack":
		if ct == nil {
			return errors.New("conntrack is off")
		}
		if len(args) < 2 {
			return errors.New("conntrack needs -L, -F, -D or -E")
		}
		now := time.Now()
		if len(args) > 2 && args[2] == "expect" {
			return expectCommand(ctx, ct, args[1], now, w, peer)
		}
		switch args[1] {
		case "-L":
			n := 0
			for c := range ct.All(now) {
				fmt.Fprintln(w, c.String())
				n++
			}
			fmt.Fprintf(w, "conntrack v1.4.7 (conntrack-tools): %d flow entries have been shown.\n", n)
		case "-F":
			n := ct.Len()
			ct.Flush(now)
			fmt.Fprintf(w, "conntrack v1.4.7 (conntrack-tools): connection tracking table has been emptied (%d entries).\n", n)
		case "-D":
			match, err := parseCTFilter(args[2:])
			if err != nil {
				return err
			}
			n := ct.DeleteFunc(now, match)
			fmt.Fprintf(w, "conntrack v1.4.7 (conntrack-tools): %d flow entries have been deleted.\n", n)
		case "-E":
			sub := ct.Subscribe(4096)
			defer sub.Close()
			return streamEvents(ctx, sub.Events(), w, peer)
		case "export":
			n, err := s.ExportKernel()
			fmt.Fprintf(w, "%d connections written to the kernel's table\n", n)
			return err
		default:
			return fmt.Errorf("conntrack %s: unknown option", args[1])
		}
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// expectCommand is conntrack -L, -F or -E on the expectation table.
func expectCommand(ctx context.Context, ct *conntrack.Table, op string, now time.Time, w *bufio.Writer, peer io.Reader) error {
	switch op {
	case "-L":
		exps := ct.Expectations(now)
		for _, e := range exps {
			fmt.Fprintln(w, e.String())
		}
		fmt.Fprintf(w, "conntrack v1.4.7 (conntrack-tools): %d expectations have been shown.\n", len(exps))
	case "-F":
		n := len(ct.Expectations(now))
		ct.FlushExpectations(now)
		fmt.Fprintf(w, "conntrack v1.4.7 (conntrack-tools): expectation table has been emptied (%d entries).\n", n)
	case "-E":
		sub := ct.SubscribeExpectations(4096)
		defer sub.Close()
		return streamEvents(ctx, sub.Events(), w, peer)
	default:
		return fmt.Errorf("conntrack %s expect: unknown option", op)
	}
	return nil
}

// streamEvents writes events until ctx ends or the peer hangs up.
func streamEvents[E fmt.Stringer](ctx context.Context, events <-chan E, w *bufio.Writer, peer io.Reader) error {
	gone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, peer)
		close(gone)
	}()
	w.Flush()
	for {
		select {
		case ev := <-events:
			fmt.Fprintln(w, ev.String())
			if err := w.Flush(); err != nil {
				return nil
			}
		case <-gone:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// parseCTFilter reads conntrack -D's filters.
func parseCTFilter(args []string) (func(conntrack.Conn) bool, error) {
	var proto int = -1
	var src, dst netip.Addr
	sport, dport := -1, -1
	for i := 0; i < len(args); i++ {
		if i+1 >= len(args) {
			return nil, fmt.Errorf("%s needs a value", args[i])
		}
		v := args[i+1]
		var err error
		switch args[i] {
		case "-p", "--proto":
			switch v {
			case "tcp":
				proto = 6
			case "udp":
				proto = 17
			case "icmp":
				proto = 1
			case "icmpv6":
				proto = 58
			default:
				proto, err = strconv.Atoi(v)
			}
		case "-s", "--src", "--orig-src":
			src, err = netip.ParseAddr(v)
		case "-d", "--dst", "--orig-dst":
			dst, err = netip.ParseAddr(v)
		case "--sport", "--orig-port-src":
			sport, err = strconv.Atoi(v)
		case "--dport", "--orig-port-dst":
			dport, err = strconv.Atoi(v)
		default:
			return nil, fmt.Errorf("unknown filter %s", args[i])
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", args[i], v, err)
		}
		i++
	}
	return func(c conntrack.Conn) bool {
		o := &c.Orig
		return (proto < 0 || int(o.Proto) == proto) &&
			(!src.IsValid() || o.SrcAddr() == src.Unmap()) &&
			(!dst.IsValid() || o.DstAddr() == dst.Unmap()) &&
			(sport < 0 || int(o.SrcPort) == sport) &&
			(dport < 0 || int(o.DstPort) == dport)
	}, nil
}

// writeCounters prints a ruleset's chains with their counters, as
// iptables -L -v -n -x lays them out; each rule is shown in
// iptables-save syntax.
func writeCounters(w io.Writer, rs *filter.Ruleset) {
	for _, t := range rs.Tables() {
		fmt.Fprintf(w, "# %s table %s\n", rs.Family, t.ID)
		for _, c := range t.Chains {
			p, b := c.Counters.Load()
			if c.Builtin {
				fmt.Fprintf(w, "Chain %s (policy %s %d packets, %d bytes)\n", c.Name, c.Policy, p, b)
			} else {
				fmt.Fprintf(w, "Chain %s (%d references)\n", c.Name, references(t, c.Name))
			}
			fmt.Fprintf(w, "%8s %10s %s\n", "pkts", "bytes", "rule")
			for _, r := range c.Rules {
				p, b := r.Counters.Load()
				fmt.Fprintf(w, "%8d %10d %s\n", p, b, iptables.FormatRule(r, rs.Family))
			}
			fmt.Fprintln(w)
		}
	}
}

// references counts the rules that jump or go to chain name.
func references(t *filter.Table, name string) int {
	n := 0
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			if j, ok := r.Target.(*filter.JumpTarget); ok && j.Chain == name {
				n++
			}
		}
	}
	return n
}

// recent is /proc/net/xt_recent: with no argument the lists' names, with
// a name the list's entries, and with a name and "+ADDR", "-ADDR" or "/"
// that change to the list.
func (s *Server) recent(args []string, w *bufio.Writer) error {
	if len(args) == 0 {
		for _, l := range s.eng.RecentLists() {
			fmt.Fprintln(w, l.Name())
		}
		return nil
	}
	l, ok := s.eng.RecentList(args[0])
	if !ok {
		return fmt.Errorf("no recent list %q: no rule names it", args[0])
	}
	switch len(args) {
	case 1:
		_, err := l.WriteTo(w)
		return err
	case 2:
		return l.Control(args[1], time.Now())
	}
	return errors.New("usage: recent [NAME [+ADDR|-ADDR|/]]")
}

// nfacct is the nfacct tool on the daemon's objects: list, add NAME,
// delete NAME, get NAME [reset], flush, with its output.
func (s *Server) nfacct(args []string, w *bufio.Writer) error {
	t := s.eng.NFAcct()
	if len(args) == 0 {
		return errors.New("usage: nfacct list|add NAME|delete NAME|get NAME [reset]|flush")
	}
	name := ""
	if len(args) > 1 {
		name = args[1]
	}
	switch args[0] {
	case "list":
		_, err := t.WriteTo(w)
		return err
	case "add":
		return t.Add(name)
	case "delete", "del":
		return t.Delete(name)
	case "flush":
		return t.Flush()
	case "get":
		a, ok := t.Get(name)
		if !ok {
			return filter.ErrNFAcctNotFound
		}
		var b strings.Builder
		filter.FormatNFAcct(&b, a)
		w.WriteString(b.String())
		if len(args) > 2 && args[2] == "reset" {
			a.Reset()
		}
		return nil
	}
	return fmt.Errorf("nfacct: unknown command %q", args[0])
}

// restoreCommand is iptables-restore (ip6tables-restore) on the rules in
// force, the file following the command line: -n/--noflush,
// -c/--counters and -T/--table TABLE as iptables-restore takes them.
func (s *Server) restoreCommand(args []string, w *bufio.Writer, body io.Reader) error {
	family := packet.IPv4
	if args[0] == "ip6tables-restore" {
		family = packet.IPv6
	}
	var opt iptables.ReadOptions
	for i := 1; i < len(args); i++ {
		switch a := args[i]; a {
		case "-n", "--noflush":
			opt.NoFlush = true
		case "-c", "--counters":
			opt.Counters = true
		case "-T", "--table":
			if i+1 >= len(args) {
				return fmt.Errorf("%s: option %q requires an argument", args[0], a)
			}
			i++
			opt.Table = args[i]
		default:
			return fmt.Errorf("%s: unknown option %q", args[0], a)
		}
	}
	if err := s.Restore(body, family, opt); err != nil {
		return err
	}
	fmt.Fprintln(w, "rules restored")
	return nil
}

// saveCommand is iptables-save (ip6tables-save) of the rules in force:
// -c/--counters and -t/--table TABLE as iptables-save takes them.
func (s *Server) saveCommand(args []string, w *bufio.Writer) error {
	v4, v6 := s.Rulesets()
	rs := v4
	if args[0] == "ip6tables-save" {
		rs = v6
	}
	var opt iptables.WriteOptions
	table := ""
	for i := 1; i < len(args); i++ {
		switch a := args[i]; a {
		case "-c", "--counters":
			opt.Counters = true
		case "-t", "--table":
			if i+1 >= len(args) {
				return fmt.Errorf("%s: option %q requires an argument", args[0], a)
			}
			i++
			table = args[i]
		default:
			return fmt.Errorf("%s: unknown option %q", args[0], a)
		}
	}
	if rs == nil {
		return nil // no rules: iptables-save prints nothing
	}
	if table != "" {
		id, ok := filter.ParseTable(table)
		if !ok {
			return fmt.Errorf("%s: table %q does not exist", args[0], table)
		}
		only := filter.NewRuleset(rs.Family)
		if t := rs.Table(id); t != nil {
			only = rs.Clone()
			for other := range filter.NumTables {
				if other != id {
					only.DropTable(other)
				}
			}
		}
		rs = only
	}
	opt.ConnLabels = s.cfg.ConnLabels
	return iptables.Write(w, rs, opt)
}

// ErrNoSync is the sync commands' error on a daemon started without
// --sync.
var ErrNoSync = errors.New("state sync is off (start nfgo run with --sync conntrackd.conf)")

// syncCommand is conntrackd's local commands on the daemon's HA node:
//
//	commit            -c: the external cache into the live table
//	flush [external]  -f, -f external: empty the external cache
//	flush internal    -f internal: nothing to do, the internal cache
//	                  being the live table (flushing it would drop
//	                  every connection); said so, not an error
//	resync            -n: ask the peer for its whole table
//	bulk              -B: send the whole table to the peer
//	stats             -s
//	internal [expect] -i, -i expect: the live table's connections the
//	                  filter allows, or its expectations
//	external [expect] -e, -e expect: the external cache
//
// commit answers nothing on success, as conntrackd's does.
func (s *Server) syncCommand(args []string, w *bufio.Writer) error {
	n := s.sync
	if n == nil {
		return ErrNoSync
	}
	if len(args) == 0 {
		return errors.New("sync needs commit, flush, resync, bulk, stats, internal or external")
	}
	switch args[0] {
	case "commit":
		_, err := n.Commit()
		return err
	case "flush":
		what := "external"
		if len(args) > 1 {
			what = args[1]
		}
		switch what {
		case "external":
			return n.FlushExternal()
		case "internal":
			fmt.Fprintln(w, "the internal cache is the live table: nothing flushed")
			return nil
		}
		return fmt.Errorf("sync flush %s: want internal or external", what)
	case "resync":
		n.RequestResync()
		return nil
	case "bulk":
		n.SendBulk()
		return nil
	case "stats":
		n.WriteStats(w)
		return nil
	case "internal", "external":
		if len(args) > 1 && args[1] == "expect" {
			exps := n.ExternalExpectations()
			if args[0] == "internal" {
				exps = s.eng.Conntrack().Expectations(time.Now())
			}
			for _, e := range exps {
				fmt.Fprintln(w, e.String())
			}
			return nil
		}
		all := n.Internal()
		if args[0] == "external" {
			all = n.External()
		}
		for c := range all {
			fmt.Fprintln(w, c.String())
		}
		return nil
	}
	return fmt.Errorf("sync %s: unknown command", args[0])
}
