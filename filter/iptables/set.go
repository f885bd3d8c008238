package iptables

import (
	"fmt"
)

// -m set (libxt_set.c): nfgo reads its options, so that a ruleset using
// it fails with a clear reason rather than "unknown option", and then
// refuses the rule: ipset sets do not exist in nfgo yet.
func init() {
	register(&extension{
		name:   "set",
		parser: func(*ruleContext) extParser { return &unsupportedMatchParser{ext: "set", opts: setOpts} },
		save:   func(*saver, any) {},
		owns:   func(any) bool { return false },
	})
}

// setOpts maps each option to its number of arguments.
var setOpts = map[string]int{
	"match-set": 2, "set": 2, "return-nomatch": 0, "update-counters": 0,
	"update-subcounters": 0, "packets-eq": 1, "packets-lt": 1, "packets-gt": 1,
	"bytes-eq": 1, "bytes-lt": 1, "bytes-gt": 1,
}

type unsupportedMatchParser struct {
	ext  string
	opts map[string]int
}

func (p *unsupportedMatchParser) option(name string, _ bool, a *args) error {
	n, ok := p.opts[name]
	if !ok {
		return errNotMine
	}
	for range n {
		if _, err := a.value(name); err != nil {
			return err
		}
	}
	return nil
}

func (p *unsupportedMatchParser) done() (any, error) {
	return nil, fmt.Errorf("%w: %s match is not supported yet", ErrUnsupported, p.ext)
}
