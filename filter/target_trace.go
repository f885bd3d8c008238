package filter

// TraceTarget is -j TRACE: it marks the packet so that every rule it meets
// afterwards, in every table, is reported (nf_trace, xt_TRACE.c).
//
// The kernel module restricts TRACE to the raw table, but iptables-nft
// translates it into the native "meta nftrace set 1" statement, which any
// table accepts; nfgo follows iptables-nft, the ground truth it is tested
// against, and so declares no restriction.
type TraceTarget struct{}

// Name returns "TRACE".
func (*TraceTarget) Name() string { return "TRACE" }

// Do sets c.Traced and continues.
func (*TraceTarget) Do(c *Context) Verdict {
	c.Traced = true
	return Verdict{Action: Continue}
}
