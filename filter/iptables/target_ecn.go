//lint:file-ignore ST1005 the messages are the extensions' own, word for word

package iptables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -j ECN (libipt_ECN.c, IPv4) and -j TCPOPTSTRIP (libxt_TCPOPTSTRIP.c).
func init() {
	type e = filter.ECNTarget
	bit := func(field func(*e) (*bool, *bool)) func(*e, *optCall) error {
		return func(x *e, c *optCall) error {
			v, err := optUint(c.ext, c.name, c.value, 0, 1)
			set, val := field(x)
			*set, *val = true, v == 1
			return err
		}
	}
	declare(&declared[e]{
		name: "ECN", target: true, family: packet.IPv4,
		opts: []declOpt[e]{
			{name: "ecn-tcp-remove", flag: true, set: func(x *e, _ *optCall) error {
				x.SetECE, x.SetCWR, x.ECE, x.CWR = true, true, false, false
				return nil
			}},
			{name: "ecn-tcp-cwr", set: bit(func(x *e) (*bool, *bool) { return &x.SetCWR, &x.CWR })},
			{name: "ecn-tcp-ece", set: bit(func(x *e) (*bool, *bool) { return &x.SetECE, &x.ECE })},
			{name: "ecn-ip-ect", set: func(x *e, c *optCall) error {
				x.SetIP = true
				return setUint(func(x *e) *uint8 { return &x.IPECT }, 0, 3, nil)(x, c)
			}},
		},
		check: func(x *e, seen optSet, _ *ruleContext) error {
			if seen == 0 {
				return fmt.Errorf("%w: ECN target: An operation is required", ErrSyntax)
			}
			return nil
		},
		save: func(w *saver, x *e) {
			b01 := func(b bool) string {
				if b {
					return "1"
				}
				return "0"
			}
			if x.SetECE && x.SetCWR && !x.ECE && !x.CWR && !x.SetIP {
				w.opt(false, "ecn-tcp-remove", "")
				return
			}
			if x.SetECE {
				w.opt(false, "ecn-tcp-ece", b01(x.ECE))
			}
			if x.SetCWR {
				w.opt(false, "ecn-tcp-cwr", b01(x.CWR))
			}
			if x.SetIP {
				w.opt(false, "ecn-ip-ect", strconv.Itoa(int(x.IPECT)))
			}
		},
	})

	type s = filter.TCPOptStripTarget
	names := map[string]uint8{"wscale": 3, "mss": 2, "sack-permitted": 4, "sack": 5, "timestamp": 8, "md5": 19}
	declare(&declared[s]{
		name: "TCPOPTSTRIP", target: true,
		opts: []declOpt[s]{{name: "strip-options", set: func(x *s, c *optCall) error {
			for _, tok := range strings.Split(c.value, ",") {
				kind, ok := names[tok]
				if !ok {
					v, okNum := strtoui(tok, 0, 255)
					if !okNum {
						return fmt.Errorf("%w: Bad TCP option value \"%s\"", ErrBadArgument, tok)
					}
					kind = uint8(v)
				}
				if kind < 2 {
					return fmt.Errorf("%w: Option value may not be 0 or 1", ErrBadArgument)
				}
				x.Strip[kind>>5] |= 1 << (kind & 31)
			}
			return nil
		}}},
		save: func(w *saver, x *s) {
			var kinds []string
			for k := 0; k < 256; k++ {
				if x.Strips(uint8(k)) {
					kinds = append(kinds, strconv.Itoa(k))
				}
			}
			if len(kinds) > 0 {
				w.opt(false, "strip-options", strings.Join(kinds, ","))
			}
		},
	})
}
