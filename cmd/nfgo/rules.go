package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/ipset"
	"github.com/nfgo/nfgo/packet"
)

// ruleObjects are what rules may name that lives outside them: the
// ipsets (nil: none) and the nfacct objects (nil: none). A rule naming
// one that does not exist is refused, as iptables refuses it.
type ruleObjects struct {
	sets   *ipset.Sets
	nfacct *filter.NFAcctTable
	osf    *filter.OSFingerprints // -m osf's fingerprints; nil: none
}

// loadRules reads and validates an iptables-save file. On failure it
// returns a *rulesErrors listing every problem with its line.
func loadRules(path string, f packet.Family, objs ruleObjects) (*filter.Ruleset, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseRules(path, data, f, objs)
}

func parseRules(name string, data []byte, f packet.Family, ro ruleObjects) (*filter.Ruleset, error) {
	rs := filter.NewRuleset(f)
	if err := iptables.Read(bytes.NewReader(data), rs, iptables.ReadOptions{Counters: true, ConnLabels: hostConnLabels()}); err != nil {
		return nil, newRulesErrors(name, err)
	}
	objs := &filter.Objects{NFAcct: ro.nfacct, OSF: ro.osf}
	if ro.sets != nil {
		objs.Sets = ro.sets
	}
	p, err := filter.CompileWith(rs, objs)
	if err != nil {
		return nil, newRulesErrors(name, err)
	}
	p.Release()
	return rs, nil
}

// hostConnLabels are the label names of the host's connlabel.conf, read
// once, as iptables reads them; nil when the file is missing or names
// none (labels are then numbers, as they are to iptables).
var hostConnLabels = sync.OnceValue(func() *iptables.ConnLabels {
	l, err := iptables.LoadConnLabels(iptables.DefaultConnLabelsPath)
	if err != nil {
		return nil
	}
	return l
})

// osfFlagUsage is --osf's help.
const osfFlagUsage = "fingerprints `FILE` (pf.os) for -m osf, read as nfnl_osf -f reads it"

// loadOSF reads --osf; "" gives no fingerprints.
func loadOSF(path string) (*filter.OSFingerprints, error) {
	if path == "" {
		return nil, nil
	}
	return iptables.LoadOSFingerprints(path)
}

// nfacctFlag declares --nfacct.
func nfacctFlag(fs *flag.FlagSet) *string {
	return fs.String("nfacct", "", "`NAME[,NAME...]`: nfacct objects the rules name (-m nfacct), as nfacct add makes them")
}

// nfacctTable makes the objects --nfacct names.
func nfacctTable(names string) (*filter.NFAcctTable, error) {
	t := &filter.NFAcctTable{}
	if names == "" {
		return t, nil
	}
	for _, n := range strings.Split(names, ",") {
		if err := t.Add(n); err != nil {
			return nil, fmt.Errorf("--nfacct %s: %w", n, err)
		}
	}
	return t, nil
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
