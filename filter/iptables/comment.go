package iptables

import (
	"fmt"

	"github.com/nfgo/nfgo/filter"
)

// -m comment --comment TEXT (libxt_comment.c). The kernel stores at most
// 255 bytes.
func init() {
	register(&extension{
		name:   "comment",
		parser: func(*ruleContext) extParser { return &commentParser{} },
		save: func(w *saver, x any) {
			w.opt(false, "comment", quote(x.(*filter.CommentMatch).Comment))
		},
		owns: func(x any) bool { _, ok := x.(*filter.CommentMatch); return ok },
	})
}

type commentParser struct {
	m    filter.CommentMatch
	seen bool
}

func (p *commentParser) option(name string, invert bool, a *args) error {
	if name != "comment" {
		return errNotMine
	}
	if invert {
		return fmt.Errorf("%w: comment: cannot be inverted", ErrSyntax)
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	if len(v) > 255 {
		return badArg(name, v, "comment must be less than 256 characters")
	}
	p.m.Comment, p.seen = v, true
	return nil
}

func (p *commentParser) done() (any, error) {
	if !p.seen {
		return nil, fmt.Errorf("%w: comment: option \"--comment\" must be specified", ErrSyntax)
	}
	return &p.m, nil
}
