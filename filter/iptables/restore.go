package iptables

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// ReadOptions are iptables-restore's options.
type ReadOptions struct {
	// NoFlush keeps the tables' current contents (iptables-restore -n):
	// the file's rules are added to what is there.
	NoFlush bool
	// Counters restores the packet and byte counters given in the file
	// (iptables-restore -c). Without it counters start at zero.
	Counters bool
	// Table restricts the restore to one table (-T); empty means all.
	Table string
	// ConnLabels names the connection labels -m connlabel may name
	// (iptables reads DefaultConnLabelsPath); nil: labels are numbers.
	ConnLabels *ConnLabels
}

// Parse reads an iptables-save file for family f into a new ruleset. It
// returns every problem found, each as a *ParseError, joined with
// errors.Join; the ruleset is nil then.
func Parse(r io.Reader, f packet.Family) (*filter.Ruleset, error) {
	rs := filter.NewRuleset(f)
	if err := Read(r, rs, ReadOptions{Counters: true}); err != nil {
		return nil, err
	}
	return rs, nil
}

// Read applies an iptables-save file to rs as iptables-restore applies it
// to the kernel. rs is changed only if the whole file is valid: on error,
// rs is untouched and every problem found is returned, each as a
// *ParseError, joined with errors.Join.
func Read(r io.Reader, rs *filter.Ruleset, opt ReadOptions) error {
	next, err := Restore(r, rs, opt)
	if err != nil {
		return err
	}
	*rs = *next
	return nil
}

// Restore is Read into a copy: it returns rs with the file applied and
// leaves rs as it was, so that the program compiled from rs runs on
// while the next is compiled (filter.CompileNext). The copy shares rs's
// rules, so their counters carry over. On error it returns every
// problem found, as Read does.
func Restore(r io.Reader, rs *filter.Ruleset, opt ReadOptions) (*filter.Ruleset, error) {
	work := rs.Clone()
	rd := &restorer{rs: work, opt: opt, f: rs.Family}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		rd.line++
		rd.do(sc.Text())
	}
	if err := sc.Err(); err != nil {
		rd.fail(fmt.Errorf("reading: %w", err))
	}
	if rd.inTable {
		rd.fail(fmt.Errorf("%w: COMMIT expected at line %d", ErrSyntax, rd.line+1))
	}
	if len(rd.errs) > 0 {
		return nil, errors.Join(rd.errs...)
	}
	return work, nil
}

type restorer struct {
	rs      *filter.Ruleset
	opt     ReadOptions
	f       packet.Family
	line    int
	inTable bool
	skip    bool // inside a table excluded by ReadOptions.Table
	table   filter.TableID
	errs    []error
}

func (rd *restorer) fail(err error) {
	rd.errs = append(rd.errs, &ParseError{Line: rd.line, Err: err})
}

func (rd *restorer) do(line string) {
	s := strings.TrimSpace(line)
	if s == "" || s[0] == '#' {
		return
	}
	switch {
	case s[0] == '*':
		if rd.inTable {
			rd.fail(fmt.Errorf("%w: COMMIT expected at line %d", ErrSyntax, rd.line))
		}
		name := strings.TrimSpace(s[1:])
		id, ok := filter.ParseTable(name)
		if !ok {
			rd.fail(fmt.Errorf("%w: table '%s' does not exist", ErrSyntax, name))
			rd.inTable, rd.skip = true, true
			return
		}
		rd.inTable, rd.table = true, id
		rd.skip = rd.opt.Table != "" && rd.opt.Table != name
		if !rd.skip && !rd.opt.NoFlush {
			rd.rs.DropTable(id)
		}
		if !rd.skip {
			rd.rs.EnsureTable(id)
		}
	case !rd.inTable:
		rd.fail(fmt.Errorf("%w: no table specified (a line before the first *table)", ErrSyntax))
	case s == "COMMIT":
		rd.inTable = false
	case rd.skip:
	case s[0] == ':':
		rd.chainLine(s[1:])
	default:
		rd.command(s)
	}
}

// chainLine handles ":NAME POLICY [packets:bytes]".
func (rd *restorer) chainLine(s string) {
	fields := strings.Fields(s)
	if len(fields) < 2 {
		rd.fail(fmt.Errorf("%w: malformed chain line, want \":CHAIN POLICY [packets:bytes]\"", ErrSyntax))
		return
	}
	name, policy := fields[0], fields[1]
	var counters *[2]uint64
	if len(fields) >= 3 {
		c, err := parseBracketCounters(fields[2])
		if err != nil {
			rd.fail(err)
			return
		}
		counters = &c
	}
	t := rd.rs.EnsureTable(rd.table)
	c := t.Chain(name)
	switch {
	case c != nil && c.Builtin:
		if policy == "-" {
			rd.fail(fmt.Errorf("%w: built-in chain %s needs a policy (ACCEPT or DROP), not '-'", ErrSyntax, name))
			return
		}
		p, ok := parsePolicy(policy)
		if !ok {
			rd.fail(fmt.Errorf("%w: Can't set policy `%s' on `%s': Bad policy name", ErrSyntax, policy, name))
			return
		}
		c.Policy = p
		c.Line = rd.line
		if counters != nil && rd.opt.Counters {
			c.Counters.Set(counters[0], counters[1])
		}
	case policy != "-":
		rd.fail(fmt.Errorf("%w: Can't set policy `%s' on `%s': Bad built-in chain name", ErrSyntax, policy, name))
	case c != nil:
		// iptables-restore --noflush flushes a user chain it declares
		// again; without --noflush a redeclaration is an error.
		if !rd.opt.NoFlush {
			rd.fail(fmt.Errorf("%w: chain `%s' already exists", filter.ErrChainExists, name))
			return
		}
		c.Rules = nil
		c.Line = rd.line
	default:
		if err := rd.rs.NewChain(rd.table, name); err != nil {
			rd.fail(err)
			return
		}
		t.Chain(name).Line = rd.line
	}
}

func parsePolicy(s string) (filter.Policy, bool) {
	switch s {
	case "ACCEPT":
		return filter.PolicyAccept, true
	case "DROP":
		return filter.PolicyDrop, true
	}
	return filter.PolicyNone, false
}

func parseBracketCounters(s string) ([2]uint64, error) {
	var c [2]uint64
	inner, ok := strings.CutPrefix(s, "[")
	if ok {
		inner, ok = strings.CutSuffix(inner, "]")
	}
	p, b, ok2 := strings.Cut(inner, ":")
	if !ok || !ok2 {
		return c, fmt.Errorf("%w: bad counters %q, want [packets:bytes]", ErrSyntax, s)
	}
	var err1, err2 error
	c[0], err1 = strconv.ParseUint(p, 10, 64)
	c[1], err2 = strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil {
		return c, fmt.Errorf("%w: bad counters %q, want [packets:bytes]", ErrSyntax, s)
	}
	return c, nil
}

// command handles one iptables command line: [counters] -A/-I/... CHAIN spec.
func (rd *restorer) command(s string) {
	var counters *[2]uint64
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			rd.fail(fmt.Errorf("%w: bad counters, want [packets:bytes]", ErrSyntax))
			return
		}
		c, err := parseBracketCounters(s[:end+1])
		if err != nil {
			rd.fail(err)
			return
		}
		counters, s = &c, s[end+1:]
	}
	words, err := SplitWords(s)
	if err != nil {
		rd.fail(err)
		return
	}
	if len(words) == 0 {
		return
	}
	cmd, rest := words[0], words[1:]
	cmd = canonicalCommand(cmd)
	if len(rest) == 0 && cmd != "-F" && cmd != "-X" && cmd != "-Z" {
		rd.fail(fmt.Errorf("%w: option \"%s\" requires an argument", ErrSyntax, cmd))
		return
	}
	t, rs := rd.table, rd.rs
	tbl := rs.EnsureTable(t)
	has := func(name string) bool { return tbl.Chain(name) != nil }
	chainArg := func() string {
		if len(rest) == 0 {
			return ""
		}
		return rest[0]
	}
	switch cmd {
	case "-A", "-I", "-R", "-D":
		chain := rest[0]
		if !has(chain) {
			rd.fail(fmt.Errorf("%w: chain '%s' does not exist", filter.ErrNoChain, chain))
			return
		}
		spec := rest[1:]
		pos := 0
		if cmd != "-A" && len(spec) > 0 && isNumber(spec[0]) {
			pos, _ = strconv.Atoi(spec[0])
			spec = spec[1:]
		}
		if cmd == "-D" && pos > 0 {
			if err := rs.Delete(t, chain, pos); err != nil {
				rd.fail(err)
			}
			return
		}
		if cmd == "-R" && pos == 0 {
			rd.fail(fmt.Errorf("%w: -R requires a rule number", ErrSyntax))
			return
		}
		pr, err := parseRule(spec, rd.f, t, chain, has, rd.opt.ConnLabels)
		if err != nil {
			rd.fail(err)
			return
		}
		if pr.family != 0 && pr.family != rd.f {
			return // -4 in an ip6tables file or -6 in an iptables file
		}
		if counters != nil {
			pr.counters = counters
		}
		if !rd.opt.Counters {
			pr.counters = nil
		}
		rules := pr.rules()
		for _, r := range rules {
			r.Line = rd.line
		}
		switch cmd {
		case "-A":
			for _, r := range rules {
				err = rs.Append(t, chain, r)
			}
		case "-I":
			if pos == 0 {
				pos = 1
			}
			for i, r := range rules {
				if err = rs.Insert(t, chain, pos+i, r); err != nil {
					break
				}
			}
		case "-R":
			if len(rules) != 1 {
				err = fmt.Errorf("%w: -R with more than one source or destination address", ErrSyntax)
			} else {
				err = rs.Replace(t, chain, pos, rules[0])
			}
		case "-D":
			err = rd.deleteMatching(chain, rules)
		}
		if err != nil {
			rd.fail(err)
		}
	case "-N":
		if err := rs.NewChain(t, rest[0]); err != nil {
			rd.fail(err)
		} else {
			tbl.Chain(rest[0]).Line = rd.line
		}
	case "-X":
		var err error
		if name := chainArg(); name == "" {
			err = rs.DeleteUserChains(t)
		} else {
			err = rs.DeleteChain(t, name)
		}
		if err != nil {
			rd.fail(err)
		}
	case "-F":
		if err := rs.Flush(t, chainArg()); err != nil {
			rd.fail(err)
		}
	case "-Z":
		for _, c := range tbl.Chains {
			if name := chainArg(); name == "" || name == c.Name {
				c.Counters.Set(0, 0)
				for _, r := range c.Rules {
					r.Counters.Set(0, 0)
				}
			}
		}
	case "-P":
		if len(rest) < 2 {
			rd.fail(fmt.Errorf("%w: -P requires a chain and a policy", ErrSyntax))
			return
		}
		p, ok := parsePolicy(rest[1])
		if !ok {
			rd.fail(fmt.Errorf("%w: Bad policy name `%s'", ErrSyntax, rest[1]))
			return
		}
		if err := rs.SetPolicy(t, rest[0], p); err != nil {
			rd.fail(err)
		}
	case "-E":
		if len(rest) < 2 {
			rd.fail(fmt.Errorf("%w: -E requires old-chain-name and new-chain-name", ErrSyntax))
			return
		}
		if err := rs.RenameChain(t, rest[0], rest[1]); err != nil {
			rd.fail(err)
		}
	default:
		rd.fail(fmt.Errorf("%w: unknown command \"%s\"", ErrSyntax, words[0]))
	}
}

// deleteMatching deletes the first rule whose saved form equals the
// given rule's, as iptables -D RULE-SPECIFICATION does.
func (rd *restorer) deleteMatching(chain string, rules []*filter.Rule) error {
	c := rd.rs.Table(rd.table).Chain(chain)
	for _, r := range rules {
		want := formatRule(r, rd.f, rd.opt.ConnLabels)
		found := false
		for i, have := range c.Rules {
			if formatRule(have, rd.f, rd.opt.ConnLabels) == want {
				if err := rd.rs.Delete(rd.table, chain, i+1); err != nil {
					return err
				}
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("%w: Bad rule (does a matching rule exist in that chain?)", filter.ErrNoRule)
		}
	}
	return nil
}

func canonicalCommand(c string) string {
	switch c {
	case "--append":
		return "-A"
	case "--insert":
		return "-I"
	case "--delete":
		return "-D"
	case "--replace":
		return "-R"
	case "--new-chain", "--new":
		return "-N"
	case "--delete-chain":
		return "-X"
	case "--flush":
		return "-F"
	case "--zero":
		return "-Z"
	case "--policy":
		return "-P"
	case "--rename-chain":
		return "-E"
	}
	return c
}

// SplitWords splits a rule line into words as iptables-restore does:
// whitespace separates words, double quotes group them, and inside quotes
// a backslash escapes the next character.
func SplitWords(s string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		quoted  bool
		escaped bool
	)
	for i := 0; i < len(s); i++ {
		r := s[i]
		switch {
		case escaped:
			cur.WriteByte(r)
			escaped = false
		case quoted && r == '\\':
			escaped = true
		case r == '"':
			quoted = !quoted
			inWord = true
		case !quoted && (r == ' ' || r == '\t'):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(r)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("%w: unterminated quote", ErrSyntax)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
