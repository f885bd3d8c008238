package filter

import "errors"

// OwnerMatch is -m owner (xt_owner.c): the socket that sent a packet
// the host itself sends, from Context.Origin. Each option can be
// inverted; a packet without a socket (forwarded, or sent by the kernel
// itself) matches only a rule whose every option is inverted.
type OwnerMatch struct {
	// UID and GID are --uid-owner and --gid-owner, inclusive ranges;
	// MatchUID and MatchGID say they were given, InvertUID and
	// InvertGID their '!'.
	UIDMin, UIDMax, GIDMin, GIDMax uint32
	MatchUID, MatchGID             bool
	InvertUID, InvertGID           bool
	// SupplGroups is --suppl-groups: the socket owner's supplementary
	// groups count for --gid-owner too.
	SupplGroups bool
	// SocketExists is --socket-exists, InvertSocket its '!'.
	SocketExists, InvertSocket bool
}

// Name returns "owner".
func (*OwnerMatch) Name() string { return "owner" }

// Allowed restricts the match to the host's own packets: OUTPUT and
// POSTROUTING.
func (*OwnerMatch) Allowed() (TableMask, HookMask) { return 0, Hooks(Output, Postrouting) }

// Match follows owner_mt.
func (m *OwnerMatch) Match(c *Context) bool {
	o := &c.Origin
	if !o.HasSocket {
		// (info->match ^ info->invert) == 0: every option inverted.
		return (!m.MatchUID || m.InvertUID) && (!m.MatchGID || m.InvertGID) && (!m.SocketExists || m.InvertSocket)
	}
	if m.SocketExists && m.InvertSocket {
		return false
	}
	if !o.HasOwner {
		// A socket without a file: only the uid and gid tests count,
		// and they pass only inverted.
		return (!m.MatchUID || m.InvertUID) && (!m.MatchGID || m.InvertGID)
	}
	if m.MatchUID && (o.UID >= m.UIDMin && o.UID <= m.UIDMax) == m.InvertUID {
		return false
	}
	if m.MatchGID {
		in := o.GID >= m.GIDMin && o.GID <= m.GIDMax
		if !in && m.SupplGroups {
			for _, g := range o.Groups {
				if g >= m.GIDMin && g <= m.GIDMax {
					in = true
					break
				}
			}
		}
		if in == m.InvertGID {
			return false
		}
	}
	return true
}

// CheckRule refuses a reversed range, as owner_check does.
func (m *OwnerMatch) CheckRule(_ *Rule, _ Site) error {
	if m.MatchUID && m.UIDMax < m.UIDMin || m.MatchGID && m.GIDMax < m.GIDMin {
		return errOwnerRange
	}
	return nil
}

var errOwnerRange = errors.New("the uid or gid range ends below its start")
