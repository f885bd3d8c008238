package iptables

import "github.com/nfgo/nfgo/filter"

// -j TRACE (libxt_TRACE.c): no options.
func init() {
	register(&extension{
		name:   "TRACE",
		target: true,
		parser: func(*ruleContext) extParser { return noOptions{x: &filter.TraceTarget{}} },
		save:   func(*saver, any) {},
		owns:   ownedBy[filter.TraceTarget](),
	})
}
