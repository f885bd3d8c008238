package iptables

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -m srh (libip6t_srh.c, revision 1). The -eq, -gt and -lt options of
// one field store one value, as libip6t_srh does, so the last given is
// saved for all of them.
func init() {
	type m = filter.SRHMatch
	num := func(name string, flag uint16, field func(*m) *uint8) declOpt[m] {
		return declOpt[m]{name: name, invert: true, set: func(x *m, c *optCall) error {
			x.Flags |= flag
			if c.invert {
				x.Invert |= flag
			}
			return setUint(field, 0, 255, nil)(x, c)
		}}
	}
	sid := func(name string, flag uint16, field func(*m) *netip.Prefix) declOpt[m] {
		return declOpt[m]{name: name, invert: true, set: func(x *m, c *optCall) error {
			p, addrOK, lenOK := parseIPv6Prefix(c.value)
			switch {
			case !addrOK:
				addr, _, _ := strings.Cut(c.value, "/")
				return fmt.Errorf("%w: getaddrinfo: Name or service not known (%q; nfgo does not resolve host names)", ErrBadArgument, addr)
			case !lenOK:
				//lint:ignore ST1005 libxtables' message
				return fmt.Errorf("%w: srh: bad value for option \"--%s\", neither a valid network mask nor valid CIDR (0-128).", ErrBadArgument, name)
			}
			*field(x) = p
			x.Flags |= flag
			if c.invert {
				x.Invert |= flag
			}
			return nil
		}}
	}
	hl := func(x *m) *uint8 { return &x.HdrLen }
	sl := func(x *m) *uint8 { return &x.SegsLeft }
	le := func(x *m) *uint8 { return &x.LastEntry }
	declare(&declared[m]{
		name: "srh", family: packet.IPv6,
		opts: []declOpt[m]{
			num("srh-next-hdr", filter.SRHNextHdr, func(x *m) *uint8 { return &x.NextHdr }),
			num("srh-hdr-len-eq", filter.SRHLenEq, hl), num("srh-hdr-len-gt", filter.SRHLenGt, hl), num("srh-hdr-len-lt", filter.SRHLenLt, hl),
			num("srh-segs-left-eq", filter.SRHSegsEq, sl), num("srh-segs-left-gt", filter.SRHSegsGt, sl), num("srh-segs-left-lt", filter.SRHSegsLt, sl),
			num("srh-last-entry-eq", filter.SRHLastEq, le), num("srh-last-entry-gt", filter.SRHLastGt, le), num("srh-last-entry-lt", filter.SRHLastLt, le),
			{name: "srh-tag", invert: true, set: func(x *m, c *optCall) error {
				x.Flags |= filter.SRHTag
				if c.invert {
					x.Invert |= filter.SRHTag
				}
				return setUint(func(x *m) *uint16 { return &x.Tag }, 0, 65535, nil)(x, c)
			}},
			sid("srh-psid", filter.SRHPSID, func(x *m) *netip.Prefix { return &x.PSID }),
			sid("srh-nsid", filter.SRHNSID, func(x *m) *netip.Prefix { return &x.NSID }),
			sid("srh-lsid", filter.SRHLSID, func(x *m) *netip.Prefix { return &x.LSID }),
		},
		save: func(w *saver, x *m) {
			for _, f := range []struct {
				flag uint16
				name string
				v    int
			}{
				{filter.SRHNextHdr, "srh-next-hdr", int(x.NextHdr)},
				{filter.SRHLenEq, "srh-hdr-len-eq", int(x.HdrLen)}, {filter.SRHLenGt, "srh-hdr-len-gt", int(x.HdrLen)}, {filter.SRHLenLt, "srh-hdr-len-lt", int(x.HdrLen)},
				{filter.SRHSegsEq, "srh-segs-left-eq", int(x.SegsLeft)}, {filter.SRHSegsGt, "srh-segs-left-gt", int(x.SegsLeft)}, {filter.SRHSegsLt, "srh-segs-left-lt", int(x.SegsLeft)},
				{filter.SRHLastEq, "srh-last-entry-eq", int(x.LastEntry)}, {filter.SRHLastGt, "srh-last-entry-gt", int(x.LastEntry)}, {filter.SRHLastLt, "srh-last-entry-lt", int(x.LastEntry)},
				{filter.SRHTag, "srh-tag", int(x.Tag)},
			} {
				if x.Flags&f.flag != 0 {
					w.opt(x.Invert&f.flag != 0, f.name, strconv.Itoa(f.v))
				}
			}
			for _, f := range []struct {
				flag uint16
				name string
				p    netip.Prefix
			}{{filter.SRHPSID, "srh-psid", x.PSID}, {filter.SRHNSID, "srh-nsid", x.NSID}, {filter.SRHLSID, "srh-lsid", x.LSID}} {
				if x.Flags&f.flag != 0 {
					w.opt(x.Invert&f.flag != 0, f.name, f.p.Addr().String()+"/"+strconv.Itoa(f.p.Bits()))
				}
			}
		},
	})
}
