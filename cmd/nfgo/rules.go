package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/ipset"
	"github.com/nfgo/nfgo/packet"
)

// loadRules reads and validates an iptables-save file. On failure it
// returns a *rulesErrors listing every problem with its line.
// Rules naming ipsets are checked against sets (nil: none, and such a
// rule is refused, as iptables refuses it).
func loadRules(path string, f packet.Family, sets *ipset.Sets) (*filter.Ruleset, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseRules(path, data, f, sets)
}

func parseRules(name string, data []byte, f packet.Family, sets *ipset.Sets) (*filter.Ruleset, error) {
	rs, err := iptables.Parse(bytes.NewReader(data), f)
	if err != nil {
		return nil, newRulesErrors(name, err)
	}
	objs := &filter.Objects{}
	if sets != nil {
		objs.Sets = sets
	}
	p, err := filter.CompileWith(rs, objs)
	if err != nil {
		return nil, newRulesErrors(name, err)
	}
	p.Release()
	return rs, nil
}

// ipsetsFlag declares --ipsets.
func ipsetsFlag(fs *flag.FlagSet) *string {
	return fs.String("ipsets", "", "ipset save `FILE` with the sets the rules name (-m set, -j SET)")
}

// loadSets reads an ipset save file; "" gives no sets. A bad file's
// error names its line, as FILE:LINE: reason.
func loadSets(path string) (*ipset.Sets, error) {
	if path == "" {
		return nil, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	sets, err := ipset.ParseSets(fh)
	var re *ipset.RestoreError
	if errors.As(err, &re) {
		return nil, fmt.Errorf("%s:%d: %v", path, re.Line, re.Err)
	}
	return sets, err
}

// rulesErrors is every problem in one ruleset file, each printed as
// FILE:LINE: reason.
type rulesErrors struct {
	file string
	errs []error
}

func newRulesErrors(file string, err error) *rulesErrors {
	re := &rulesErrors{file: file}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		re.errs = j.Unwrap()
	} else {
		re.errs = []error{err}
	}
	return re
}

func (e *rulesErrors) Error() string {
	var b strings.Builder
	for i, err := range e.errs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.line(err))
	}
	return b.String()
}

// line formats one error as FILE:LINE: reason.
func (e *rulesErrors) line(err error) string {
	var pe *iptables.ParseError
	var re *filter.RuleError
	switch {
	case errors.As(err, &pe):
		return fmt.Sprintf("%s:%d: %v", e.file, pe.Line, pe.Err)
	case errors.As(err, &re) && re.Line > 0:
		msg := re.Err.Error()
		return fmt.Sprintf("%s:%d: %s %s: %s", e.file, re.Line, re.Table, re.Chain, msg)
	}
	return fmt.Sprintf("%s: %v", e.file, err)
}

func printRulesErrors(w io.Writer, err error) bool {
	var re *rulesErrors
	if errors.As(err, &re) {
		fmt.Fprintln(w, re.Error())
		return true
	}
	return false
}
