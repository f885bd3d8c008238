package filter

import (
	"errors"
	"net/netip"

	"github.com/nfgo/nfgo/packet"
)

// TProxyTarget is -j TPROXY (xt_TPROXY.c, revision 1), for the mangle
// table's PREROUTING and TCP or UDP rules: it hands the packet to a
// transparent socket on OnIP:OnPort (the packet's own destination port
// when OnPort is 0, the input interface's address when OnIP is not
// set), marks it ((mark &^ MarkMask) ^ MarkValue) and accepts it.
//
// With a socket lookup (Context.Sockets) it is the kernel's: a connected
// socket of the packet's own addresses first, then a listener on the
// redirect address; if neither is found or the socket is not
// transparent, the packet is dropped. Without one, the embedding program
// is the proxy: the packet is marked and accepted. Either way the verdict
// carries an EffectTProxy with the address and port, for the program to
// deliver the packet to its listener. Under nfgo run the mark reaches
// the kernel with the verdict, but handing the packet to a socket is the
// kernel's TPROXY's alone: run the kernel's rule, or route the marked
// packets to a local transparent listener.
type TProxyTarget struct {
	// OnIP is --on-ip (unset: the input interface's address); OnPort is
	// --on-port (0: the packet's destination port).
	OnIP   netip.Addr
	OnPort uint16
	// MarkValue and MarkMask are --tproxy-mark value/mask.
	MarkValue, MarkMask uint32
}

// Name returns "TPROXY".
func (*TProxyTarget) Name() string { return "TPROXY" }

// Allowed restricts the target to mangle PREROUTING.
func (*TProxyTarget) Allowed() (TableMask, HookMask) {
	return Tables(Mangle), Hooks(Prerouting)
}

// ErrTProxyProto is CheckRule's error for a TPROXY rule not limited to
// TCP or UDP.
var ErrTProxyProto = errors.New("TPROXY: Can be used only with -p tcp or -p udp")

// CheckRule requires -p tcp or -p udp, not inverted, as tproxy_tg4_check
// does.
func (t *TProxyTarget) CheckRule(r *Rule, _ Site) error {
	if (r.Header.Proto == packet.ProtoTCP || r.Header.Proto == packet.ProtoUDP) && !r.Header.ProtoInvert {
		return nil
	}
	return ErrTProxyProto
}

// Do looks the sockets up, and marks and accepts the packet, or drops
// it.
func (t *TProxyTarget) Do(c *Context) Verdict {
	p := c.Packet
	if p.L4Off == 0 {
		return Verdict{Action: Drop}
	}
	laddr := t.OnIP
	if !laddr.IsValid() || laddr.IsUnspecified() {
		laddr = p.Dst()
		if c.Env != nil {
			if a, ok := c.Env.LocalAddr(c.In, p.Family); ok {
				laddr = a
			}
		}
	}
	lport := t.OnPort
	if lport == 0 {
		lport = p.DstPort
	}
	if c.Sockets != nil {
		q := SocketQuery{Mode: SocketEstablished, Proto: p.Proto, Remote: netip.AddrPortFrom(p.Src(), p.SrcPort), Local: netip.AddrPortFrom(p.Dst(), p.DstPort), In: c.In}
		sk, ok := c.Sockets.LookupSocket(q)
		if !ok {
			q.Mode, q.Local = SocketListener, netip.AddrPortFrom(laddr, lport)
			sk, ok = c.Sockets.LookupSocket(q)
		}
		if !ok || !sk.Transparent {
			return Verdict{Action: Drop}
		}
	}
	c.Mark = c.Mark&^t.MarkMask ^ t.MarkValue
	c.Emit(Effect{Kind: EffectTProxy, To: netip.AddrPortFrom(laddr, lport)})
	return Verdict{Action: Accept}
}
