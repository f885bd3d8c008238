package nfgo

import (
	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/synproxy"
)

// SYNPROXY in the engine: the target (filter.SYNPROXYTarget) answers
// the client's handshake and opens the server's; what follows is here,
// as in nf_synproxy_core.c. The packets the host makes pass its own
// OUTPUT and POSTROUTING (SendLocal), and the hooks at INPUT and
// POSTROUTING (synproxyHook, run in confirm just before the sequence
// adjustment, as ipv4_synproxy_hook runs at NF_IP_PRI_CONNTRACK_CONFIRM
// − 1) splice the two handshakes of a connection SYNPROXY opened.

// maxLocalDepth bounds how deep the host's own packets may nest (a
// packet SYNPROXY sends to the host itself that a SYNPROXY rule answers
// again…); the kernel loops them back through a queue, nfgo judges them
// at once, so it needs a bound.
const maxLocalDepth = 3

// SYNProxyStats returns the SYNPROXY counters (/proc/net/stat/synproxy).
func (e *Engine) SYNProxyStats() synproxy.Stats { return e.objects.SYNProxy.Stats() }

// SendLocal implements filter.LocalSender: b, a packet the host makes
// while judging this one, passes OUTPUT and POSTROUTING in a context of
// its own (as ip_local_out sends it), and what leaves joins this
// packet's effects as an EffectSend, after the effects its own rules
// had (LOG lines, …). A packet the rules drop is not sent.
func (ps *pktState) SendLocal(b []byte, conn filter.LocalConn) {
	e := ps.eng
	parent := &ps.Context
	if ps.depth >= maxLocalDepth {
		return
	}
	q := e.pool.Get().(*pktState)
	q.outBuf = append(q.outBuf[:0], b...)
	q.out.Decode(q.outBuf)
	e.resetContext(q, &q.out, Meta{Time: parent.Now})
	q.depth = ps.depth + 1
	switch {
	case conn == filter.LocalSynproxy:
		q.synproxyTemplate = true
	case conn == filter.LocalReply && ps.ctDone && ps.ct.Tracked() && !ps.ct.Pending():
		// The packet carries the connection it answers, as
		// synproxy_send_tcp attaches it: conntrack does not look it up.
		q.ct = ps.ct
		q.ct.State, q.ct.Dir = conntrack.Established, conntrack.Reply
		q.ctDone = true
		e.setCTInfo(q)
	}
	v := Verdict{Action: filter.Accept, Reason: ReasonNoRules}
	e.fromHost(q, &v)
	var sent []byte
	if v.Action == filter.Accept {
		// Kept in this packet's arena until its verdict copies it: a
		// full arena moves to a larger array, and what earlier slices
		// point to stays valid.
		start := len(ps.sent)
		ps.sent = append(ps.sent, q.out.Bytes()...)
		sent = ps.sent[start:len(ps.sent):len(ps.sent)]
	}
	v = e.finish(q, v)
	parent.Effects = append(parent.Effects, v.Effects...)
	if sent != nil {
		parent.Emit(filter.Effect{Kind: filter.EffectSend, Packet: sent, Routed: true})
	}
}

// synproxyHook is ipv4_synproxy_hook / ipv6_synproxy_hook for a packet
// of a connection SYNPROXY opened, at INPUT or POSTROUTING: it records
// the proxy's ISN and timestamp from its own SYN to the server,
// re-sends that SYN for a client's keep-alive while the server has not
// answered, answers the server's SYN/ACK itself (an ACK to the server,
// a window update to the client) and sets up the sequence translation,
// and translates the timestamps of every other segment. It reports
// whether the packet goes on; a packet it takes is Stolen.
func (e *Engine) synproxyHook(ps *pktState, sp conntrack.Synproxy, v *Verdict) bool {
	c := &ps.Context
	p := c.Packet
	if c.Hook != filter.Input && c.Hook != filter.Postrouting || ps.loopedBack() {
		return true // nf_is_loopback_packet: the proxy's own packets to a local server
	}
	if p.Proto != packet.ProtoTCP || p.IsICMPError() {
		return true
	}
	if p.L4Off == 0 || p.PayloadOff < p.L4Off+20 {
		v.Action = filter.Drop
		return false
	}
	r := &ps.ct
	opts := p.L4()[20 : p.PayloadOff-p.L4Off]
	f := p.TCPFlags
	syn, ack, rst := f&packet.TCPSyn != 0, f&packet.TCPAck != 0, f&packet.TCPRst != 0
	px := e.objects.SYNProxy
	switch r.TCPState {
	case conntrack.TCPClose:
		if rst && r.Dir != conntrack.Original {
			// The server refused: its RST goes to the client in the
			// cookie's sequence space.
			e.ct.InitSeqAdj(r, r.Dir, int32(sp.ISN-p.Seq+1), c.Now)
			break
		}
		if !syn || ack || r.Dir != conntrack.Original {
			break
		}
		// A SYN reopens the connection: forget the timestamp offset (the
		// sequence offset stays, as nf_ct_seqadj_init with 0 keeps it).
		sp.TSOff = 0
		e.ct.SetSynproxy(r, sp)
		px.Count(synproxy.StatConnReopened, uint32(p.SrcPort))
		fallthrough
	case conntrack.TCPSynSent:
		if !syn && ack && r.Dir == conntrack.Original {
			// A keep-alive (seq = ISN) while the server has not
			// answered: the cookie is checked again and the SYN sent
			// again. The check uses seq − 1, one below the ISN the
			// cookie was made with, as the kernel does.
			flow := synproxy.Flow{Src: p.Src(), Dst: p.Dst(), SrcPort: p.SrcPort, DstPort: p.DstPort}
			mss, ok := px.Cookies.Check(flow, p.Seq, p.Ack, synproxy.Minute(c.Now))
			if !ok {
				px.Count(synproxy.StatCookieInvalid, uint32(p.SrcPort))
				v.Action = filter.Drop
				return false
			}
			px.Count(synproxy.StatCookieValid, uint32(p.SrcPort))
			o := synproxy.ServerSYNOptions(opts, mss)
			seg := synproxy.ServerSYN(flow, p.Seq+1, p.Ack, p.Window, &o, defaultTTL)
			ps.spBuf = seg.Build(ps.spBuf[:0])
			ps.SendLocal(ps.spBuf, filter.LocalSynproxy)
			px.Count(synproxy.StatCookieRetrans, uint32(p.SrcPort))
			v.Action = filter.Stolen
			return false
		}
		sp.ISN = p.Ack
		if o := synproxy.ParseOptions(opts); o.Options&synproxy.OptTimestamp != 0 {
			sp.ITS = o.TSEcr
		}
		e.ct.SetSynproxy(r, sp)
	case conntrack.TCPSynRecv:
		if !syn || !ack {
			break
		}
		sa := synproxy.ServerReply{Flow: synproxy.Flow{Src: p.Src(), Dst: p.Dst(), SrcPort: p.SrcPort, DstPort: p.DstPort},
			Seq: p.Seq, Ack: p.Ack, Window: p.Window, Options: synproxy.ReplyOptions(opts)}
		if sa.Options.Options&synproxy.OptTimestamp != 0 {
			sp.TSOff = sa.Options.TSVal - sp.ITS
			e.ct.SetSynproxy(r, sp)
		}
		win := e.ct.TCPMaxWindow(r, conntrack.Original)
		seg := synproxy.ServerACK(&sa, uint16(min(win, 0xffff)), defaultTTL)
		ps.spBuf = seg.Build(ps.spBuf[:0])
		ps.SendLocal(ps.spBuf, filter.LocalLookup)
		e.ct.InitSeqAdj(r, r.Dir, int32(sp.ISN-p.Seq), c.Now)
		// The window update carries this connection, which the sequence
		// adjustment just set up moves into the cookie's space.
		seg = synproxy.ClientACK(&sa, defaultTTL)
		ps.spBuf = seg.Build(ps.spBuf[:0])
		ps.SendLocal(ps.spBuf, filter.LocalReply)
		v.Action = filter.Stolen
		return false
	}
	if sp.TSOff != 0 {
		// synproxy_tstamp_adjust: the server's timestamps as the client
		// knows the proxy's, and back.
		if r.Dir == conntrack.Reply {
			p.AddTCPTimestamps(-sp.TSOff, 0)
		} else {
			p.AddTCPTimestamps(0, sp.TSOff)
		}
	}
	return true
}
