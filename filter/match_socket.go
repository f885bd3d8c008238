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
// A packet that already has a socket (Origin.HasSocket: NFQUEUE's
// uid/gid attributes, which the kernel gives when skb->sk is a full
// socket, as early demux makes it for a connection's packets) matches
// even without a lookup, its socket taken as bound to its address and
// not transparent, since NFQUEUE does not say more; with a lookup, the
// lookup's answer says more.
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
	// The kernel takes the packet's own socket (skb->sk, which early
	// demux sets for a connection's packets) before it looks one up; the
	// lookup finds that same socket, and says what it is.
	var sk Socket
	found := false
	if c.Sockets != nil {
		if q, ok := socketQuery(c, SocketAny); ok {
			sk, found = c.Sockets.LookupSocket(q)
		}
	}
	if !found {
		if !c.Origin.HasSocket {
			return false
		}
		sk = Socket{Full: true}
	}
	wildcard := !m.NoWildcard && sk.Full && sk.Wildcard
	transparent := !m.Transparent || sk.Transparent
	if m.RestoreMark && !wildcard && transparent && sk.Full {
		c.Mark = sk.Mark
	}
	return !wildcard && transparent
}
