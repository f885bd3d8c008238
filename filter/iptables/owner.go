package iptables

import (
	"fmt"
	"os/user"
	"strconv"

	"github.com/nfgo/nfgo/filter"
)

// -m owner (libxt_owner.c): --uid-owner and --gid-owner take a user or
// group name, a number, or a range "a-b" (or "a:b") of numbers, resolved
// when the rule is read as iptables resolves them (the host's passwd and
// group databases) and saved as numbers; --suppl-groups must follow
// --gid-owner; --socket-exists. iptables-save prints --socket-exists,
// --uid-owner, --gid-owner, --suppl-groups.
func init() {
	type m = filter.OwnerMatch
	declare(&declared[m]{
		name: "owner",
		opts: []declOpt[m]{
			{name: "uid-owner", invert: true, set: func(x *m, c *optCall) error {
				lo, hi, err := parseOwnerRange(c, func(n string) (string, error) {
					u, err := user.Lookup(n)
					if err != nil {
						return "", err
					}
					return u.Uid, nil
				})
				x.UIDMin, x.UIDMax, x.MatchUID, x.InvertUID = lo, hi, true, c.invert
				return err
			}},
			{name: "gid-owner", invert: true, set: func(x *m, c *optCall) error {
				lo, hi, err := parseOwnerRange(c, func(n string) (string, error) {
					g, err := user.LookupGroup(n)
					if err != nil {
						return "", err
					}
					return g.Gid, nil
				})
				x.GIDMin, x.GIDMax, x.MatchGID, x.InvertGID = lo, hi, true, c.invert
				return err
			}},
			{name: "suppl-groups", flag: true, set: func(x *m, c *optCall) error {
				if !x.MatchGID {
					return fmt.Errorf("%w: owner: Bad value for \"--suppl-groups\" option: \"you need to use --gid-owner first\"", ErrBadArgument)
				}
				x.SupplGroups = true
				return nil
			}},
			{name: "socket-exists", flag: true, invert: true, set: func(x *m, c *optCall) error {
				x.SocketExists, x.InvertSocket = true, c.invert
				return nil
			}},
		},
		check: func(x *m, seen optSet, _ *ruleContext) error {
			if !x.MatchUID && !x.MatchGID && !x.SocketExists {
				return fmt.Errorf("%w: owner: At least one of --uid-owner, --gid-owner or --socket-exists is required", ErrSyntax)
			}
			return nil
		},
		save: func(w *saver, x *m) {
			if x.SocketExists {
				w.opt(x.InvertSocket, "socket-exists", "")
			}
			if x.MatchUID {
				w.opt(x.InvertUID, "uid-owner", formatOwnerRange(x.UIDMin, x.UIDMax))
			}
			if x.MatchGID {
				w.opt(x.InvertGID, "gid-owner", formatOwnerRange(x.GIDMin, x.GIDMax))
			}
			if x.SupplGroups {
				w.opt(false, "suppl-groups", "")
			}
		},
	})
}

// ownerIDMax is the largest ID the owner match takes: (uid_t)-1 means
// none.
const ownerIDMax = 0xFFFFFFFE

// parseOwnerRange reads "a[-b]", "a[:b]" or a name (owner_parse_range):
// numbers as strtoul reads them, a name through lookup.
func parseOwnerRange(c *optCall, lookup func(string) (string, error)) (lo, hi uint32, err error) {
	bad := fmt.Errorf("%w: owner: Bad value for \"--%s\" option: \"%s\"", ErrBadArgument, c.name, c.value)
	if v, rest, ok := cStrtoul(c.value, 0); ok && v <= ownerIDMax {
		lo, hi = uint32(v), uint32(v)
		if rest != "" {
			if rest[0] != '-' && rest[0] != ':' {
				return 0, 0, bad
			}
			w, rest2, ok := cStrtoul(rest[1:], 0)
			if !ok || rest2 != "" || w > ownerIDMax {
				return 0, 0, bad
			}
			hi = uint32(w)
		}
		return lo, hi, nil
	}
	id, err := lookup(c.value)
	if err != nil {
		return 0, 0, bad
	}
	v, err := strconv.ParseUint(id, 10, 32)
	if err != nil || v > ownerIDMax {
		return 0, 0, bad
	}
	return uint32(v), uint32(v), nil
}

func formatOwnerRange(lo, hi uint32) string {
	if lo == hi {
		return strconv.FormatUint(uint64(lo), 10)
	}
	return strconv.FormatUint(uint64(lo), 10) + "-" + strconv.FormatUint(uint64(hi), 10)
}
