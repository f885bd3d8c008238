package iptables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// dccpTypes are libxt_dccp's type names, by type number.
var dccpTypes = []string{"REQUEST", "RESPONSE", "DATA", "ACK", "DATAACK", "CLOSEREQ", "CLOSE", "RESET", "SYNC", "SYNCACK", "INVALID"}

// -m dccp (libxt_dccp.c) and -m ipcomp (libxt_ipcomp.c).
func init() {
	type d = filter.DCCPMatch
	portRange := func(name string, field func(*d) (*filter.PortRange, *bool, *bool)) declOpt[d] {
		short := map[string]string{"source-port": "sport", "destination-port": "dport"}[name]
		return declOpt[d]{name: name, aliases: []string{short}, invert: true, set: func(x *d, c *optCall) error {
			r, has, inv := field(x)
			lo, hi, err := parsePortRangeRC(c.ext, name, c.value, packet.ProtoDCCP)
			*r, *has, *inv = filter.PortRange{Min: lo, Max: hi}, true, c.invert
			return err
		}}
	}
	declare(&declared[d]{
		name: "dccp",
		opts: []declOpt[d]{
			portRange("source-port", func(x *d) (*filter.PortRange, *bool, *bool) { return &x.SrcPorts, &x.HasSrc, &x.InvertSrc }),
			portRange("destination-port", func(x *d) (*filter.PortRange, *bool, *bool) { return &x.DstPorts, &x.HasDst, &x.InvertDst }),
			{name: "dccp-types", invert: true, set: func(x *d, c *optCall) error {
				for _, tok := range strings.Split(c.value, ",") {
					i := -1
					for j, n := range dccpTypes {
						if strings.EqualFold(n, tok) {
							i = j
						}
					}
					if i < 0 {
						return fmt.Errorf("%w: Unknown DCCP type `%s'", ErrBadArgument, tok)
					}
					x.Types |= 1 << i
				}
				x.HasTypes, x.InvertType = true, c.invert
				return nil
			}},
			{name: "dccp-option", invert: true, set: func(x *d, c *optCall) error {
				x.HasOption, x.InvertOpt = true, c.invert
				return setUint(func(x *d) *uint8 { return &x.Option }, 1, 255, nil)(x, c)
			}},
		},
		save: func(w *saver, x *d) {
			for _, p := range []struct {
				on, inv bool
				name    string
				r       filter.PortRange
			}{{x.HasSrc, x.InvertSrc, "sport", x.SrcPorts}, {x.HasDst, x.InvertDst, "dport", x.DstPorts}} {
				if p.on {
					v := strconv.Itoa(int(p.r.Min))
					if p.r.Min != p.r.Max {
						v += ":" + strconv.Itoa(int(p.r.Max))
					}
					w.opt(p.inv, p.name, v)
				}
			}
			if x.HasTypes {
				var names []string
				for i, n := range dccpTypes {
					if x.Types&(1<<i) != 0 {
						names = append(names, n)
					}
				}
				w.opt(x.InvertType, "dccp-types", strings.Join(names, ","))
			}
			if x.HasOption {
				w.opt(x.InvertOpt, "dccp-option", strconv.Itoa(int(x.Option)))
			}
		},
	})

	type ic = filter.IPCompMatch
	declare(&declared[ic]{
		name: "ipcomp",
		opts: []declOpt[ic]{{name: "ipcompspi", invert: true,
			set: setUintRange(func(x *ic) *uint32 { return &x.Min }, func(x *ic) *uint32 { return &x.Max }, 0xFFFFFFFF, func(x *ic) *bool { return &x.Invert })}},
		save: func(w *saver, x *ic) {
			if x.Min == 0 && x.Max == 0xFFFFFFFF {
				return
			}
			v := strconv.FormatUint(uint64(x.Min), 10)
			if x.Min != x.Max {
				v += ":" + strconv.FormatUint(uint64(x.Max), 10)
			}
			w.opt(x.Invert, "ipcompspi", v)
		},
	})
}

// parsePortRangeRC is XTTYPE_PORTRC: PORT or [PORT]:[PORT], a reversed
// range kept.
func parsePortRangeRC(ext, name, s string, proto uint8) (uint16, uint16, error) {
	a, b, two := strings.Cut(s, ":")
	lo, err := uint16(0), error(nil)
	if a != "" || !two {
		if lo, err = parsePort(a, proto); err != nil {
			return 0, 0, err
		}
	}
	if !two {
		return lo, lo, nil
	}
	hi := uint16(0xffff)
	if b != "" {
		if hi, err = parsePort(b, proto); err != nil {
			return 0, 0, err
		}
	}
	return lo, hi, nil
}
