//lint:file-ignore ST1005 the messages are the original tool's, word for word

package iptables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// maxSetName is IPSET_MAXNAMELEN - 1.
const maxSetName = 31

// -m set (libxt_set.c, revision 4): --match-set NAME src,dst,… (or the
// deprecated --set), --return-nomatch, ! --update-counters,
// ! --update-subcounters, and the counter tests --packets-eq|lt|gt and
// --bytes-eq|lt|gt ("!" before -eq tests inequality). Whether the set
// exists is checked when the ruleset is compiled against its sets.
func init() {
	type m = filter.SetMatch
	counter := func(name string, bytes bool, op filter.CounterOp) declOpt[m] {
		return declOpt[m]{name: name, invert: op == filter.CounterEq, set: func(x *m, c *optCall) error {
			t := &x.Query.Packets
			what := "packets"
			if bytes {
				t, what = &x.Query.Bytes, "bytes"
			}
			if t.Op != filter.CounterNone {
				return fmt.Errorf("%w: only one of the --%s-[eq|lt|gt] is allowed", ErrBadArgument, what)
			}
			v, err := strconv.ParseUint(c.value, 10, 64)
			if err != nil {
				return fmt.Errorf("%w: set: bad value for option \"--%s\": %q", ErrBadArgument, c.name, c.value)
			}
			t.Op, t.Value = op, v
			if c.invert {
				t.Op = filter.CounterNe
			}
			return nil
		}}
	}
	matchSet := func(x *m, c *optCall) error {
		if x.Set != "" {
			return fmt.Errorf("%w: --match-set can be specified only once", ErrBadArgument)
		}
		name, q, err := parseSetArgs(c)
		if err != nil {
			return err
		}
		x.Set, x.Invert = name, c.invert
		x.Query.Dim, x.Query.Src = q.Dim, q.Src
		return nil
	}
	declare(&declared[m]{
		name: "set",
		opts: []declOpt[m]{
			{name: "match-set", invert: true, multi: true, set: matchSet},
			{name: "set", invert: true, multi: true, set: matchSet},
			{name: "return-nomatch", flag: true, set: func(x *m, _ *optCall) error { x.Query.ReturnNomatch = true; return nil }},
			{name: "update-counters", flag: true, invert: true, set: func(x *m, c *optCall) error { x.Query.NoCounters = c.invert; return nil }},
			{name: "update-subcounters", flag: true, invert: true, set: func(x *m, c *optCall) error { x.Query.NoSubcounters = c.invert; return nil }},
			counter("packets-eq", false, filter.CounterEq),
			counter("packets-lt", false, filter.CounterLt),
			counter("packets-gt", false, filter.CounterGt),
			counter("bytes-eq", true, filter.CounterEq),
			counter("bytes-lt", true, filter.CounterLt),
			counter("bytes-gt", true, filter.CounterGt),
		},
		check: func(x *m, _ optSet, _ *ruleContext) error {
			if x.Set == "" {
				return fmt.Errorf("%w: You must specify `--match-set' with proper arguments", ErrBadArgument)
			}
			return nil
		},
		save: func(w *saver, x *m) {
			w.opt(x.Invert, "match-set", x.Set+" "+setFlags(&x.Query))
			if x.Query.ReturnNomatch {
				w.opt(false, "return-nomatch", "")
			}
			if x.Query.NoCounters {
				w.opt(true, "update-counters", "")
			}
			if x.Query.NoSubcounters {
				w.opt(true, "update-subcounters", "")
			}
			saveCounter(w, "packets", x.Query.Packets)
			saveCounter(w, "bytes", x.Query.Bytes)
		},
	})
}

// -j SET (libxt_SET.c, revision 3): --add-set and --del-set NAME
// src,dst,…, --timeout and --exist for the add, --map-set NAME flags
// with --map-mark, --map-prio and --map-queue.
func init() {
	type t = filter.SetTarget
	setArg := func(which func(x *t) (*string, *filter.SetQuery)) func(x *t, c *optCall) error {
		return func(x *t, c *optCall) error {
			name, q, err := parseSetArgs(c)
			if err != nil {
				return err
			}
			n, dst := which(x)
			*n, *dst = name, q
			return nil
		}
	}
	flag := func(f func(x *t) *bool) func(x *t, _ *optCall) error {
		return func(x *t, _ *optCall) error { *f(x) = true; return nil }
	}
	declare(&declared[t]{
		name:   "SET",
		target: true,
		opts: []declOpt[t]{
			{name: "add-set", set: setArg(func(x *t) (*string, *filter.SetQuery) { return &x.AddSet, &x.Add })},
			{name: "del-set", set: setArg(func(x *t) (*string, *filter.SetQuery) { return &x.DelSet, &x.Del })},
			{name: "map-set", set: setArg(func(x *t) (*string, *filter.SetQuery) { return &x.MapSet, &x.Map })},
			{name: "timeout", set: func(x *t, c *optCall) error {
				v, err := optUint("SET", "timeout", c.value, 0, 1<<32-2)
				if err != nil {
					return err
				}
				x.Timeout, x.HasTimeout = uint32(v), true
				return nil
			}},
			{name: "exist", flag: true, set: flag(func(x *t) *bool { return &x.Exist })},
			{name: "map-mark", flag: true, set: flag(func(x *t) *bool { return &x.MapMark })},
			{name: "map-prio", flag: true, set: flag(func(x *t) *bool { return &x.MapPrio })},
			{name: "map-queue", flag: true, set: flag(func(x *t) *bool { return &x.MapQueue })},
		},
		check: func(x *t, _ optSet, _ *ruleContext) error {
			if x.AddSet == "" && x.DelSet == "" && x.MapSet == "" {
				return fmt.Errorf("%w: You must specify either `--add-set' or `--del-set' or `--map-set'", ErrBadArgument)
			}
			if x.MapSet != "" && !x.MapMark && !x.MapPrio && !x.MapQueue {
				return fmt.Errorf("%w: You must specify flags `--map-mark' or '--map-prio` or `--map-queue'", ErrBadArgument)
			}
			return nil
		},
		save: func(w *saver, x *t) {
			if x.AddSet != "" {
				w.opt(false, "add-set", x.AddSet+" "+setFlags(&x.Add))
				if x.Exist {
					w.opt(false, "exist", "")
				}
				if x.HasTimeout {
					w.opt(false, "timeout", strconv.FormatUint(uint64(x.Timeout), 10))
				}
			}
			if x.DelSet != "" {
				w.opt(false, "del-set", x.DelSet+" "+setFlags(&x.Del))
			}
			if x.MapSet != "" {
				w.opt(false, "map-set", x.MapSet+" "+setFlags(&x.Map))
				if x.MapMark {
					w.opt(false, "map-mark", "")
				}
				if x.MapPrio {
					w.opt(false, "map-prio", "")
				}
				if x.MapQueue {
					w.opt(false, "map-queue", "")
				}
			}
		},
	})
}

// parseSetArgs reads a set option's two words: the set's name and its
// comma-separated src/dst flags (parse_dirs).
func parseSetArgs(c *optCall) (string, filter.SetQuery, error) {
	var q filter.SetQuery
	name := c.value
	if len(name) > maxSetName {
		return "", q, fmt.Errorf("%w: setname `%s' too long, max %d characters.", ErrBadArgument, name, maxSetName)
	}
	flags, err := c.args.value(c.name)
	if err != nil {
		return "", q, err
	}
	for _, f := range strings.Split(flags, ",") {
		if q.Dim == filter.SetDims {
			return "", q, fmt.Errorf("%w: Can't be more src/dst options than %d.", ErrBadArgument, filter.SetDims)
		}
		switch f {
		case "src":
			q.Src[q.Dim] = true
		case "dst":
		default:
			// iptables' message, its typo included.
			return "", q, fmt.Errorf("%w: You must spefify (the comma separated list of) 'src' or 'dst'.", ErrBadArgument)
		}
		q.Dim++
	}
	return name, q, nil
}

// setFlags prints a query's directions ("src,dst").
func setFlags(q *filter.SetQuery) string {
	parts := make([]string, q.Dim)
	for i := range q.Dim {
		parts[i] = "dst"
		if q.Src[i] {
			parts[i] = "src"
		}
	}
	return strings.Join(parts, ",")
}

func saveCounter(w *saver, what string, t filter.CounterTest) {
	op := map[filter.CounterOp]string{filter.CounterEq: "eq", filter.CounterNe: "eq", filter.CounterLt: "lt", filter.CounterGt: "gt"}[t.Op]
	if op == "" {
		return
	}
	w.opt(t.Op == filter.CounterNe, what+"-"+op, strconv.FormatUint(t.Value, 10))
}
