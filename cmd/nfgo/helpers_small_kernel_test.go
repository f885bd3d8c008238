package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/internal/testpkt"
)

// hostUDP sends a datagram from the router's socket bound to src, and
// keeps the packet it emitted by eth0 to replay.
func (h *helperRun) hostUDP(src, dst netip.AddrPort, payload []byte) {
	f, err := h.r.SendUDPFromHost(src, dst, payload)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(f.Replies) != 1 || len(f.Emitted) != 0 {
		h.t.Fatalf("%s: the router's datagram to %v: %d packets left by eth0 and %d by eth1, want 1 by eth0", h.label, dst, len(f.Replies), len(f.Emitted))
	}
	h.fromHost[len(h.sent)] = true
	h.sent = append(h.sent, f.Replies[0])
	h.fates = append(h.fates, f)
	h.names = append(h.names, h.label)
}

// want checks that the kernel did what a scenario was written to
// exercise (a rewrite, say): otherwise the comparison would only show
// that nfgo does nothing either.
func (h *helperRun) want(ok bool, what string) {
	h.t.Helper()
	if !ok {
		h.t.Errorf("%s: the kernel did not %s", h.label, what)
	}
}

// names counts the IpAddress bindings of an SNMP message that name a.
func names(msg string, a string) int { return len(ipOffsets([]byte(msg), a)) }

// udpFrom sends one datagram that is no flow's, for hosts answering a
// broadcast.
func (h *helperRun) udpFrom(src string, sport uint16, dst string, dport uint16, payload []byte) {
	h.via(testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Proto: "udp", SrcPort: sport, DstPort: dport, Payload: payload}))
}

// BER encoding, for SNMP messages.

// ber encodes one tag-length-value, definite length.
func ber(tag byte, content ...[]byte) []byte {
	c := bytes.Join(content, nil)
	out := []byte{tag}
	switch n := len(c); {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, c...)
}

// berInt encodes an INTEGER (or, with another tag, Counter32, TimeTicks,
// …) in the fewest bytes.
func berInt(tag byte, v int64) []byte {
	// Two's complement, big-endian, until the rest is the sign of what
	// is written: a positive value whose top bit is set gets a 0 first.
	var b []byte
	for {
		b = append([]byte{byte(v)}, b...)
		if v >= -128 && v < 128 {
			return ber(tag, b)
		}
		v >>= 8
	}
}

// berOID encodes an OBJECT IDENTIFIER given in dotted form.
func berOID(s string) []byte {
	var arcs []uint64
	for _, f := range strings.Split(s, ".") {
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			panic(err)
		}
		arcs = append(arcs, n)
	}
	b := []byte{byte(arcs[0]*40 + arcs[1])}
	for _, a := range arcs[2:] {
		var enc []byte
		for first := true; first || a > 0; first = false {
			c := byte(a & 0x7f)
			if !first {
				c |= 0x80
			}
			enc = append([]byte{c}, enc...)
			a >>= 7
		}
		b = append(b, enc...)
	}
	return ber(0x06, b)
}

// berIP encodes an IpAddress ([APPLICATION 0], four bytes).
func berIP(a string) []byte {
	v := netip.MustParseAddr(a).As4()
	return ber(0x40, v[:])
}

func varBind(oid string, value []byte) []byte { return ber(0x30, berOID(oid), value) }

// snmpMsg is a message of SNMP version (0: v1, 1: v2c) with community
// "public" and a PDU of tag pdu binding binds.
func snmpMsg(version int64, pdu byte, reqID int64, binds ...[]byte) []byte {
	return ber(0x30, berInt(0x02, version), ber(0x04, []byte("public")),
		ber(pdu, berInt(0x02, reqID), berInt(0x02, 0), berInt(0x02, 0), ber(0x30, binds...)))
}

// The PDU tags.
const (
	pduGet      = 0xa0
	pduResponse = 0xa2
	pduSet      = 0xa3
	pduTrapV1   = 0xa4
	pduInform   = 0xa6
	pduTrapV2   = 0xa7
)

// ipOffsets returns the payload offsets of the values of the IpAddress
// bindings naming a.
func ipOffsets(msg []byte, a string) []int {
	pat := berIP(a)
	var offs []int
	for i := 0; ; {
		j := bytes.Index(msg[i:], pat)
		if j < 0 {
			return offs
		}
		offs = append(offs, i+j+2)
		i += j + 1
	}
}

// snmpResponse is an agent's answer binding, among other values, two
// IpAddresses naming addr, one at an odd and one at an even offset of the
// payload, so that both cases of the kernel's checksum update are taken.
func snmpResponse(reqID int64, addr string) []byte {
	for pad := 0; pad < 2; pad++ {
		msg := snmpMsg(1, pduResponse, reqID,
			varBind("1.3.6.1.2.1.1.3.0", berInt(0x43, 123456)),                                // sysUpTime, TimeTicks
			varBind("1.3.6.1.2.1.4.20.1.1."+addr, berIP(addr)),                                // ipAdEntAddr: the manager's own address
			varBind("1.3.6.1.2.1.1.5.0", ber(0x04, []byte("agent"+strings.Repeat("x", pad)))), // sysName
			varBind("1.3.6.1.2.1.4.21.1.7.0.0.0.0", berIP(addr)),                              // ipRouteNextHop
			varBind("1.3.6.1.2.1.4.20.1.1.10.8.0.99", berIP("10.8.0.99")),                     // another host: left alone
			varBind("1.3.6.1.2.1.2.2.1.10.1", berInt(0x41, 4000000000)),                       // ifInOctets, Counter32
			varBind("1.3.6.1.2.1.31.1.1.1.6.1", berInt(0x46, 1<<40)),                          // ifHCInOctets, Counter64
			varBind("1.3.6.1.2.1.1.2.0", berOID("1.3.6.1.4.1.8072.3.2.10")),                   // sysObjectID
			varBind("1.3.6.1.2.1.1.9.1.4.1", ber(0x82)),                                       // endOfMibView
		)
		if o := ipOffsets(msg, addr); len(o) == 2 && o[0]%2 != o[1]%2 {
			return msg
		}
	}
	panic("snmpResponse: no padding puts the addresses at offsets of both parities")
}

// nbQuery is a NetBIOS name query for name (RFC 1002 4.2.12), broadcast.
func nbQuery(id uint16, name string) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0) // broadcast, RD; one question
	b = append(b, 32)
	n := []byte(fmt.Sprintf("%-15s\x00", name))
	for _, c := range n {
		b = append(b, 'A'+c>>4, 'A'+c&0x0f)
	}
	return append(b, 0, 0, 0x20, 0, 1) // NB, IN
}

// nbAnswer is a positive name query response naming addr.
func nbAnswer(id uint16, addr string) []byte {
	q := nbQuery(id, "FILESERVER")
	b := append([]byte(nil), q[:2]...)
	b = append(b, 0x85, 0x00, 0, 0, 0, 1, 0, 0, 0, 0) // response, AA; one answer
	b = append(b, q[12:12+34]...)
	b = append(b, 0, 0x20, 0, 1, 0, 0, 0x0e, 0x10, 0, 6, 0, 0)
	a := netip.MustParseAddr(addr).As4()
	return append(b, a[:]...)
}

// sane messages: a request is an RPC code and a word; a reply to
// SANE_NET_START its status, 0, the port, the byte order and the
// resource.
func saneRequest(code, arg uint32) string {
	return string(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, code), arg))
}

func saneStartReply(status uint32, zero, port uint16) string {
	b := binary.BigEndian.AppendUint32(nil, status)
	b = binary.BigEndian.AppendUint16(b, zero)
	b = binary.BigEndian.AppendUint16(b, port)
	b = binary.BigEndian.AppendUint32(b, 0x1234) // byte order
	return string(binary.BigEndian.AppendUint32(b, 0))
}

// saneSession opens a SANE control connection and gets as far as an
// open device, whose handle is 0.
func saneSession(f *testpkt.Flow) {
	f.Handshake()
	line(f, true, saneRequest(0, 0x01000003)+"\x00\x00\x00\x05user\x00") // SANE_NET_INIT: 13 bytes, not looked at
	line(f, false, saneRequest(0, 0x01000003))                           // its reply: 8 bytes in the server's direction, no START asked
	line(f, true, saneRequest(2, 5)+"test\x00")                          // SANE_NET_OPEN "test"
	line(f, false, saneRequest(0, 0)+saneRequest(0, 0))                  // status 0, handle 0, resource ""
}

// amandaRequest is the Amanda server's request to a client's amandad.
func amandaRequest(seq int) string {
	return fmt.Sprintf("Amanda 2.6 REQ HANDLE 000-00000000 SEQ %d\nSERVICE sendbackup\nOPTIONS features=ffff;hostname=srv;\nGNUTAR /home 0 1970:1:1:0:0:0 -1\n", seq)
}

// amandaReply is the client's reply, with the ports line.
func amandaReply(seq int, ports string) string {
	return fmt.Sprintf("Amanda 2.6 REP HANDLE 000-00000000 SEQ %d\n%sOPTIONS features=ffff;\n", seq, ports)
}

// smallScenarios drive the Amanda, SANE, SNMP, NetBIOS-NS and SNMP
// broadcast helpers through the router: without NAT, through SNAT where
// the kernel has a NAT helper, IPv6 for Amanda and SANE, with the
// parsers' edge cases, and with expectations left waiting for the final
// listings. The broadcasts come last: netbios-ns expects its answers for
// 3 s only, and the final listings must find them. The packets of each
// UDP flow are sent close together: the kernel marks a UDP flow that is
// still active 2 s after it began ASSURED, by its clock, where nfgo's
// is the capture's, a millisecond a packet.
func smallScenarios(h *helperRun) {
	a := netip.MustParseAddr

	h.label = "Amanda"
	am := h.udp("10.1.0.40", 850, "203.0.113.70", 10080, "203.0.113.70")
	// The request's direction is not read, CONNECT or not.
	am.Send(true, "", amandaRequest(1)+"CONNECT DATA 41000\n")
	am.Send(false, "", amandaReply(1, "CONNECT DATA 50040 MESG 50041 INDEX 50042 STATE 50043\n"))
	h.label = "Amanda data"
	transfer(h.from("10.1.0.40", 41040, a("203.0.113.70"), 50040, "203.0.113.70", 50040))
	transfer(h.from("10.1.0.40", 41041, a("203.0.113.70"), 50041, "203.0.113.70", 50041))
	h.label = "Amanda expectation used twice"
	h.from("10.1.0.40", 41042, a("203.0.113.70"), 50040, "203.0.113.70", 50040).Send(true, "S", "")
	h.label = "Amanda from another host"
	h.from("10.1.0.49", 41043, a("203.0.113.70"), 50042, "203.0.113.70", 50042).Send(true, "S", "")

	h.label = "Amanda parsing"
	am2 := h.udp("10.1.0.41", 851, "203.0.113.71", 10080, "203.0.113.71")
	am2.Send(true, "", amandaRequest(1))
	am2.Send(false, "", "Amanda 2.6 ACK HANDLE 000-00000000 SEQ 1\n")              // no CONNECT
	am2.Send(false, "", amandaReply(2, "CONNECT DATA 50050 MESG 0 INDEX 50052\n")) // port 0 ends the search
	am2.Send(false, "", "CONNECT DATA 50053")                                      // no newline
	am2.Send(false, "", amandaReply(3, "CONNECT DATA 123456\n"))                   // five digits at most: 12345
	am2.Send(false, "", amandaReply(4, "CONNECT INDEX 50054 DATA 50055 MESG x\n"))
	am2.Send(false, "", amandaReply(5, "connect DATA 50056\n")) // case matters
	h.label = "Amanda parsed data"
	h.from("10.1.0.41", 41050, a("203.0.113.71"), 12345, "203.0.113.71", 12345).Send(true, "S", "")
	// MESG x ended the search before INDEX: 50050 and 50055 wait; three
	// more make five, and max_expected is 4: the oldest, 50050, goes.
	h.label = "Amanda fifth expectation"
	am2.Send(false, "", amandaReply(6, "CONNECT STATE 50057 MESG 50059 DATA 50058\n"))
	h.from("10.1.0.41", 41051, a("203.0.113.71"), 50050, "203.0.113.71", 50050).Send(true, "S", "")
	h.label = "Amanda parsed data"
	h.from("10.1.0.41", 41052, a("203.0.113.71"), 50052, "203.0.113.71", 50052).Send(true, "S", "")
	h.from("10.1.0.41", 41053, a("203.0.113.71"), 50054, "203.0.113.71", 50054).Send(true, "S", "")
	transfer(h.from("10.1.0.41", 41055, a("203.0.113.71"), 50055, "203.0.113.71", 50055))

	h.label = "Amanda through SNAT"
	am3 := h.udp("10.8.0.40", 852, "203.0.113.72", 10080, "203.0.113.72")
	am3.Send(true, "", amandaRequest(1))
	// Leading zeros: the port is written again without them, and the
	// datagram shrinks.
	got := am3.Send(false, "", amandaReply(1, "CONNECT DATA 04060 MESG 50061 INDEX 00062 STATE 50063\n")).Payload()
	h.want(strings.Contains(got, "\nCONNECT DATA 4060 MESG 50061 INDEX 62 STATE 50063\n"), "write the ports again")
	h.label = "Amanda data through SNAT"
	transfer(h.from("10.8.0.40", 41060, am3.Init.PeerAddr, 4060, "203.0.113.72", 4060))
	transfer(h.from("10.8.0.40", 41061, am3.Init.PeerAddr, 50061, "203.0.113.72", 50061))
	transfer(h.from("10.8.0.40", 41062, am3.Init.PeerAddr, 62, "203.0.113.72", 62))

	h.label = "Amanda IPv6"
	am6 := h.udp("2001:db8:1::40", 853, "2001:db8:5::70", 10080, "2001:db8:5::70")
	am6.Send(true, "", amandaRequest(1))
	am6.Send(false, "", amandaReply(1, "CONNECT DATA 50070 MESG 50071 INDEX 50072\n"))
	h.label = "Amanda data IPv6"
	transfer(h.from("2001:db8:1::40", 41070, a("2001:db8:5::70"), 50070, "2001:db8:5::70", 50070))

	h.label = "SANE"
	sn := h.tcp("10.1.0.50", 40050, "203.0.113.80", 6566, "203.0.113.80")
	saneSession(sn)
	line(sn, true, saneRequest(7, 0)) // SANE_NET_START
	line(sn, false, saneStartReply(0, 0, 50080))
	h.label = "SANE data"
	transfer(h.from("10.1.0.50", 41080, a("203.0.113.80"), 50080, "203.0.113.80", 50080))
	h.label = "SANE refused"
	line(sn, true, saneRequest(7, 0))
	line(sn, false, saneStartReply(4, 0, 50081)) // SANE_STATUS_INVAL
	h.from("10.1.0.50", 41081, a("203.0.113.80"), 50081, "203.0.113.80", 50081).Send(true, "S", "")
	h.label = "SANE bad reply"
	line(sn, true, saneRequest(7, 0))
	line(sn, false, saneStartReply(0, 1, 50082)) // zero is not 0
	line(sn, true, saneRequest(7, 0))
	line(sn, false, saneStartReply(0, 0, 50083)[:6]) // too short: the wait ends
	line(sn, false, saneStartReply(0, 0, 50084))     // not after a START any more
	h.label = "SANE request not alone"
	line(sn, true, saneRequest(7, 0)+saneRequest(8, 0)) // 16 bytes: not a request
	line(sn, false, saneStartReply(0, 0, 50085))
	line(sn, true, saneRequest(7, 0))
	line(sn, true, saneRequest(8, 0)) // SANE_NET_CANCEL: the START is forgotten
	line(sn, false, saneStartReply(0, 0, 50086))
	h.from("10.1.0.50", 41086, a("203.0.113.80"), 50086, "203.0.113.80", 50086).Send(true, "S", "")

	h.label = "SANE through SNAT"
	sn2 := h.tcp("10.8.0.50", 40051, "203.0.113.81", 6566, "203.0.113.81")
	saneSession(sn2)
	line(sn2, true, saneRequest(7, 0))
	line(sn2, false, saneStartReply(0, 0, 50090))
	h.label = "SANE data through SNAT"
	transfer(h.from("10.8.0.50", 41090, a("203.0.113.81"), 50090, "203.0.113.81", 50090))

	h.label = "SANE IPv6"
	sn6 := h.tcp("2001:db8:1::50", 40052, "2001:db8:5::80", 6566, "2001:db8:5::80")
	saneSession(sn6)
	line(sn6, true, saneRequest(7, 0))
	line(sn6, false, saneStartReply(0, 0, 50095))
	h.label = "SANE data IPv6"
	transfer(h.from("2001:db8:1::50", 41095, a("2001:db8:5::80"), 50095, "2001:db8:5::80", 50095))

	h.label = "SNMP"
	sm := h.udp("10.1.0.60", 40060, "203.0.113.90", 161, "203.0.113.90")
	sm.Send(true, "", string(snmpMsg(1, pduGet, 1, varBind("1.3.6.1.2.1.4.20.1.1.10.1.0.60", ber(0x05)))))
	got = sm.Send(false, "", string(snmpResponse(1, "10.1.0.60"))).Payload()
	h.want(names(got, "10.1.0.60") == 2, "leave the addresses alone without NAT")

	h.label = "SNMP through SNAT"
	sm2 := h.udp("10.8.0.60", 40061, "203.0.113.90", 161, "203.0.113.90")
	sm2.Send(true, "", string(snmpMsg(1, pduGet, 2, varBind("1.3.6.1.2.1.4.20.1.1.10.8.0.60", ber(0x05)), varBind("1.3.6.1.2.1.1.5.0", ber(0x05)))))
	got = sm2.Send(false, "", string(snmpResponse(2, "10.8.0.60"))).Payload()
	h.want(names(got, "198.51.100.7") == 2 && names(got, "10.8.0.60") == 0 && names(got, "10.8.0.99") == 1, "rewrite the manager's private address, at odd and even offsets, and only it")
	got = sm2.Send(true, "", string(snmpMsg(0, pduSet, 3, varBind("1.3.6.1.4.1.9999.1.0", berIP("10.8.0.60")), varBind("1.3.6.1.4.1.9999.2.0", berIP("10.8.0.61"))))).Payload()
	h.want(names(got, "198.51.100.7") == 1 && names(got, "10.8.0.61") == 1, "rewrite an SNMPv1 request")
	got = sm2.Send(false, "", string(snmpMsg(0, pduResponse, 3, varBind("1.3.6.1.4.1.9999.1.0", berIP("10.8.0.60"))))).Payload()
	h.want(names(got, "198.51.100.7") == 1, "rewrite the reply's private address too")
	h.label = "SNMP through SNAT, no checksum"
	nock := testpkt.Build(testpkt.Spec{Src: a("10.8.0.60"), Dst: a("203.0.113.90"), Proto: "udp", SrcPort: 40061, DstPort: 161,
		Payload: snmpMsg(1, pduSet, 4, varBind("1.3.6.1.4.1.9999.1.0", berIP("10.8.0.60")))})
	nock[26], nock[27] = 0, 0
	out := h.via(nock)
	h.want(out != nil && out[26] == 0 && out[27] == 0 && names(string(out[28:]), "198.51.100.7") == 1, "rewrite the address and leave the checksum 0")
	h.label = "SNMP through SNAT, bytes after the datagram"
	trail := append(testpkt.Build(testpkt.Spec{Src: a("10.8.0.60"), Dst: a("203.0.113.90"), Proto: "udp", SrcPort: 40061, DstPort: 161,
		Payload: snmpMsg(1, pduGet, 5, varBind("1.3.6.1.2.1.1.5.0", ber(0x05)))}), "junk"...)
	binary.BigEndian.PutUint16(trail[2:], uint16(len(trail)))
	testpkt.FixIPv4Checksum(trail)
	trail[26], trail[27] = 0, 0 // no checksum: conntrack checks none
	h.want(h.via(trail) == nil, "drop a datagram shorter than its packet")
	h.label = "SNMP through SNAT, refused"
	for _, m := range []struct{ what, msg string }{
		{"SNMPv3", string(ber(0x30, berInt(0x02, 3), ber(0x30, berInt(0x02, 1))))},
		{"a PDU binding nothing", string(snmpMsg(1, pduGet, 5))},
		{"an IpAddress of 3 bytes", string(snmpMsg(1, pduGet, 6, varBind("1.3.6.1.2.1.1.5.0", ber(0x40, []byte{10, 8, 0}))))},
		{"a message cut short", string(snmpMsg(1, pduSet, 7, varBind("1.3.6.1.4.1.9999.1.0", berIP("10.8.0.60")))[:30])},
	} {
		h.want(sm2.Send(true, "", m.msg).Out == nil, "refuse "+m.what)
	}
	h.label = "SNMP through SNAT, from port 161"
	sm3 := h.udp("10.8.0.62", 161, "203.0.113.90", 161, "203.0.113.90")
	got = sm3.Send(true, "", string(snmpMsg(1, pduResponse, 8, varBind("1.3.6.1.2.1.4.20.1.1.10.8.0.62", berIP("10.8.0.62"))))).Payload()
	h.want(names(got, "10.8.0.62") == 1, "leave a message from port 161 in the original direction alone")
	got = sm3.Send(false, "", string(snmpMsg(1, pduResponse, 8, varBind("1.3.6.1.2.1.4.20.1.1.10.8.0.62", berIP("10.8.0.62"))))).Payload()
	h.want(names(got, "198.51.100.7") == 1, "rewrite the answer to it")

	h.label = "SNMP trap through SNAT"
	tr := h.udp("10.8.0.63", 40063, "203.0.113.91", 162, "203.0.113.91")
	got = tr.Send(true, "", string(snmpMsg(1, pduTrapV2, 9,
		varBind("1.3.6.1.2.1.1.3.0", berInt(0x43, 4242)),
		varBind("1.3.6.1.6.3.1.1.4.1.0", berOID("1.3.6.1.6.3.1.1.5.3")), // linkDown
		varBind("1.3.6.1.6.3.18.1.3.0", berIP("10.8.0.63")),             // snmpTrapAddress
		varBind("1.3.6.1.2.1.2.2.1.1.2", berInt(0x02, 2))))).Payload()
	h.want(names(got, "198.51.100.7") == 1 && names(got, "10.8.0.63") == 0, "rewrite the trap's address")
	h.label = "SNMP inform through SNAT"
	got = tr.Send(true, "", string(snmpMsg(1, pduInform, 10, varBind("1.3.6.1.6.3.18.1.3.0", berIP("10.8.0.63"))))).Payload()
	h.want(names(got, "198.51.100.7") == 1, "rewrite the inform's address")
	// The manager's answer goes back to the agent, rewritten as the
	// requests are: the kernel maps the original source to the reply's
	// destination in both directions.
	got = tr.Send(false, "", string(snmpMsg(1, pduResponse, 10, varBind("1.3.6.1.6.3.18.1.3.0", berIP("10.8.0.63"))))).Payload()
	h.want(names(got, "198.51.100.7") == 1, "rewrite the answer to the agent")
	h.label = "SNMPv1 trap through SNAT"
	tr2 := h.udp("10.8.0.64", 40064, "203.0.113.91", 162, "203.0.113.91")
	v1 := tr2.Send(true, "", string(ber(0x30, berInt(0x02, 0), ber(0x04, []byte("public")),
		ber(pduTrapV1, berOID("1.3.6.1.4.1.8072"), berIP("10.8.0.64"), berInt(0x02, 6), berInt(0x02, 1), berInt(0x43, 77),
			ber(0x30, varBind("1.3.6.1.2.1.1.5.0", ber(0x04, []byte("x"))))))))
	h.want(v1.Out == nil, "refuse the Trap-PDU its grammar leaves out")
	h.label = "SNMP trap without NAT"
	tr3 := h.udp("10.1.0.65", 40065, "203.0.113.91", 162, "203.0.113.91")
	got = tr3.Send(true, "", string(snmpMsg(1, pduTrapV2, 11, varBind("1.3.6.1.6.3.18.1.3.0", berIP("10.1.0.65"))))).Payload()
	h.want(names(got, "10.1.0.65") == 1, "leave a trap alone without NAT")

	// Expectations left waiting, for the final listings.
	h.label = "waiting expectations"
	line(sn2, true, saneRequest(7, 0))
	line(sn2, false, saneStartReply(0, 0, 50091))
	line(sn6, true, saneRequest(7, 0))
	line(sn6, false, saneStartReply(0, 0, 50096))

	// The router's own broadcasts, last, and the one to the subnet's
	// NetBIOS name service the very last: its answers are awaited for 3 s
	// only.
	router := func(port uint16) netip.AddrPort { return netip.AddrPortFrom(a(kernel.RouterAddr4), port) }
	h.label = "SNMP broadcast"
	h.hostUDP(router(40161), netip.MustParseAddrPort("192.0.2.255:161"), snmpMsg(1, pduGet, 12, varBind("1.3.6.1.2.1.1.5.0", ber(0x05))))
	h.udpFrom("192.0.2.20", 161, kernel.RouterAddr4, 40161, snmpMsg(1, pduResponse, 12, varBind("1.3.6.1.2.1.1.5.0", ber(0x04, []byte("agent20")))))
	h.udpFrom("192.0.2.21", 161, kernel.RouterAddr4, 40161, snmpMsg(1, pduResponse, 12, varBind("1.3.6.1.2.1.1.5.0", ber(0x04, []byte("agent21")))))

	h.label = "NetBIOS unicast query"
	h.hostUDP(router(40139), netip.MustParseAddrPort("192.0.2.10:137"), nbQuery(0x1002, "PRINTER"))
	h.udpFrom("192.0.2.11", 137, kernel.RouterAddr4, 40139, nbAnswer(0x1002, "192.0.2.11"))
	h.label = "NetBIOS limited broadcast"
	h.hostUDP(router(40140), netip.MustParseAddrPort("255.255.255.255:137"), nbQuery(0x1003, "PRINTER"))
	h.udpFrom("192.0.2.12", 137, kernel.RouterAddr4, 40140, nbAnswer(0x1003, "192.0.2.12"))
	h.label = "NetBIOS name query"
	h.hostUDP(router(40137), netip.MustParseAddrPort("192.0.2.255:137"), nbQuery(0x1001, "FILESERVER"))
	h.label = "NetBIOS answers"
	h.udpFrom("192.0.2.7", 137, kernel.RouterAddr4, 40137, nbAnswer(0x1001, "192.0.2.7"))
	h.udpFrom("192.0.2.8", 137, kernel.RouterAddr4, 40137, nbAnswer(0x1001, "192.0.2.8"))
	h.udpFrom("192.0.2.7", 137, kernel.RouterAddr4, 40137, nbAnswer(0x1001, "192.0.2.7"))
	h.label = "NetBIOS answers not expected"
	h.udpFrom("192.0.2.9", 138, kernel.RouterAddr4, 40137, nbAnswer(0x1001, "192.0.2.9"))   // from another port
	h.udpFrom("198.18.0.7", 137, kernel.RouterAddr4, 40137, nbAnswer(0x1001, "198.18.0.7")) // from outside the subnet
	h.udpFrom("192.0.2.7", 137, kernel.RouterAddr4, 40138, nbAnswer(0x1001, "192.0.2.7"))   // to another port
}

// TestSmallHelpersMatchKernel runs Amanda, SANE, SNMP (with its basic
// NAT), SNMP traps and NetBIOS-NS sessions through a kernel router with
// CT --helper rules and through nfgo replay with the same rules, as
// TestHelpersMatchKernel does: every packet's verdict and ctstate, every
// packet that leaves, byte for byte (rewritten Amanda ports, SNMP
// addresses), and the final tables of connections and expectations must
// be the same. The broadcast helpers act only on broadcasts the router
// sends itself: the kernel router sends them from a socket, and nfgo
// replays them as the kernel emitted them, from the host's own address.
func TestSmallHelpersMatchKernel(t *testing.T) {
	kernel.Require(t, "ip", "nft", "iptables-restore", "ip6tables-restore", "conntrack")
	rules, rules6 := "testdata/helpers/small.rules", "testdata/helpers/small.rules6"
	r := kernel.NewRouter(t, kernel.RouterOptions{Conntrack: true, Outside: true, LocalReplies: true, Broadcast: true})
	restoreFiles(t, r, rules, rules6)
	h := newHelperRun(t, r)
	smallScenarios(h)
	h.compare(rules, rules6)
}
