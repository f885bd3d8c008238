//lint:file-ignore ST1005 the messages are libxt_SECMARK's and libxt_CONNSECMARK's own, word for word

package iptables

import (
	"fmt"

	"github.com/nfgo/nfgo/filter"
)

// -j SECMARK --selctx CONTEXT (libxt_SECMARK.c, mandatory; cut to 255
// bytes as xtopt cuts it) and -j CONNSECMARK --save|--restore
// (libxt_CONNSECMARK.c, one of them). The kernel checks SECMARK's
// context when the rule loads; see filter.SECMARKTarget.
func init() {
	type s = filter.SECMARKTarget
	declare(&declared[s]{
		name: "SECMARK", target: true,
		opts: []declOpt[s]{
			{name: "selctx", must: true, set: func(x *s, c *optCall) error {
				x.Context = c.value
				if len(x.Context) > 255 {
					x.Context = x.Context[:255]
				}
				return nil
			}},
		},
		save: func(w *saver, x *s) { w.opt(false, "selctx", x.Context) },
	})
	type c = filter.CONNSECMARKTarget
	declare(&declared[c]{
		name: "CONNSECMARK", target: true,
		opts: []declOpt[c]{
			{name: "save", flag: true, excl: []string{"restore"}, set: func(x *c, _ *optCall) error { x.Mode = filter.ConnSecmarkSave; return nil }},
			{name: "restore", flag: true, excl: []string{"save"}, set: func(x *c, _ *optCall) error { x.Mode = filter.ConnSecmarkRestore; return nil }},
		},
		check: func(x *c, seen optSet, _ *ruleContext) error {
			if seen == 0 {
				return fmt.Errorf("%w: CONNSECMARK target: parameter required", ErrSyntax)
			}
			return nil
		},
		save: func(w *saver, x *c) {
			if x.Mode == filter.ConnSecmarkRestore {
				w.opt(false, "restore", "")
			} else {
				w.opt(false, "save", "")
			}
		},
	})
}
