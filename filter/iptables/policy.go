//lint:file-ignore ST1005 the messages are libxt_policy's, word for word

package iptables

import (
	"fmt"
	"strconv"

	"github.com/nfgo/nfgo/filter"
)

// -m policy (libxt_policy.c): --dir in|out (required), --pol none|ipsec
// (ipsec by default), --strict, and elements separated by --next (which
// needs --strict), each with [!] --reqid, --spi, --proto ah|esp|ipcomp,
// --mode tunnel|transport, --tunnel-src and --tunnel-dst (tunnel mode
// only). iptables-save prints the element options in the order reqid,
// spi, proto, mode, tunnel-dst, tunnel-src, and no element with
// --pol none.
func init() {
	type m = filter.PolicyMatch
	cur := func(x *m) *filter.PolicyElement {
		if len(x.Elements) == 0 {
			x.Elements = append(x.Elements, filter.PolicyElement{})
		}
		return &x.Elements[len(x.Elements)-1]
	}
	elem := func(name string, set func(e *filter.PolicyElement, c *optCall) error) declOpt[m] {
		return declOpt[m]{name: name, invert: true, multi: true, set: func(x *m, c *optCall) error {
			return set(cur(x), c)
		}}
	}
	declare(&declared[m]{
		name: "policy",
		opts: []declOpt[m]{
			{name: "dir", must: true, set: func(x *m, c *optCall) error {
				switch c.value {
				case "in":
				case "out":
					x.Out = true
				default:
					return fmt.Errorf("%w: policy_match: invalid dir \"%s\"", ErrBadArgument, c.value)
				}
				return nil
			}},
			{name: "pol", set: func(x *m, c *optCall) error {
				switch c.value {
				case "none":
					x.None = true
				case "ipsec":
				default:
					return fmt.Errorf("%w: policy match: invalid policy \"%s\"", ErrBadArgument, c.value)
				}
				return nil
			}},
			{name: "strict", flag: true, set: func(x *m, _ *optCall) error { x.Strict = true; return nil }},
			elem("reqid", func(e *filter.PolicyElement, c *optCall) error {
				if e.HasReqID {
					return fmt.Errorf("%w: policy match: double --reqid option", ErrSyntax)
				}
				v, err := optUint(c.ext, c.name, c.value, 0, 1<<32-1)
				e.ReqID, e.HasReqID, e.InvertReqID = uint32(v), true, c.invert
				return err
			}),
			elem("spi", func(e *filter.PolicyElement, c *optCall) error {
				if e.HasSPI {
					return fmt.Errorf("%w: policy match: double --spi option", ErrSyntax)
				}
				v, err := optUint(c.ext, c.name, c.value, 0, 1<<32-1)
				e.SPI, e.HasSPI, e.InvertSPI = uint32(v), true, c.invert
				return err
			}),
			elem("proto", func(e *filter.PolicyElement, c *optCall) error {
				if e.HasProto {
					return fmt.Errorf("%w: policy match: double --proto option", ErrSyntax)
				}
				p, ok := ParseProtocol(c.value)
				if !ok || (p != 50 && p != 51 && p != 108) {
					return fmt.Errorf("%w: policy match: protocol must be ah/esp/ipcomp", ErrBadArgument)
				}
				e.Proto, e.HasProto, e.InvertProto = p, true, c.invert
				return nil
			}),
			elem("mode", func(e *filter.PolicyElement, c *optCall) error {
				if e.HasMode {
					return fmt.Errorf("%w: policy match: double --mode option", ErrSyntax)
				}
				switch c.value {
				case "tunnel":
					e.Tunnel = true
				case "transport":
				default:
					return fmt.Errorf("%w: policy match: invalid mode \"%s\"", ErrBadArgument, c.value)
				}
				e.HasMode, e.InvertMode = true, c.invert
				return nil
			}),
			elem("tunnel-src", func(e *filter.PolicyElement, c *optCall) error {
				if e.HasSrc {
					return fmt.Errorf("%w: policy match: double --tunnel-src option", ErrSyntax)
				}
				n, err := parseHostMask(c.value, c.rc.family)
				e.TunnelSrc, e.HasSrc, e.InvertSrc = n, true, c.invert
				return err
			}),
			elem("tunnel-dst", func(e *filter.PolicyElement, c *optCall) error {
				if e.HasDst {
					return fmt.Errorf("%w: policy match: double --tunnel-dst option", ErrSyntax)
				}
				n, err := parseHostMask(c.value, c.rc.family)
				e.TunnelDst, e.HasDst, e.InvertDst = n, true, c.invert
				return err
			}),
			{name: "next", flag: true, multi: true, also: []string{"strict"}, set: func(x *m, _ *optCall) error {
				cur(x)
				if len(x.Elements) == filter.PolicyMaxElements {
					return fmt.Errorf("%w: policy match: maximum policy depth reached", ErrBadArgument)
				}
				x.Elements = append(x.Elements, filter.PolicyElement{})
				return nil
			}},
		},
		check: func(x *m, _ optSet, _ *ruleContext) error {
			elems := x.Elements
			if !x.None && len(elems) == 0 {
				// An ipsec policy has one element, options or none.
				elems = []filter.PolicyElement{{}}
			}
			for i, e := range elems {
				empty := !e.HasReqID && !e.HasSPI && !e.HasProto && !e.HasMode && !e.HasSrc && !e.HasDst
				if x.Strict && empty {
					return fmt.Errorf("%w: policy match: empty policy element %d. --strict is in effect, but at least one of reqid, spi, tunnel-src, tunnel-dst, proto or mode is required.", ErrSyntax, i)
				}
				if (e.HasSrc || e.HasDst) && !(e.HasMode && e.Tunnel) {
					return fmt.Errorf("%w: policy match: --tunnel-src/--tunnel-dst is only valid in tunnel mode", ErrSyntax)
				}
			}
			return nil
		},
		save: func(w *saver, x *m) {
			w.opt(false, "dir", map[bool]string{false: "in", true: "out"}[x.Out])
			if x.None {
				w.opt(false, "pol", "none")
				return
			}
			w.opt(false, "pol", "ipsec")
			if x.Strict {
				w.opt(false, "strict", "")
			}
			for i, e := range x.Elements {
				if i > 0 {
					w.opt(false, "next", "")
				}
				if e.HasReqID {
					w.opt(e.InvertReqID, "reqid", strconv.FormatUint(uint64(e.ReqID), 10))
				}
				if e.HasSPI {
					w.opt(e.InvertSPI, "spi", "0x"+strconv.FormatUint(uint64(e.SPI), 16))
				}
				if e.HasProto {
					w.opt(e.InvertProto, "proto", ProtocolName(e.Proto))
				}
				if e.HasMode {
					w.opt(e.InvertMode, "mode", map[bool]string{false: "transport", true: "tunnel"}[e.Tunnel])
				}
				if e.HasDst {
					w.opt(e.InvertDst, "tunnel-dst", formatHostMask(e.TunnelDst))
				}
				if e.HasSrc {
					w.opt(e.InvertSrc, "tunnel-src", formatHostMask(e.TunnelSrc))
				}
			}
		},
	})
}
