//lint:file-ignore ST1005 the messages are xtables' own, punctuation included

package iptables

import (
	"fmt"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// declared is an extension's syntax declared as a table, the way
// libxtables' xt_option_entry arrays declare it: each option's name,
// whether it takes an argument, may be inverted, repeated or must be
// given, which options it excludes or needs, and a function that stores
// its value. The parser behind it applies xtopt's checks, with xtopt's
// messages; check then sees the options together (an extension's
// x6_fcheck). An extension needs no parser code of its own.
//
// T is the filter package's type for the extension (filter.LengthMatch);
// the rule gets a *T.
type declared[T any] struct {
	// name, family and target are the extension's, as for extension.
	name   string
	family packet.Family
	target bool
	// init sets the value's defaults before any option (nil: the zero
	// value).
	init func(x *T)
	opts []declOpt[T]
	// needOne refuses a use without any option: "At least one option is
	// required".
	needOne bool
	// check validates the options together, once all are read; seen
	// says which were given. Nil: nothing more to check.
	check func(x *T, seen optSet, rc *ruleContext) error
	// save appends the options in iptables-save's canonical form.
	save func(w *saver, x *T)
}

// declOpt is one option of a declared extension.
type declOpt[T any] struct {
	// name is the option without its dashes; aliases are other names for
	// it (libxt_tcp's "source-port" for "sport").
	name    string
	aliases []string
	// flag options take no argument.
	flag bool
	// invert allows "!" before the option (XTOPT_INVERT).
	invert bool
	// multi allows the option more than once (XTOPT_MULTI); otherwise a
	// second use is refused.
	multi bool
	// must makes the option mandatory (XTOPT_MAND).
	must bool
	// excl are options that cannot be given with this one, also options
	// it needs (the entries' excl and also masks).
	excl, also []string
	// set stores the option's value.
	set func(x *T, c *optCall) error
}

// optCall is one use of an option: its argument and "!", and the rest of
// the rule for an option that takes more than one word.
type optCall struct {
	ext, name, value string
	invert           bool
	rc               *ruleContext
	args             *args
}

// optSet says which options of a declared extension were given, by their
// index in opts.
type optSet uint64

func (s optSet) has(i int) bool { return s&(1<<i) != 0 }

// declare registers a declared extension.
func declare[T any](d *declared[T]) {
	if len(d.opts) > 64 {
		panic("iptables: too many options for " + d.name)
	}
	index := map[string]int{}
	for i, o := range d.opts {
		for _, n := range append([]string{o.name}, o.aliases...) {
			if _, dup := index[n]; dup {
				panic("iptables: option declared twice: " + d.name + " --" + n)
			}
			index[n] = i
		}
	}
	find := func(names []string) (m optSet) {
		for _, n := range names {
			i, ok := index[n]
			if !ok {
				panic("iptables: " + d.name + ": no option --" + n)
			}
			m |= 1 << i
		}
		return m
	}
	excl := make([]optSet, len(d.opts))
	also := make([]optSet, len(d.opts))
	for i, o := range d.opts {
		excl[i], also[i] = find(o.excl), find(o.also)
	}
	register(&extension{
		name:   d.name,
		family: d.family,
		target: d.target,
		parser: func(rc *ruleContext) extParser {
			p := &declParser[T]{d: d, index: index, excl: excl, also: also, rc: rc}
			if d.init != nil {
				d.init(&p.x)
			}
			return p
		},
		save: func(w *saver, x any) { d.save(w, x.(*T)) },
		owns: ownedBy[T](),
	})
}

// declParser parses one use of a declared extension.
type declParser[T any] struct {
	d          *declared[T]
	index      map[string]int
	excl, also []optSet
	rc         *ruleContext
	x          T
	seen       optSet
}

func (p *declParser[T]) option(name string, invert bool, a *args) error {
	i, ok := p.index[name]
	if !ok {
		return errNotMine
	}
	o := &p.d.opts[i]
	if p.seen.has(i) && !o.multi {
		return onceErr(p.d.name, o.name)
	}
	if invert && !o.invert {
		return noInvertErr(p.d.name, o.name)
	}
	c := &optCall{ext: p.d.name, name: o.name, invert: invert, rc: p.rc, args: a}
	if !o.flag {
		v, err := a.value(name)
		if err != nil {
			return err
		}
		c.value = v
	}
	if err := o.set(&p.x, c); err != nil {
		return err
	}
	p.seen |= 1 << i
	return nil
}

func (p *declParser[T]) done() (any, error) {
	if p.d.needOne && p.seen == 0 {
		return nil, fmt.Errorf("%w: %s: At least one option is required", ErrSyntax, p.d.name)
	}
	for i, o := range p.d.opts {
		if o.must && !p.seen.has(i) {
			return nil, mustErr(p.d.name, o.name)
		}
		if !p.seen.has(i) {
			continue
		}
		// xtables_options_fcheck: each option given, in table order,
		// against the others.
		for j := range p.d.opts {
			switch {
			case j == i:
			case p.excl[i].has(j) && p.seen.has(j):
				return nil, fmt.Errorf("%w: %s: option \"--%s\" cannot be used together with \"--%s\".", ErrSyntax, p.d.name, o.name, p.d.opts[j].name)
			case p.also[i].has(j) && !p.seen.has(j):
				return nil, fmt.Errorf("%w: %s: option \"--%s\" also requires \"--%s\".", ErrSyntax, p.d.name, o.name, p.d.opts[j].name)
			}
		}
	}
	if p.d.check != nil {
		if err := p.d.check(&p.x, p.seen, p.rc); err != nil {
			return nil, err
		}
	}
	return &p.x, nil
}

// Option setters for the common argument types (xtopt's XTTYPE_*). Each
// takes the fields it stores into, as functions of the value, so that
// one setter serves every extension.

// setUint stores an unsigned integer in [lo, hi] (XTTYPE_UINT8 … 64),
// and the "!" in inv if it is not nil.
func setUint[T any, N ~uint8 | ~uint16 | ~uint32 | ~uint64](field func(*T) *N, lo, hi uint64, inv func(*T) *bool) func(*T, *optCall) error {
	return func(x *T, c *optCall) error {
		v, err := optUint(c.ext, c.name, c.value, lo, hi)
		if err != nil {
			return err
		}
		*field(x) = N(v)
		if inv != nil {
			*inv(x) = c.invert
		}
		return nil
	}
}

// setUintRange stores "a[:b]" with bounds up to hi (XTTYPE_UINT16RC,
// XTTYPE_UINT32RC), a missing bound being 0 or hi, and the "!".
func setUintRange[T any, N ~uint16 | ~uint32](min, max func(*T) *N, hi uint64, inv func(*T) *bool) func(*T, *optCall) error {
	return func(x *T, c *optCall) error {
		lo, up, err := optUintRange(c.ext, c.name, c.value, hi)
		if err != nil {
			return err
		}
		*min(x), *max(x) = N(lo), N(up)
		if inv != nil {
			*inv(x) = c.invert
		}
		return nil
	}
}

// setMarkMask stores "value[/mask]" (XTTYPE_MARKMASK32) and the "!".
func setMarkMask[T any](value, mask func(*T) *uint32, inv func(*T) *bool) func(*T, *optCall) error {
	return func(x *T, c *optCall) error {
		v, m, err := parseMarkMask(c.ext, c.name, c.value)
		if err != nil {
			return err
		}
		*value(x), *mask(x) = v, m
		if inv != nil {
			*inv(x) = c.invert
		}
		return nil
	}
}

// Compile-time proof that the declared parser is an extParser for the
// filter types it builds.
var _ extParser = (*declParser[filter.LengthMatch])(nil)
