package main

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
)

// The PPTP control messages the scenarios send (RFC 2637 section 2).
const (
	pptpStartRequest = 1
	pptpStartReply   = 2
	pptpEchoRequest  = 5
	pptpEchoReply    = 6
	pptpOutRequest   = 7
	pptpOutReply     = 8
	pptpInRequest    = 9
	pptpInReply      = 10
	pptpInConnected  = 11
	pptpClearRequest = 12
	pptpDisconnect   = 13
	pptpWANError     = 14
	pptpSetLinkInfo  = 15
	pptpOK           = 1 << 8 // a result code of 1, in the high byte of its word
	pptpRefused      = 7 << 8
)

// pptpMsg sends one control message and returns it as the peer got it.
func pptpMsg(f *testpkt.Flow, fromClient bool, typ uint16, words ...uint16) []byte {
	return []byte(f.Send(fromClient, "PA", string(testpkt.PPTPControl(typ, words...))).Payload())
}

// pptpSession opens a control connection and its session.
func (h *helperRun) pptpSession(client string, port uint16, server string) *testpkt.Flow {
	f := h.tcp(client, port, server, 1723, server)
	f.Handshake()
	pptpMsg(f, true, pptpStartRequest, 0x0100)
	pptpMsg(f, false, pptpStartReply, 0x0100, pptpOK)
	return f
}

// gre sends a PPTP data packet and returns it as it left, nil if it did
// not.
func (h *helperRun) gre(src, dst netip.Addr, call uint16, seq uint32) []byte {
	return h.via(testpkt.Build(testpkt.Spec{Proto: "pptp", Src: src, Dst: dst, DstPort: call, Seq: seq, Payload: []byte("\xff\x03\x00\x21ppp frame")}))
}

// greCall returns a packet's addresses and call ID.
func greCall(b []byte) (src, dst netip.Addr, call uint16) {
	if len(b) < 28 {
		return netip.Addr{}, netip.Addr{}, 0
	}
	return netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20])), uint16(b[26])<<8 | uint16(b[27])
}

// pptpScenarios drive PPTP calls through the router: outgoing calls
// without NAT, through SNAT (two clients with the same call ID to one
// server), through MASQUERADE and to a server behind a port forward, an incoming call, the messages the
// helper must ignore, a call ended by Call-Disconnect-Notify whose GRE
// then stops, and a call left waiting for its GRE so that the final
// listings compare the expectations.
func pptpScenarios(h *helperRun) {
	a := netip.MustParseAddr

	h.label = "PPTP outgoing call"
	ctl := h.pptpSession("10.1.0.5", 40001, "203.0.113.30")
	pptpMsg(ctl, true, pptpOutRequest, 0x1111, 1)
	pptpMsg(ctl, false, pptpOutReply, 0x2222, 0x1111, pptpOK)
	pptpMsg(ctl, true, pptpSetLinkInfo, 0x2222)
	h.label = "PPTP outgoing call's GRE"
	for i := range uint32(3) {
		h.gre(a("10.1.0.5"), a("203.0.113.30"), 0x2222, i)
		h.gre(a("203.0.113.30"), a("10.1.0.5"), 0x1111, i)
	}
	h.label = "PPTP echo"
	pptpMsg(ctl, false, pptpEchoRequest, 0x0001)
	pptpMsg(ctl, true, pptpEchoReply, 0x0001, 0x0000, pptpOK)
	h.label = "PPTP call cleared"
	pptpMsg(ctl, true, pptpClearRequest, 0x1111)
	pptpMsg(ctl, false, pptpDisconnect, 0x2222, pptpOK)
	h.label = "PPTP GRE after the call ended"
	h.gre(a("203.0.113.30"), a("10.1.0.5"), 0x1111, 3)
	h.gre(a("10.1.0.5"), a("203.0.113.30"), 0x2222, 3)

	h.label = "PPTP server's GRE first"
	ctl2 := h.pptpSession("10.1.0.6", 40002, "203.0.113.30")
	pptpMsg(ctl2, true, pptpOutRequest, 0x1111, 2)
	pptpMsg(ctl2, false, pptpOutReply, 0x2223, 0x1111, pptpOK)
	h.gre(a("203.0.113.30"), a("10.1.0.6"), 0x1111, 0)
	h.gre(a("10.1.0.6"), a("203.0.113.30"), 0x2223, 0)

	h.label = "PPTP incoming call"
	ctl3 := h.pptpSession("10.1.0.7", 40003, "203.0.113.30")
	pptpMsg(ctl3, false, pptpInRequest, 0x3333, 1)
	pptpMsg(ctl3, true, pptpInReply, 0x4444, 0x3333, pptpOK)
	pptpMsg(ctl3, false, pptpInConnected, 0x4444)
	h.gre(a("203.0.113.30"), a("10.1.0.7"), 0x4444, 0)
	h.gre(a("10.1.0.7"), a("203.0.113.30"), 0x3333, 0)

	h.label = "PPTP messages the helper ignores"
	ctl4 := h.pptpSession("10.1.0.8", 40004, "203.0.113.30")
	pptpMsg(ctl4, true, pptpOutRequest, 0x5555, 1)
	pptpMsg(ctl4, false, pptpOutReply, 0x6666, 0x5556, pptpOK)                                     // another call's
	pptpMsg(ctl4, false, pptpOutReply, 0x6666, 0x5555, pptpRefused)                                // refused
	ctl4.Send(false, "PA", string(testpkt.PPTPControl(pptpOutReply, 0x6667, 0x5555, pptpOK)[:31])) // cut short
	h.gre(a("203.0.113.30"), a("10.1.0.8"), 0x5555, 0)
	h.label = "PPTP call left waiting"
	pptpMsg(ctl4, true, pptpOutRequest, 0x5557, 2)
	pptpMsg(ctl4, false, pptpOutReply, 0x6668, 0x5557, pptpOK)

	// Two clients behind one SNAT address give one server the same
	// call ID: each becomes its control connection's port.
	h.label = "PPTP through SNAT"
	for i, client := range []string{"10.8.0.5", "10.8.0.6"} {
		port := 40005 + uint16(i)
		c := h.pptpSession(client, port, "203.0.113.31")
		req := pptpMsg(c, true, pptpOutRequest, 0x1111, 1)
		h.want(testpkt.PPTPCallID(req, 0) == port, "give the client's call its control connection's port as call ID")
		pac := 0x7000 + uint16(i)
		rep := pptpMsg(c, false, pptpOutReply, pac, port, pptpOK)
		h.want(testpkt.PPTPCallID(rep, 2) == 0x1111, "give the client its own call ID back")
		if i == 0 {
			out := h.gre(a(client), a("203.0.113.31"), pac, 0)
			src, _, _ := greCall(out)
			h.want(src == a("198.51.100.7"), "source-NAT the client's GRE")
			back := h.gre(a("203.0.113.31"), a("198.51.100.7"), port, 0)
			_, dst, call := greCall(back)
			h.want(dst == a(client) && call == 0x1111, "deliver the server's GRE with the client's call ID")
		} else {
			back := h.gre(a("203.0.113.31"), a("198.51.100.7"), port, 0)
			_, dst, call := greCall(back)
			h.want(dst == a(client) && call == 0x1111, "deliver the server's first GRE with the client's call ID")
			h.gre(a(client), a("203.0.113.31"), pac, 0)
		}
		pptpMsg(c, true, pptpSetLinkInfo, pac)
		pptpMsg(c, false, pptpSetLinkInfo, port)
		pptpMsg(c, false, pptpWANError, port)
	}
	h.label = "PPTP cleared through SNAT"
	c := h.pptpSession("10.8.0.7", 40007, "203.0.113.31")
	pptpMsg(c, true, pptpOutRequest, 0x1112, 1)
	pptpMsg(c, false, pptpOutReply, 0x7002, 40007, pptpOK)
	h.gre(a("10.8.0.7"), a("203.0.113.31"), 0x7002, 0)
	pptpMsg(c, true, pptpClearRequest, 0x1112)
	pptpMsg(c, false, pptpDisconnect, 0x7002, pptpOK)
	h.gre(a("203.0.113.31"), a("198.51.100.7"), 40007, 1)

	h.label = "PPTP through MASQUERADE"
	m := h.pptpSession("10.9.0.5", 40008, "203.0.113.32")
	pptpMsg(m, true, pptpOutRequest, 0x1111, 1)
	pptpMsg(m, false, pptpOutReply, 0x8000, 40008, pptpOK)
	h.gre(a("10.9.0.5"), a("203.0.113.32"), 0x8000, 0)
	h.gre(a("203.0.113.32"), a(kernel.OutsideAddr4), 40008, 0)
	h.label = "PPTP incoming call through MASQUERADE"
	m2 := h.pptpSession("10.9.0.6", 40009, "203.0.113.32")
	pptpMsg(m2, false, pptpInRequest, 0x8001, 1)
	pptpMsg(m2, true, pptpInReply, 0x1234, 0x8001, pptpOK)
	pptpMsg(m2, false, pptpInConnected, 0x1234)
	h.gre(a("10.9.0.6"), a("203.0.113.32"), 0x8001, 0)
	h.gre(a("203.0.113.32"), a(kernel.OutsideAddr4), 0x1234, 0)
	// A server behind a port forward: the client dials the router.
	h.label = "PPTP through DNAT"
	fw := h.tcp("10.1.0.9", 40011, kernel.RouterAddr4, 1723, "203.0.113.33")
	fw.Handshake()
	pptpMsg(fw, true, pptpStartRequest, 0x0100)
	pptpMsg(fw, false, pptpStartReply, 0x0100, pptpOK)
	req := pptpMsg(fw, true, pptpOutRequest, 0x1111, 1)
	h.want(testpkt.PPTPCallID(req, 0) == 40011, "give the call its control connection's port as call ID")
	pptpMsg(fw, false, pptpOutReply, 0x9000, 40011, pptpOK)
	out := h.gre(a("10.1.0.9"), a(kernel.RouterAddr4), 0x9000, 0)
	_, dst, _ := greCall(out)
	h.want(dst == a("203.0.113.33"), "forward the client's GRE to the server")
	back := h.gre(a("203.0.113.33"), a("10.1.0.9"), 40011, 0)
	src, _, call := greCall(back)
	h.want(src == a(kernel.RouterAddr4) && call == 0x1111, "deliver the server's GRE from the router, with the client's call ID")
	h.label = "PPTP call left waiting through SNAT"
	w := h.pptpSession("10.8.0.8", 40010, "203.0.113.31")
	pptpMsg(w, true, pptpOutRequest, 0x1113, 1)
	pptpMsg(w, false, pptpOutReply, 0x7003, 40010, pptpOK)
}

// TestPPTPMatchesKernel runs PPTP calls through a kernel router with a
// CT --helper pptp rule and through nfgo replay with the same rules, as
// TestHelpersMatchKernel does: every packet's verdict and ctstate,
// every packet that leaves, byte for byte (rewritten call IDs, NATed
// GRE), and the final tables of connections and expectations.
func TestPPTPMatchesKernel(t *testing.T) {
	kernel.Require(t, "ip", "nft", "iptables-restore", "ip6tables-restore", "conntrack")
	rules, rules6 := "testdata/helpers/pptp.rules", "testdata/helpers/pptp.rules6"
	r := kernel.NewRouter(t, kernel.RouterOptions{Conntrack: true, Outside: true})
	restoreFiles(t, r, rules, rules6)
	h := newHelperRun(t, r)
	pptpScenarios(h)
	klines, nlines := h.compare(rules, rules6)

	// The calls' GRE connections have the plain GRE timeouts in both:
	// the kernel's PPTP sets 10 minutes and 5 hours, which its GRE
	// tracker replaces by the defaults on the connection's first packet.
	timeouts := func(lines []string) map[string]int {
		m := map[string]int{}
		for _, l := range lines {
			if f := strings.Fields(l); len(f) > 2 && f[0] == "gre" {
				n, _ := strconv.Atoi(f[2])
				f[2] = "T"
				m[strings.Join(f, " ")] = n
			}
		}
		return m
	}
	kt, nt := timeouts(klines), timeouts(nlines)
	if len(kt) == 0 {
		t.Fatal("no GRE connections in the kernel's table")
	}
	for l, k := range kt {
		if n, ok := nt[l]; !ok || k > 180 || n > 180 || k-n > 5 || n-k > 5 {
			t.Errorf("GRE timeout: kernel %d s, nfgo %d s (%v): %s", k, n, ok, l)
		}
	}
}
