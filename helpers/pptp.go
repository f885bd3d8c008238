package helpers

import (
	"encoding/binary"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/nat"
	"github.com/nfgo/nfgo/packet"
)

// PPTP (nf_conntrack_pptp.c and nf_nat_pptp.c), the Point-to-Point
// Tunneling Protocol of RFC 2637: a TCP control connection (port 1723)
// from the client (PNS) to the server (PAC) sets up calls, whose PPP
// frames travel in enhanced GRE (version 1) packets that carry only the
// call ID of the peer they go to. The helper follows the control
// messages: when a call is set up (Outgoing-Call-Reply or
// Incoming-Call-Connected) it knows both call IDs, expects the call's
// GRE connection in both directions and records its keys in the table's
// GRE keymap (conntrack.Table.AddGREKey), so that a GRE packet's tuple
// gets the sender's call ID too. Call-Disconnect-Notify, and the control
// connection's end, kill the call's GRE connection.
//
// Under NAT the client's call ID is changed to the control connection's
// NATed source port (the kernel's "for now we use TCP source port"), so
// that two clients behind one address, which may pick the same call ID,
// get different ones; the server's messages get the client's own back,
// and the call's GRE connection is NATed to match (pptp_nat_expected).
//
// As in the kernel: the control connection is assumed to go from PNS to
// PAC; only one call per control connection is followed, the last; a
// segment is looked at only from its start, as one message; IPv4 only.
// The kernel's PPTP sets longer GRE timeouts (10 minutes, 5 hours) for
// the call when its GRE connection starts, but the GRE tracker puts the
// defaults back as it handles that first packet (nf_conntrack_gre_packet
// on an unconfirmed connection), so a call's GRE connection has the
// plain GRE timeouts, here as there.

// ExpectPPTP is the name of the function that starts a PPTP call's GRE
// connection (the kernel's pptp_expectfn, with nf_nat_pptp's
// pptp_nat_expected under NAT), for conntrack.Expectation.Fn.
const ExpectPPTP = "pptp"

// The control connection's state (enum pptp_ctrlsess_state).
const (
	pptpSessionNone      = 0 // PPTP_SESSION_NONE
	pptpSessionError     = 1 // PPTP_SESSION_ERROR
	pptpSessionStopReq   = 2 // PPTP_SESSION_STOPREQ
	pptpSessionRequested = 3 // PPTP_SESSION_REQUESTED
	pptpSessionConfirmed = 4 // PPTP_SESSION_CONFIRMED
)

// The call's state (enum pptp_ctrlcall_state).
const (
	pptpCallNone     = 0 // PPTP_CALL_NONE
	pptpCallOutReq   = 2 // PPTP_CALL_OUT_REQ
	pptpCallOutConf  = 3 // PPTP_CALL_OUT_CONF
	pptpCallInReq    = 4 // PPTP_CALL_IN_REQ
	pptpCallInRep    = 5 // PPTP_CALL_IN_REP
	pptpCallInConf   = 6 // PPTP_CALL_IN_CONF
	pptpCallClearReq = 7 // PPTP_CALL_CLEAR_REQ
)

// The control message types (PptpControlMessageType).
const (
	pptpStartSessionRequest      = 1
	pptpStartSessionReply        = 2
	pptpStopSessionRequest       = 3
	pptpStopSessionReply         = 4
	pptpEchoRequest              = 5
	pptpEchoReply                = 6
	pptpOutCallRequest           = 7
	pptpOutCallReply             = 8
	pptpInCallRequest            = 9
	pptpInCallReply              = 10
	pptpInCallConnect            = 11
	pptpCallClearRequest         = 12
	pptpCallDisconnectNotify     = 13
	pptpWANErrorNotify           = 14
	pptpSetLinkInfo              = 15
	pptpMsgMax                   = 15
	pptpControlMessage           = 1          // PPTP_PACKET_CONTROL
	pptpMagicCookie              = 0x1a2b3c4d // PPTP_MAGIC_COOKIE
	pptpPacketHeaderLen          = 8          // struct pptp_pkt_hdr
	pptpControlHeaderLen         = 4          // struct PptpControlHeader
	pptpResultOK                 = 1          // PPTP_START_OK, PPTP_STOP_OK, PPTP_OUTCALL_CONNECT, PPTP_INCALL_ACCEPT
	pptpBodyOff                  = pptpPacketHeaderLen + pptpControlHeaderLen
	pptpCallIDOff, pptpPeerIDOff = 0, 2 // callID, peersCallID in the messages that have both
	pptpResultOff                = 4    // resultCode of OutCallReply and InCallReply
	pptpStartReplyResultOff      = 2    // PptpStartSessionReply.resultCode
)

// pptpMsgSize is the size of each message's body (pptp_msg_size): a
// shorter one is not looked at.
var pptpMsgSize = [pptpMsgMax + 1]int{
	pptpStartSessionRequest:  144,
	pptpStartSessionReply:    144,
	pptpStopSessionRequest:   4,
	pptpStopSessionReply:     4,
	pptpEchoRequest:          4,
	pptpEchoReply:            8,
	pptpOutCallRequest:       156,
	pptpOutCallReply:         20,
	pptpInCallRequest:        208,
	pptpInCallReply:          12,
	pptpInCallConnect:        16,
	pptpCallClearRequest:     4,
	pptpCallDisconnectNotify: 136,
	pptpWANErrorNotify:       28,
	pptpSetLinkInfo:          12,
}

// pptpState is what the helper keeps about a control connection, in its
// helper data (struct nf_ct_pptp_master, and struct nf_nat_pptp of the
// NAT extension): the session's and the call's state, the call IDs as
// they are on the wire on the server's side, and, under NAT, the
// client's call ID before it was changed and the server's as saved.
type pptpState struct {
	sstate, cstate uint8
	pacCallID      uint16
	pnsCallID      uint16
	natPNS, natPAC uint16
}

func loadPPTP(d *[conntrack.HelpDataSize]byte) pptpState {
	return pptpState{
		sstate: d[0], cstate: d[1],
		pacCallID: binary.BigEndian.Uint16(d[2:]), pnsCallID: binary.BigEndian.Uint16(d[4:]),
		natPNS: binary.BigEndian.Uint16(d[6:]), natPAC: binary.BigEndian.Uint16(d[8:]),
	}
}

func (s *pptpState) store(d *[conntrack.HelpDataSize]byte) {
	d[0], d[1] = s.sstate, s.cstate
	binary.BigEndian.PutUint16(d[2:], s.pacCallID)
	binary.BigEndian.PutUint16(d[4:], s.pnsCallID)
	binary.BigEndian.PutUint16(d[6:], s.natPNS)
	binary.BigEndian.PutUint16(d[8:], s.natPAC)
}

func newPPTP(*Config) *Helper {
	return &Helper{
		name: "pptp", protos: []uint8{packet.ProtoTCP}, families: v4,
		policy:  []conntrack.ExpectPolicy{{Name: "default", MaxExpected: 2, Timeout: 5 * time.Minute}},
		help:    pptpHelp,
		destroy: pptpDestroy,
	}
}

// pptpMessage is the control message at the start of a segment's
// payload: its type and body, or ok=false when the segment does not
// start with a whole control message (conntrack_pptp_help's checks).
func pptpMessage(data []byte) (msg uint16, body []byte, ok bool) {
	if len(data) < pptpBodyOff {
		return 0, nil, false
	}
	if binary.BigEndian.Uint16(data[2:]) != pptpControlMessage || binary.BigEndian.Uint32(data[4:]) != pptpMagicCookie {
		return 0, nil, false
	}
	msg = binary.BigEndian.Uint16(data[pptpPacketHeaderLen:])
	body = data[pptpBodyOff:]
	if msg > 0 && msg <= pptpMsgMax && len(body) < pptpMsgSize[msg] {
		return 0, nil, false
	}
	return msg, body, true
}

func pptpHelp(h *Helper, c *Call) Verdict {
	if !c.established() {
		return accept
	}
	p := c.Packet
	if p.Proto != packet.ProtoTCP || p.L4Off == 0 || p.PayloadOff >= p.Length {
		return accept
	}
	msg, body, ok := pptpMessage(p.Bytes()[p.PayloadOff:])
	if !ok {
		return accept
	}
	st := loadPPTP(c.Data)
	var v Verdict
	if c.dir() == conntrack.Original {
		v = pptpOutbound(c, &st, msg, body)
	} else {
		v = pptpInbound(c, &st, msg, body)
	}
	st.store(c.Data)
	return v
}

// pptpOutbound handles a message from the client (pptp_outbound_pkt).
func pptpOutbound(c *Call, st *pptpState, msg uint16, body []byte) Verdict {
	switch msg {
	case pptpStartSessionRequest:
		if st.sstate != pptpSessionNone {
			return accept
		}
		st.sstate = pptpSessionRequested
	case pptpStopSessionRequest:
		st.sstate = pptpSessionStopReq
	case pptpOutCallRequest:
		if st.sstate != pptpSessionConfirmed {
			return accept
		}
		st.cstate = pptpCallOutReq
		st.pnsCallID = binary.BigEndian.Uint16(body[pptpCallIDOff:])
	case pptpInCallReply:
		if st.cstate != pptpCallInReq && st.cstate != pptpCallInRep {
			return accept
		}
		if st.pacCallID != binary.BigEndian.Uint16(body[pptpPeerIDOff:]) {
			return accept
		}
		if body[pptpResultOff] == pptpResultOK {
			st.cstate = pptpCallInRep
			st.pnsCallID = binary.BigEndian.Uint16(body[pptpCallIDOff:])
		} else {
			st.cstate = pptpCallNone
		}
	case pptpCallClearRequest:
		if st.sstate != pptpSessionConfirmed {
			return accept
		}
		st.cstate = pptpCallClearReq
	case pptpSetLinkInfo, pptpEchoRequest, pptpEchoReply:
	default:
		return accept
	}
	if !c.natted() {
		return accept
	}
	return pptpNATOutbound(c, st, msg)
}

// pptpInbound handles a message from the server (pptp_inbound_pkt).
func pptpInbound(c *Call, st *pptpState, msg uint16, body []byte) Verdict {
	switch msg {
	case pptpStartSessionReply:
		if st.sstate < pptpSessionRequested {
			return accept
		}
		if body[pptpStartReplyResultOff] == pptpResultOK {
			st.sstate = pptpSessionConfirmed
		} else {
			st.sstate = pptpSessionError
		}
	case pptpStopSessionReply:
		if st.sstate > pptpSessionStopReq {
			return accept
		}
		if body[0] == pptpResultOK {
			st.sstate = pptpSessionNone
		} else {
			st.sstate = pptpSessionError
		}
	case pptpOutCallReply:
		if st.sstate != pptpSessionConfirmed || st.cstate != pptpCallOutReq && st.cstate != pptpCallOutConf {
			return accept
		}
		cid, pcid := binary.BigEndian.Uint16(body[pptpCallIDOff:]), binary.BigEndian.Uint16(body[pptpPeerIDOff:])
		if st.pnsCallID != pcid {
			return accept
		}
		if body[pptpResultOff] == pptpResultOK {
			st.cstate = pptpCallOutConf
			st.pacCallID = cid
			pptpExpectGRE(c, st, cid, pcid)
		} else {
			st.cstate = pptpCallNone
		}
	case pptpInCallRequest:
		if st.sstate != pptpSessionConfirmed {
			return accept
		}
		st.cstate = pptpCallInReq
		st.pacCallID = binary.BigEndian.Uint16(body[pptpCallIDOff:])
	case pptpInCallConnect:
		if st.sstate != pptpSessionConfirmed || st.cstate != pptpCallInRep && st.cstate != pptpCallInConf {
			return accept
		}
		pcid := binary.BigEndian.Uint16(body[pptpCallIDOff:])
		if st.pnsCallID != pcid {
			return accept
		}
		st.cstate = pptpCallInConf
		pptpExpectGRE(c, st, st.pacCallID, pcid)
	case pptpCallDisconnectNotify:
		st.cstate = pptpCallNone
		orig, reply := c.tuple(conntrack.Original), c.tuple(conntrack.Reply)
		pptpDestroySiblings(c.Table, &orig, &reply, st, c.Now)
	case pptpWANErrorNotify, pptpSetLinkInfo, pptpEchoRequest, pptpEchoReply:
	default:
		return accept
	}
	if !c.natted() {
		return accept
	}
	return pptpNATInbound(c, st, msg)
}

// pptpNATOutbound rewrites the client's call ID in a message from the
// client (nf_nat_pptp's pptp_outbound_pkt): an Outgoing-Call-Request's
// becomes the control connection's NATed source port, and the call's
// later messages carry that one.
func pptpNATOutbound(c *Call, st *pptpState, msg uint16) Verdict {
	switch msg {
	case pptpOutCallRequest:
		st.natPNS = st.pnsCallID
		// The reply tuple's destination port: the packet itself may
		// not be NATed yet at a destination manipulation hook.
		st.pnsCallID = c.tuple(conntrack.Reply).DstPort
	case pptpInCallReply, pptpCallClearRequest:
	default:
		return accept
	}
	return pptpMangleID(c, pptpCallIDOff, st.pnsCallID)
}

// pptpNATInbound gives a message from the server the client's own call
// ID back (nf_nat_pptp's pptp_inbound_pkt). Like the kernel, it writes
// it into a Call-Disconnect-Notify's call ID field too, which holds the
// server's.
func pptpNATInbound(c *Call, st *pptpState, msg uint16) Verdict {
	off := pptpCallIDOff
	switch msg {
	case pptpOutCallReply:
		off = pptpPeerIDOff
	case pptpInCallConnect, pptpWANErrorNotify, pptpCallDisconnectNotify, pptpSetLinkInfo:
	default:
		return accept
	}
	return pptpMangleID(c, off, st.natPNS)
}

// pptpMangleID writes a call ID at offset off of the message's body.
func pptpMangleID(c *Call, off int, id uint16) Verdict {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], id)
	if !c.mangleTCP(pptpBodyOff+off, 2, b[:]) {
		return drop("pptp: cannot mangle packet")
	}
	return accept
}

// pptpExpectGRE expects the call's GRE connection in both directions and
// records its keys (exp_gre): the client's packets carry the server's
// call ID, the server's the client's. Under NAT the expectations take
// the call IDs as they are on each side (pptp_exp_gre). Failures are
// not the packet's: it goes on either way.
func pptpExpectGRE(c *Call, st *pptpState, callID, peerCallID uint16) {
	orig, reply := c.tuple(conntrack.Original), c.tuple(conntrack.Reply)
	gre := func(t *conntrack.Tuple, src, dst uint16) conntrack.Expectation {
		return conntrack.Expectation{Fn: ExpectPPTP, Tuple: conntrack.Tuple{
			Family: t.Family, Proto: packet.ProtoGRE, Zone: t.Zone,
			Src: t.Src, Dst: t.Dst, SrcPort: src, DstPort: dst,
		}}
	}
	expOrig := gre(&orig, peerCallID, callID)
	expReply := gre(&reply, callID, peerCallID)
	if c.natted() {
		st.natPAC = st.pacCallID
		expOrig.SavedPort = st.pnsCallID
		expOrig.Tuple.SrcPort = st.natPNS
		expOrig.Tuple.DstPort = st.pacCallID
		expOrig.Dir = conntrack.Original
		expReply.SavedPort = st.natPNS
		expReply.Tuple.SrcPort = st.natPAC
		expReply.Tuple.DstPort = st.pnsCallID
		expReply.Dir = conntrack.Reply
	}
	tb := c.Table
	if tb.Expect(c.CT, expOrig, c.Now) != nil {
		return
	}
	if tb.Expect(c.CT, expReply, c.Now) != nil {
		tb.Unexpect(c.CT, expOrig, c.Now)
		return
	}
	if tb.AddGREKey(c.CT, conntrack.Original, expOrig.Tuple) == nil {
		if tb.AddGREKey(c.CT, conntrack.Reply, expReply.Tuple) == nil {
			return
		}
		tb.RemoveGREKeys(orig)
	}
	tb.Unexpect(c.CT, expReply, c.Now)
	tb.Unexpect(c.CT, expOrig, c.Now)
}

// pptpDestroy is the helper's destroy hook: a control connection that
// goes takes its call's keys and GRE connection with it.
func pptpDestroy(tb *conntrack.Table, d *conntrack.Destroyed, now time.Time) {
	st := loadPPTP(&d.Help.Data)
	pptpDestroySiblings(tb, &d.Orig, &d.Reply, &st, now)
}

// pptpDestroySiblings forgets the call's GRE keys and kills its GRE
// connection, or, if it has not started, its expectations
// (pptp_destroy_siblings): the tuples are the control connection's with
// the call IDs as keys, one direction and then the other.
func pptpDestroySiblings(tb *conntrack.Table, orig, reply *conntrack.Tuple, st *pptpState, now time.Time) {
	tb.RemoveGREKeys(*orig)
	t := *orig
	t.Proto, t.SrcPort, t.DstPort = packet.ProtoGRE, st.pnsCallID, st.pacCallID
	if !tb.Delete(t, now) {
		tb.UnexpectTuple(t, now)
	}
	t = *reply
	t.Proto, t.SrcPort, t.DstPort = packet.ProtoGRE, st.pacCallID, st.pnsCallID
	if !tb.Delete(t, now) {
		tb.UnexpectTuple(t, now)
	}
}

// pptpExpected starts a call's GRE connection (pptp_expectfn). Without
// NAT the other direction's expectation is taken back: this connection
// covers both. Under NAT, pptp_nat_expected does that and NATs the
// connection so that each side sees the call IDs it gave.
func pptpExpected(exp *conntrack.Expectation, tb *conntrack.Table, n NATSetup, now time.Time) bool {
	if inv, _ := exp.Master.Invert(); inv == exp.MasterReply {
		other, _ := exp.Tuple.Invert()
		tb.UnexpectTuple(other, now)
		return true
	}
	var st pptpState
	if help, ok := tb.HelpOf(exp.Master, now); ok {
		st = loadPPTP(&help.Data)
	}
	// The other direction's expectation. When the server's packet came
	// first, the kernel takes the call IDs it saved from the new GRE
	// connection's NAT extension, not the master's: they are 0, nothing
	// is found, and the client's expectation stays until it times out.
	var other conntrack.Tuple
	if exp.Dir == conntrack.Original {
		m := &exp.MasterReply
		other = conntrack.Tuple{Family: m.Family, Proto: packet.ProtoGRE, Zone: m.Zone, Src: m.Src, Dst: m.Dst, SrcPort: st.pacCallID, DstPort: st.pnsCallID}
	} else {
		m := &exp.Master
		other = conntrack.Tuple{Family: m.Family, Proto: packet.ProtoGRE, Zone: m.Zone, Src: m.Src, Dst: m.Dst}
	}
	tb.UnexpectTuple(other, now)

	// The source becomes where the master's packets in the other
	// direction go, the destination where they come from; the call ID
	// saved goes on the side the expectation's direction names.
	m := masterTuple(exp, 1-exp.Dir)
	if !n.SetupNAT(single(m.Dst, exp.SavedPort, exp.Dir == conntrack.Original), nat.ManipSrc) {
		return false
	}
	return n.SetupNAT(single(m.Src, exp.SavedPort, exp.Dir == conntrack.Reply), nat.ManipDst)
}
