package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/filter/iptables"
	"github.com/nfgo/nfgo/packet"
)

// loadRules reads and validates an iptables-save file. On failure it
// returns a *rulesErrors listing every problem with its line.
func loadRules(path string, f packet.Family) (*filter.Ruleset, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseRules(path, data, f)
}

func parseRules(name string, data []byte, f packet.Family) (*filter.Ruleset, error) {
	rs, err := iptables.Parse(bytes.NewReader(data), f)
	if err != nil {
		return nil, newRulesErrors(name, err)
	}
	if _, err := filter.Compile(rs); err != nil {
		return nil, newRulesErrors(name, err)
	}
	return rs, nil
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
