package filter

// SocketMatch is -m socket (xt_socket.c, revision 3): the packet belongs
// to a socket of the host. For a packet the host sends, its own socket
// (Origin.HasSocket); for any other, the socket a lookup finds
// (Context.Sockets, see SocketLookup): the connected socket of its
// addresses and ports, else a listener on its destination. A socket
// bound to the unspecified address does not count unless NoWildcard;
// with Transparent only an IP_TRANSPARENT socket counts; RestoreMark
// copies a counting full socket's mark to the packet.
//
// Without a lookup (nfgo run, which cannot see the host's sockets yet)
// only the host's own packets match; the socket of such a packet is
// taken as bound to its address and not transparent, since NFQUEUE
// does not say more.
type SocketMatch struct {
	Transparent bool
	NoWildcard  bool
	RestoreMark bool
}

// Name returns "socket".
func (*SocketMatch) Name() string { return "socket" }

// Allowed restricts the match to PREROUTING and INPUT, as xt_socket
// registers it.
func (*SocketMatch) Allowed() (TableMask, HookMask) { return 0, Hooks(Prerouting, Input) }

// Match looks for the packet's socket.
func (m *SocketMatch) Match(c *Context) bool {
	var sk Socket
	switch {
	case c.Origin.HasSocket:
		sk = Socket{Full: true}
	case c.Sockets != nil:
		q, ok := socketQuery(c, SocketAny)
		if !ok {
			return false
		}
		if sk, ok = c.Sockets.LookupSocket(q); !ok {
			return false
		}
	default:
		return false
	}
	wildcard := !m.NoWildcard && sk.Full && sk.Wildcard
	transparent := !m.Transparent || sk.Transparent
	if m.RestoreMark && !wildcard && transparent && sk.Full {
		c.Mark = sk.Mark
	}
	return !wildcard && transparent
}
