package ctsync

import (
	"net/netip"
	"slices"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// Allows reports whether the General section's filter lets a connection
// of the live table be synchronised, as conntrackd's ct_filter_check
// decides for a kernel event: the protocol must pass the Protocol list;
// the original source or the reply's source (the original destination,
// or the DNAT address) must pass the Address list; and a TCP
// connection's state must pass the State list, which says nothing about
// other protocols. A nil filter allows everything.
//
// conntrackd keeps host addresses and networks in two lists and checks
// each against the policy separately; nfgo keeps one list of prefixes,
// host addresses being full-length ones, which gives the same answer
// whenever the file names only hosts or only networks.
func (f *Filter) Allows(c *conntrack.Conn) bool {
	if f == nil {
		return true
	}
	if p := f.Protocols; p != nil {
		if slices.Contains(p.Protos, c.Orig.Proto) != p.Accept {
			return false
		}
	}
	if a := f.Addresses; a != nil {
		if a.matches(c.Orig.SrcAddr(), c.Reply.SrcAddr()) != a.Accept {
			return false
		}
	}
	if s := f.States; s != nil && c.Orig.Proto == packet.ProtoTCP {
		if slices.Contains(s.States, c.TCPState) != s.Accept {
			return false
		}
	}
	return true
}

func (a *AddrFilter) matches(src, replySrc netip.Addr) bool {
	for _, p := range a.Prefixes {
		if p.Contains(src) || p.Contains(replySrc) {
			return true
		}
	}
	return false
}
