package iptables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// extension is the syntax of one match (-m NAME) or target (-j NAME).
type extension struct {
	// name is the extension's name as the user writes it and
	// iptables-save prints it.
	name string
	// family limits the extension to IPv4 or IPv6; 0 allows both.
	family packet.Family
	// target is true for targets (-j), false for matches (-m).
	target bool
	// parser starts parsing one use of the extension in a rule.
	parser func(rc *ruleContext) extParser
	// save appends the extension's options in iptables-save's canonical
	// form, each with a leading space (" --dport 80"). x is the value
	// parser's done returned.
	save func(w *saver, x any)
	// owns reports whether a filter value belongs to this extension; it is
	// how Write finds the extension of a match or target.
	owns func(x any) bool
}

// ruleContext is what an extension may consult while parsing: the family,
// the rule header parsed so far, and where the rule goes.
type ruleContext struct {
	// labels names connection labels (ReadOptions.ConnLabels).
	labels *ConnLabels
	family packet.Family
	header *filter.Header
	table  filter.TableID
	chain  string
}

// extParser parses one use of an extension in one rule.
type extParser interface {
	// option handles the option --name (given without the dashes);
	// invert is true when "!" preceded it. It reads the option's
	// arguments from a. It returns errNotMine, consuming nothing, when
	// the option is not this extension's.
	option(name string, invert bool, a *args) error
	// done checks the options seen together and returns the filter.Match
	// or filter.Target the rule uses.
	done() (any, error)
}

// errNotMine tells the rule parser to offer an option to another
// extension.
var errNotMine = fmt.Errorf("%w (not this extension's)", ErrUnknownOption)

var (
	matchExts  = map[string]*extension{}
	targetExts = map[string]*extension{}
	// extList keeps registration order for Write's type lookup.
	extList []*extension
)

// register adds an extension; called from init functions, one file per
// extension.
func register(e *extension) {
	m := matchExts
	if e.target {
		m = targetExts
	}
	key := extKey(e.name, e.family)
	if _, dup := m[key]; dup {
		panic("iptables: extension registered twice: " + key)
	}
	m[key] = e
	extList = append(extList, e)
}

// lookupExt finds the extension called name for the family.
func lookupExt(target bool, name string, f packet.Family) *extension {
	m := matchExts
	if target {
		m = targetExts
	}
	if e := m[extKey(name, f)]; e != nil {
		return e
	}
	return m[extKey(name, 0)]
}

// extFor finds the extension that owns a parsed match or target.
func extFor(x any, target bool, f packet.Family) *extension {
	for _, e := range extList {
		if e.target == target && (e.family == 0 || e.family == f) && e.owns(x) {
			return e
		}
	}
	return nil
}

// args walks the words of one rule.
type args struct {
	words []string
	i     int
}

// next returns the next word, or ok=false at the end.
func (a *args) next() (string, bool) {
	if a.i >= len(a.words) {
		return "", false
	}
	w := a.words[a.i]
	a.i++
	return w, true
}

// value returns the argument of option name, or an error saying it is
// missing, in iptables' words.
func (a *args) value(name string) (string, error) {
	w, ok := a.next()
	if !ok || (strings.HasPrefix(w, "-") && len(w) > 1 && !isNumber(w[1:])) {
		if ok {
			a.i--
		}
		return "", fmt.Errorf("%w: option \"--%s\" requires an argument", ErrSyntax, name)
	}
	return w, nil
}

// peek returns the next word without consuming it.
func (a *args) peek() string {
	if a.i >= len(a.words) {
		return ""
	}
	return a.words[a.i]
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// saver builds a saved rule.
type saver struct {
	strings.Builder
	family packet.Family
	// labels names connection labels (WriteOptions.ConnLabels).
	labels *ConnLabels
}

// opt writes " [! ]--name value"; value may be empty for flags.
func (w *saver) opt(invert bool, name, value string) {
	w.WriteByte(' ')
	if invert {
		w.WriteString("! ")
	}
	w.WriteString("--")
	w.WriteString(name)
	if value != "" {
		w.WriteByte(' ')
		w.WriteString(value)
	}
}

// quote returns s as iptables-save prints a string argument
// (xtables_save_string): bare when it is made only of letters, digits, '_'
// and '-'; otherwise in double quotes, with double quotes, single quotes
// and backslashes escaped by a backslash.
func quote(s string) string {
	plain := s != ""
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	// Bytes, not runes: a name the kernel cut mid-character must come
	// back byte for byte.
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c == '\'' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

func extKey(name string, f packet.Family) string {
	return name + "/" + strconv.Itoa(int(f))
}
