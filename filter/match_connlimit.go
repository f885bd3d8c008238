package filter

// ConnlimitMatch is -m connlimit (xt_connlimit.c): it counts the
// connections from (or to) the packet's address, masked, and matches when
// the count is above (or up to) Limit.
//
// nfgo's conntrack does not yet expose connection counts to the rules, so
// Match always returns false. The rule loads and saves, so a ruleset that
// uses connlimit can be read, checked and written.
type ConnlimitMatch struct {
	// Limit is the --connlimit-above or --connlimit-upto number.
	Limit uint32
	// Upto is true for --connlimit-upto (the kernel's XT_CONNLIMIT_INVERT):
	// match while the count is at most Limit.
	Upto bool
	// PrefixLen is --connlimit-mask.
	PrefixLen uint8
	// Dst is --connlimit-daddr: group by destination, not source.
	Dst bool
}

// Name returns "connlimit".
func (*ConnlimitMatch) Name() string { return "connlimit" }

// Match always returns false for now; see the type's comment.
func (*ConnlimitMatch) Match(*Context) bool { return false }

// NeedsConntrack reports true.
func (*ConnlimitMatch) NeedsConntrack() bool { return true }
