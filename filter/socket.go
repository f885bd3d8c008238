package filter

import (
	"net/netip"

	"github.com/nfgo/nfgo/packet"
)

// SocketMode says which sockets a lookup may find.
type SocketMode uint8

// The lookup modes.
const (
	// SocketAny finds the connected socket of the four addresses and
	// ports, else a listener on the local ones (the kernel's
	// inet_lookup and udp_lib_lookup).
	SocketAny SocketMode = iota
	// SocketEstablished finds only a connected socket
	// (NF_TPROXY_LOOKUP_ESTABLISHED).
	SocketEstablished
	// SocketListener finds only a listener (NF_TPROXY_LOOKUP_LISTENER).
	SocketListener
)

// SocketQuery is a socket lookup for a packet arriving at the host:
// Remote is its sender, Local the address and port it is for.
type SocketQuery struct {
	Mode   SocketMode
	Proto  uint8 // packet.ProtoTCP or packet.ProtoUDP
	Remote netip.AddrPort
	Local  netip.AddrPort
	// In is the interface the packet came in by.
	In string
}

// Socket is what a lookup found.
type Socket struct {
	// Wildcard says the socket is bound to the unspecified address
	// (INADDR_ANY, ::).
	Wildcard bool
	// Transparent says the socket has IP_TRANSPARENT (or is a
	// time-wait or request socket, which the kernel counts as
	// transparent when their listener was).
	Transparent bool
	// Full says it is a full socket, not a time-wait or request one.
	Full bool
	// Mark is the socket's SO_MARK.
	Mark uint32
}

// SocketLookup finds the host's sockets, for -m socket and -j TPROXY.
// The embedding program gives one (nfgo.Config.Sockets) when it knows
// its sockets or can ask the kernel; it must be safe for concurrent use
// and should not allocate.
type SocketLookup interface {
	LookupSocket(q SocketQuery) (Socket, bool)
}

// socketQuery builds the lookup the kernel's nf_sk_lookup_slow_v4/v6
// does for a packet: a TCP or UDP packet's own addresses and ports, or
// for an ICMP error those of the TCP or UDP packet it carries; for a
// reply of a source-NATed connection, the original source stands for
// the local end. ok is false for any other packet.
func socketQuery(c *Context, mode SocketMode) (SocketQuery, bool) {
	p := c.Packet
	q := SocketQuery{Mode: mode, In: c.In}
	switch {
	case p.Proto == packet.ProtoTCP || p.Proto == packet.ProtoUDP:
		if p.L4Off == 0 || p.Fragment && p.FragOffset != 0 {
			return q, false
		}
		q.Proto = p.Proto
		q.Remote = netip.AddrPortFrom(p.Src(), p.SrcPort)
		q.Local = netip.AddrPortFrom(p.Dst(), p.DstPort)
	case p.IsICMPError():
		var inner packet.Packet
		if !p.Embedded(&inner) || inner.Proto != packet.ProtoTCP && inner.Proto != packet.ProtoUDP || inner.L4Off == 0 {
			return q, false
		}
		q.Proto = inner.Proto
		q.Remote = netip.AddrPortFrom(inner.Src(), inner.SrcPort)
		q.Local = netip.AddrPortFrom(inner.Dst(), inner.DstPort)
	default:
		return q, false
	}
	ct := &c.CT
	want := StateEstablished
	if p.Proto != packet.ProtoTCP && p.Proto != packet.ProtoUDP {
		want = StateRelated
	}
	if ct.Tracked && ct.Reply && ct.Status&StatusSrcNATDone != 0 && ct.State&want != 0 {
		ct.Tuples()
		q.Local = netip.AddrPortFrom(ct.OrigSrc, ct.OrigSrcPort)
	}
	return q, true
}
