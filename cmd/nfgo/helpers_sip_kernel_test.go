package main

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/nfgo/nfgo/internal/testpkt"
)

// SIP messages for the kernel comparison, with a correct Content-Length.
func sipMsg(start string, headers []string, body string) string {
	var b strings.Builder
	b.WriteString(start + "\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

// sdp is a session description with one audio stream, and for video a
// second one on the next pair of ports.
func sdp(ipv, addr string, port int, video bool) string {
	s := "v=0\r\no=user 2890844526 2890844526 IN " + ipv + " " + addr + "\r\ns=-\r\nc=IN " + ipv + " " + addr +
		"\r\nt=0 0\r\nm=audio " + fmt.Sprint(port) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	if video {
		s += "m=video " + fmt.Sprint(port+2) + " RTP/AVP 31\r\n"
	}
	return s
}

// hostPort writes a SIP host:port, IPv6 in brackets.
func hostPort(addr string, port int) string {
	if strings.Contains(addr, ":") {
		addr = "[" + addr + "]"
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

// sipCall plays a call over flow f (the caller is its initiator): an
// INVITE with an offer, 100 Trying, 180 Ringing, 200 OK with the
// answer, ACK, media both ways, BYE and its 200 OK. transport is "UDP"
// or "TCP"; caller and callee are the addresses each end believes it
// has.
func (h *helperRun) sipCall(f *testpkt.Flow, transport, caller, callee string, callerMedia, calleeMedia int, video bool) {
	ipv := "IP4"
	if strings.Contains(caller, ":") {
		ipv = "IP6"
	}
	send := func(fromCaller bool, s string) string {
		flags := ""
		if f.Proto == "tcp" {
			flags = "PA"
		}
		return f.Send(fromCaller, flags, s).Payload()
	}
	via := "Via: SIP/2.0/" + transport + " " + hostPort(caller, 5060) + ";branch=z9hG4bK74bf9;rport"
	common := []string{
		"From: Alice <sip:alice@" + hostPort(caller, 5060) + ">;tag=9fxced76sl",
		"To: Bob <sip:bob@" + hostPort(callee, 5060) + ">",
		"Call-ID: 3848276298220188511@" + caller,
	}
	invite := sipMsg("INVITE sip:bob@"+hostPort(callee, 5060)+" SIP/2.0", append(append([]string{via, "Max-Forwards: 70"}, common...),
		"CSeq: 1 INVITE", "Contact: <sip:alice@"+hostPort(caller, 5060)+">", "Content-Type: application/sdp"), sdp(ipv, caller, callerMedia, video))
	got := send(true, invite)
	// The callee answers the Via as it received it.
	rvia := via
	if got != "" {
		for _, l := range strings.Split(got, "\r\n") {
			if strings.HasPrefix(l, "Via: ") {
				rvia = l
			}
		}
	}
	resp := func(status string, body string, ctype bool) string {
		hs := append([]string{rvia}, common...)
		hs = append(hs, "CSeq: 1 INVITE", "Contact: <sip:bob@"+hostPort(callee, 5060)+">")
		if ctype {
			hs = append(hs, "Content-Type: application/sdp")
		}
		return sipMsg("SIP/2.0 "+status, hs, body)
	}
	send(false, resp("100 Trying", "", false))
	send(false, resp("180 Ringing", "", false))
	send(false, resp("200 OK", sdp(ipv, callee, calleeMedia, video), true))
	send(true, sipMsg("ACK sip:bob@"+hostPort(callee, 5060)+" SIP/2.0", append(append([]string{via}, common...), "CSeq: 1 ACK"), ""))
	h.label += " media"
	// RTP both ways, as each end addresses the other's media after NAT:
	// the callee sends to what the INVITE it got names.
	calleeDst, calleePort := netip.MustParseAddr(caller), callerMedia
	if got != "" {
		if a, p, ok := mediaOf(got); ok {
			calleeDst, calleePort = a, p
		}
	}
	rtp := &testpkt.Flow{Proto: "udp", Via: h.via,
		Init: testpkt.End{Addr: netip.MustParseAddr(callee), Port: uint16(calleeMedia), PeerAddr: calleeDst, PeerPort: uint16(calleePort)},
		Resp: testpkt.End{Addr: netip.MustParseAddr(caller), Port: uint16(callerMedia)}}
	rtp.Send(true, "", "rtp from the callee")
	rtp.Send(false, "", "rtp from the caller")
	rtcp := &testpkt.Flow{Proto: "udp", Via: h.via,
		Init: testpkt.End{Addr: netip.MustParseAddr(caller), Port: uint16(callerMedia + 1), PeerAddr: netip.MustParseAddr(callee), PeerPort: uint16(calleeMedia + 1)},
		Resp: testpkt.End{Addr: netip.MustParseAddr(callee), Port: uint16(calleeMedia + 1)}}
	rtcp.Send(true, "", "rtcp from the caller")
	h.label = strings.TrimSuffix(h.label, " media")
	send(true, sipMsg("BYE sip:bob@"+hostPort(callee, 5060)+" SIP/2.0", append(append([]string{via}, common...), "CSeq: 2 BYE"), ""))
}

// mediaOf reads the audio address and port of a message's SDP.
func mediaOf(msg string) (netip.Addr, int, bool) {
	var addr netip.Addr
	port := 0
	for _, l := range strings.Split(msg, "\r\n") {
		switch {
		case strings.HasPrefix(l, "c=IN IP4 "), strings.HasPrefix(l, "c=IN IP6 "):
			addr, _ = netip.ParseAddr(l[len("c=IN IP4 "):])
		case strings.HasPrefix(l, "m=audio "):
			fmt.Sscan(l[len("m=audio "):], &port)
		}
	}
	return addr, port, addr.IsValid() && port != 0
}

// sipScenarios: calls over UDP and TCP, without NAT and through SNAT,
// IPv4 and IPv6, a registration whose expectation lets the registrar's
// call in, and malformed messages.
func sipScenarios(h *helperRun) {
	h.label = "SIP call"
	udp := h.udp("10.1.0.20", 5060, "203.0.113.50", 5060, "203.0.113.50")
	h.sipCall(udp, "UDP", "10.1.0.20", "203.0.113.50", 49170, 3456, false)

	h.label = "SIP call through SNAT"
	snat := h.udp("10.8.0.20", 5060, "203.0.113.51", 5060, "203.0.113.51")
	h.sipCall(snat, "UDP", "10.8.0.20", "203.0.113.51", 49172, 3458, true)

	h.label = "SIP call over TCP through SNAT"
	tcp := h.tcp("10.8.0.21", 40020, "203.0.113.52", 5060, "203.0.113.52")
	tcp.Handshake()
	h.sipCall(tcp, "TCP", "10.8.0.21", "203.0.113.52", 49174, 3460, false)

	h.label = "SIP call IPv6"
	udp6 := h.udp("2001:db8:1::20", 5060, "2001:db8:5::50", 5060, "2001:db8:5::50")
	h.sipCall(udp6, "UDP", "2001:db8:1::20", "2001:db8:5::50", 49176, 3462, false)

	h.label = "SIP call IPv6 through MASQUERADE"
	masq6 := h.udp("2001:db8:7::20", 5060, "2001:db8:5::51", 5060, "2001:db8:5::51")
	h.sipCall(masq6, "UDP", "2001:db8:7::20", "2001:db8:5::51", 49178, 3464, false)

	h.label = "SIP REGISTER through SNAT"
	reg := h.udp("10.8.0.22", 5060, "203.0.113.53", 5060, "203.0.113.53")
	regMsg := func(cseq int, contactExpires string) string {
		return sipMsg("REGISTER sip:203.0.113.53 SIP/2.0", []string{
			"Via: SIP/2.0/UDP 10.8.0.22:5060;branch=z9hG4bKnashds7",
			"To: Bob <sip:bob@203.0.113.53>", "From: Bob <sip:bob@203.0.113.53>;tag=456248",
			"Call-ID: 843817637684230@10.8.0.22", fmt.Sprintf("CSeq: %d REGISTER", cseq),
			"Contact: <sip:bob@10.8.0.22:5060>" + contactExpires, "Expires: 7200"}, "")
	}
	got := reg.Send(true, "", regMsg(1826, "")).Payload()
	contact := "<sip:bob@10.8.0.22:5060>"
	for _, l := range strings.Split(got, "\r\n") {
		if strings.HasPrefix(l, "Contact: ") {
			contact = l[len("Contact: "):]
		}
	}
	reg.Send(false, "", sipMsg("SIP/2.0 200 OK", []string{
		"Via: SIP/2.0/UDP 10.8.0.22:5060;branch=z9hG4bKnashds7;received=198.51.100.7",
		"To: Bob <sip:bob@203.0.113.53>;tag=2493k59kd", "From: Bob <sip:bob@203.0.113.53>;tag=456248",
		"Call-ID: 843817637684230@10.8.0.22", "CSeq: 1826 REGISTER",
		"Contact: " + contact + ";expires=3600", "Expires: 3600"}, ""))
	// The registrar calls the phone at its registered contact, from
	// another port: the signalling expectation lets it in.
	h.label = "SIP call to the registered phone"
	in := &testpkt.Flow{Proto: "udp", Via: h.via,
		Init: testpkt.End{Addr: netip.MustParseAddr("203.0.113.53"), Port: 5070, PeerAddr: netip.MustParseAddr("198.51.100.7"), PeerPort: 5060},
		Resp: testpkt.End{Addr: netip.MustParseAddr("10.8.0.22"), Port: 5060}}
	in.Send(true, "", sipMsg("OPTIONS sip:bob@198.51.100.7:5060 SIP/2.0", []string{
		"Via: SIP/2.0/UDP 203.0.113.53:5070;branch=z9hG4bKhjhs8ass877", "To: <sip:bob@198.51.100.7:5060>",
		"From: <sip:registrar@203.0.113.53:5070>;tag=1928301774", "Call-ID: a84b4c76e66710", "CSeq: 63104 OPTIONS"}, ""))

	h.label = "SIP malformed"
	bad := h.udp("10.1.0.21", 5060, "203.0.113.50", 5060, "203.0.113.50")
	bad.Send(true, "", sipMsg("INVITE sip:bob@203.0.113.50:5060 SIP/2.0", []string{"Via: SIP/2.0/UDP 10.1.0.21:5060", "CSeq: 1 INVITE"}, sdp("IP4", "10.1.0.21", 80, false)))
	bad.Send(true, "", sipMsg("INVITE sip:bob@203.0.113.50:5060 SIP/2.0", []string{"Via: SIP/2.0/UDP 10.1.0.21:5060"}, ""))

	// A call left ringing: its media expectations stay for the listing.
	h.label = "SIP waiting"
	wait := h.udp("10.8.0.23", 5060, "203.0.113.54", 5060, "203.0.113.54")
	wait.Send(true, "", sipMsg("INVITE sip:bob@203.0.113.54:5060 SIP/2.0", []string{
		"Via: SIP/2.0/UDP 10.8.0.23:5060;branch=z9hG4bK1", "From: <sip:alice@10.8.0.23:5060>;tag=1", "To: <sip:bob@203.0.113.54:5060>",
		"Call-ID: 1@10.8.0.23", "CSeq: 1 INVITE", "Contact: <sip:alice@10.8.0.23:5060>", "Content-Type: application/sdp"}, sdp("IP4", "10.8.0.23", 49180, false)))
}
