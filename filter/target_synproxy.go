package filter

import (
	"errors"

	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/synproxy"
)

// LocalSender sends a packet the host makes itself as ip_local_out
// does: through OUTPUT and POSTROUTING, with the connection Conn says,
// and then out (an EffectSend of what leaves). The engine implements it.
type LocalSender interface {
	SendLocal(b []byte, conn LocalConn)
}

// LocalConn is the connection a locally made packet carries into
// OUTPUT.
type LocalConn uint8

// The connections.
const (
	// LocalLookup: none; conntrack looks the packet up, as for any
	// packet the host sends.
	LocalLookup LocalConn = iota
	// LocalReply: the packet being judged's own connection, in the reply
	// direction (SYNPROXY's SYN/ACK to a SYN that was tracked).
	LocalReply
	// LocalSynproxy: SYNPROXY's template; a connection the packet opens
	// gets SYNPROXY's state (nf_ct_add_synproxy), for the hooks that
	// translate the rest of the connection.
	LocalSynproxy
)

// SYNPROXYTarget is -j SYNPROXY (ipt_SYNPROXY.c, ip6t_SYNPROXY.c): it
// answers a client's SYN itself with a SYN cookie, and only when the
// client's ACK proves the cookie does it open the connection to the
// server, with the client's own ISN and the options the cookie carried;
// the engine's SYNPROXY hooks then splice the two handshakes together
// (sequence and timestamp translation). A SYN flood thus never reaches
// the server, nor creates a connection.
//
// The target takes (Stolen) the SYNs and ACKs it handles, drops an ACK
// whose cookie fails and any segment whose checksum or header is bad,
// and lets every other segment go on to the next rule (XT_CONTINUE), as
// the kernel does. The packets it sends pass OUTPUT and POSTROUTING
// (Context.Local); their TTL is the host's default, 64.
type SYNPROXYTarget struct {
	// Info is the rule's options (--sack-perm, --timestamp, --wscale,
	// --mss, --ecn): what the SYN/ACK may announce.
	synproxy.Info
	// proxy holds the keys and counters, bound from Objects.
	proxy *synproxy.Proxy
}

// Name returns "SYNPROXY".
func (*SYNPROXYTarget) Name() string { return "SYNPROXY" }

// Allowed restricts the target to INPUT and FORWARD, in any table.
func (*SYNPROXYTarget) Allowed() (TableMask, HookMask) { return 0, Hooks(Input, Forward) }

// ErrSYNPROXYProto is CheckRule's error for a rule not limited to TCP:
// synproxy_tg4_check's -EINVAL.
var ErrSYNPROXYProto = errors.New("invalid argument: only for -p tcp, not inverted")

// CheckRule requires -p tcp, not inverted, as synproxy_tg4_check and
// synproxy_tg6_check do.
func (*SYNPROXYTarget) CheckRule(r *Rule, _ Site) error {
	if r.Header.Proto != packet.ProtoTCP || r.Header.ProtoInvert {
		return ErrSYNPROXYProto
	}
	return nil
}

// Bind gives the target the engine's proxy (Objects.SYNProxy), made on
// first use.
func (t *SYNPROXYTarget) Bind(b *Binding) (any, error) {
	bound := *t
	bound.proxy = b.objs.synProxy()
	return &bound, nil
}

// Proxy returns the proxy a bound target uses, nil for an unbound one.
func (t *SYNPROXYTarget) Proxy() *synproxy.Proxy { return t.proxy }

// synproxyTTL is the TTL and hop limit of SYNPROXY's packets: the
// host's ip_default_ttl and conf.all.hop_limit, 64 by default.
const synproxyTTL = 64

// Do handles the packet as synproxy_tg4 / synproxy_tg6 do.
func (t *SYNPROXYTarget) Do(c *Context) Verdict {
	p := c.Packet
	if p.Proto != packet.ProtoTCP || p.L4Off == 0 || p.PayloadOff < p.L4Off+20 || !p.L4ChecksumOK() {
		return Verdict{Action: Drop}
	}
	px := t.proxy
	if px == nil {
		return Verdict{Action: Drop} // never bound: no keys to make cookies with
	}
	opts := p.L4()[20 : p.PayloadOff-p.L4Off]
	f := p.TCPFlags
	syn, ack, fin, rst := f&packet.TCPSyn != 0, f&packet.TCPAck != 0, f&packet.TCPFin != 0, f&packet.TCPRst != 0
	flow := synproxy.Flow{Src: p.Src(), Dst: p.Dst(), SrcPort: p.SrcPort, DstPort: p.DstPort}
	hint := uint32(p.SrcPort)
	switch {
	case syn && !ack && !fin && !rst:
		px.Count(synproxy.StatSYNReceived, hint)
		o := synproxy.SYNACKOptions(opts, f&packet.TCPEce != 0, f&packet.TCPCwr != 0, t.Info, synproxy.Millis(c.Now))
		cookie, _ := px.Cookies.Make(flow, p.Seq, o.MSSEncode, synproxy.Minute(c.Now))
		seg := synproxy.SYNACK(flow, p.Seq, cookie, &o, synproxyTTL)
		conn := LocalLookup
		if c.CT.Tracked && c.CT.State != StateUntracked && c.CT.State != StateInvalid {
			conn = LocalReply
		}
		t.send(c, &seg, conn)
		return Verdict{Action: Stolen}
	case ack && !fin && !rst && !syn:
		mss, ok := px.Cookies.Check(flow, p.Seq, p.Ack, synproxy.Minute(c.Now))
		if !ok {
			px.Count(synproxy.StatCookieInvalid, hint)
			return Verdict{Action: Drop}
		}
		px.Count(synproxy.StatCookieValid, hint)
		o := synproxy.ServerSYNOptions(opts, mss)
		seg := synproxy.ServerSYN(flow, p.Seq, p.Ack, p.Window, &o, synproxyTTL)
		t.send(c, &seg, LocalSynproxy)
		return Verdict{Action: Stolen}
	}
	return Verdict{Action: Continue}
}

// send builds seg in the context's response buffer and hands it to the
// host's output path, or, outside an engine, emits it.
func (t *SYNPROXYTarget) send(c *Context, seg *synproxy.Segment, conn LocalConn) {
	b := seg.Build(c.ResponseBuf[:0])
	c.ResponseBuf = b
	if c.Local != nil {
		c.Local.SendLocal(b, conn)
		return
	}
	c.Emit(Effect{Kind: EffectSend, Packet: b})
}
