//lint:file-ignore ST1005 the messages are the extensions' own, word for word

package iptables

import (
	"fmt"
	"strconv"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// The names iproute2 ships in /etc/iproute2/group and rt_realms, which
// devgroup and realm read (nfgo carries Debian's, so a ruleset reads the
// same everywhere).
var (
	devGroupNames = map[string]uint32{"default": 0}
	realmNames    = map[string]uint32{"cosmos": 0}
)

// parseNamedMark reads VALUE[/MASK] or a name from names (with an
// all-ones mask), as xtables_parse_val_mask does.
func parseNamedMark(c *optCall, names map[string]uint32) (v, m uint32, err error) {
	if n, ok := names[c.value]; ok {
		return n, 0xffffffff, nil
	}
	if c.value != "" && c.value[0] >= '0' && c.value[0] <= '9' {
		return parseMarkMask(c.ext, c.name, c.value)
	}
	return 0, 0, fmt.Errorf("%w: %s: could not map name %s to an integer value for option \"--%s\".", ErrBadArgument, c.ext, c.value, c.name)
}

// formatNamedMark prints a value as xtables_print_val_mask does: its
// name with an all-ones mask if it has one, else 0xV[/0xM].
func formatNamedMark(v, m uint32, names map[string]uint32) string {
	if m == 0xffffffff {
		for n, id := range names {
			if id == v {
				return n
			}
		}
		return "0x" + strconv.FormatUint(uint64(v), 16)
	}
	return "0x" + strconv.FormatUint(uint64(v), 16) + "/0x" + strconv.FormatUint(uint64(m), 16)
}

// -m devgroup (libxt_devgroup.c), -m realm (libxt_realm.c, IPv4) and
// -m cgroup (libxt_cgroup.c).
func init() {
	type d = filter.DevGroupMatch
	declare(&declared[d]{
		name: "devgroup",
		opts: []declOpt[d]{
			{name: "src-group", invert: true, set: func(x *d, c *optCall) error {
				v, m, err := parseNamedMark(c, devGroupNames)
				x.Src, x.SrcGroup, x.SrcMask, x.InvertSrc = true, v, m, c.invert
				return err
			}},
			{name: "dst-group", invert: true, set: func(x *d, c *optCall) error {
				v, m, err := parseNamedMark(c, devGroupNames)
				x.Dst, x.DstGroup, x.DstMask, x.InvertDst = true, v, m, c.invert
				return err
			}},
		},
		check: func(x *d, _ optSet, _ *ruleContext) error {
			if !x.Src && !x.Dst {
				return fmt.Errorf("%w: devgroup match: You must specify either '--src-group' or '--dst-group'", ErrSyntax)
			}
			return nil
		},
		save: func(w *saver, x *d) {
			if x.Src {
				w.opt(x.InvertSrc, "src-group", formatNamedMark(x.SrcGroup, x.SrcMask, devGroupNames))
			}
			if x.Dst {
				w.opt(x.InvertDst, "dst-group", formatNamedMark(x.DstGroup, x.DstMask, devGroupNames))
			}
		},
	})

	type r = filter.RealmMatch
	declare(&declared[r]{
		name: "realm", family: packet.IPv4,
		opts: []declOpt[r]{{name: "realm", invert: true, must: true, set: func(x *r, c *optCall) error {
			v, m, err := parseNamedMark(c, realmNames)
			x.ID, x.Mask, x.Invert = v, m, c.invert
			return err
		}}},
		save: func(w *saver, x *r) { w.opt(x.Invert, "realm", formatNamedMark(x.ID, x.Mask, realmNames)) },
	})

	type cg = filter.CgroupMatch
	declare(&declared[cg]{
		name: "cgroup",
		opts: []declOpt[cg]{
			{name: "cgroup", invert: true, set: func(x *cg, c *optCall) error {
				x.HasClassID = true
				return setUint(func(x *cg) *uint32 { return &x.ClassID }, 0, 1<<32-1, func(x *cg) *bool { return &x.InvertClassID })(x, c)
			}},
			{name: "path", invert: true, set: func(x *cg, c *optCall) error {
				x.Path, x.InvertPath = c.value, c.invert
				return nil
			}},
		},
		save: func(w *saver, x *cg) {
			if x.Path != "" {
				w.opt(x.InvertPath, "path", quote(x.Path))
			}
			if x.HasClassID {
				w.opt(x.InvertClassID, "cgroup", strconv.FormatUint(uint64(x.ClassID), 10))
			}
		},
	})
}
