package helpers

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// The fuzz targets hand hostile payloads to each helper on a live
// connection, with and without NAT, in both directions: the helper must
// never panic, must leave a packet it accepts well formed, and may only
// expect connections to the hosts the kernel's checks allow.

// fuzzConn returns a connection for a fuzz input's choices.
func fuzzConn(t *testing.T, h *Helper, proto string, v6, natted bool, sport uint16) *conn {
	client, public, server := a("10.0.0.5"), a("10.0.0.5"), a("203.0.113.5")
	if natted {
		public = a("198.51.100.7")
	}
	if v6 {
		client, public, server = a("2001:db8:7::5"), a("2001:db8:7::5"), a("2001:db8:5::5")
		if natted {
			public = a("2001:db8:ffff::1")
		}
	}
	return newConn(t, h, proto, client, public, server, sport)
}

// checkAfter checks what a helper left: a well-formed packet, and
// expectations only towards the connection's own ends.
func checkAfter(t *testing.T, c *conn, v Verdict, p *packet.Packet, allowed ...netip.Addr) {
	t.Helper()
	if !v.Drop && (p.Invalid != packet.OK || !p.L4ChecksumOK() || p.Family == packet.IPv4 && !p.IPv4HeaderChecksumOK()) {
		t.Fatalf("the helper left a broken packet: %v", p.Invalid)
	}
	for _, e := range c.tb.Expectations(t0) {
		ok := false
		for _, x := range allowed {
			ok = ok || e.Tuple.DstAddr() == x
		}
		if !ok {
			t.Fatalf("an expectation to %v: %v", e.Tuple.DstAddr(), e)
		}
	}
}

func FuzzFTP(f *testing.F) {
	for _, s := range []string{
		"PORT 10,0,0,5,195,80\r\n", "EPRT |1|10.0.0.5|50000|\r\n", "EPRT |2|2001:db8:7::5|50000|\r\n",
		"227 Entering Passive Mode (203,0,113,5,195,81).\r\n", "229 Entering Extended Passive Mode (|||50002|)\r\n",
		"PORT 10,0,0,5,19", "EPRT |2|::ffff:10.0.0.5|1|\r\n", "227 1,2,3,4,5,6", "PORT 4294967295,1,1,1,65535,65535\r\n",
	} {
		f.Add([]byte(s), false, false, false)
		f.Add([]byte(s), true, true, false)
		f.Add([]byte(s), false, true, true)
	}
	set := New(Config{})
	f.Fuzz(func(t *testing.T, payload []byte, reply, natted, v6 bool) {
		if len(payload) == 0 || len(payload) > 1400 {
			return
		}
		fam := packet.IPv4
		if v6 {
			fam = packet.IPv6
		}
		c := fuzzConn(t, set.Lookup("ftp", fam, packet.ProtoTCP), "tcp", v6, natted, 21)
		c.send(conntrack.Reply, "220 hi\r\n")
		c.send(conntrack.Original, "USER x\r\n")
		d := conntrack.Original
		if reply {
			d = conntrack.Reply
		}
		v, p := c.send(d, string(payload))
		checkAfter(t, c, v, p, c.client, c.public, c.server)
		// The next command still parses: the state stays consistent.
		c.send(d, "NOOP\r\n")
	})
}

// FuzzIRC hands the client's message, then the server's (where DCC
// RESUME comes from), and then the client's again (DCC ACCEPT) to the
// helper.
func FuzzIRC(f *testing.F) {
	for _, s := range []string{
		"PRIVMSG bob :\x01DCC SEND file 167772165 5000 1024\x01\r\n", "PRIVMSG bob :\x01DCC CHAT chat 167772165 5001\x01\r\n",
		"PRIVMSG bob :\x01DCC SEND f 99999999999999999999999 65536 1\x01\n", " \r\n PRIVMSG x :\x01DCC SEND ",
	} {
		f.Add([]byte(s), []byte(":bob PRIVMSG alice :\x01DCC RESUME file 5000 512\x01\r\n"), false)
		f.Add([]byte(s), []byte(":bob PRIVMSG alice :\x01DCC RESUME \"a file\" 5000 512\x01\r\n"), true)
	}
	set := New(Config{})
	f.Fuzz(func(t *testing.T, payload, reply []byte, natted bool) {
		if len(payload) == 0 || len(payload) > 5000 || len(reply) == 0 || len(reply) > 5000 {
			return
		}
		c := fuzzConn(t, set.Lookup("irc", packet.IPv4, packet.ProtoTCP), "tcp", false, natted, 6667)
		v, p := c.send(conntrack.Original, string(payload))
		checkAfter(t, c, v, p, c.public)
		v, p = c.send(conntrack.Reply, string(reply))
		checkAfter(t, c, v, p, c.public)
		v, p = c.send(conntrack.Original, strings.ReplaceAll(string(reply), "RESUME", "ACCEPT"))
		checkAfter(t, c, v, p, c.public)
	})
}

func FuzzTFTP(f *testing.F) {
	f.Add([]byte("\x00\x01file\x00octet\x00"), false)
	f.Add([]byte("\x00\x02"), true)
	set := New(Config{})
	f.Fuzz(func(t *testing.T, payload []byte, natted bool) {
		if len(payload) > 1400 {
			return
		}
		c := fuzzConn(t, set.Lookup("tftp", packet.IPv4, packet.ProtoUDP), "udp", false, natted, 69)
		v, p := c.send(conntrack.Original, string(payload))
		checkAfter(t, c, v, p, c.public)
	})
}

func FuzzIn6pton(f *testing.F) {
	for _, s := range []string{"2001:db8::5|", "::ffff:1.2.3.4|", "1:2:3:4:5:6:7:8|", "::|", "1::2::3|"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok, n := in6pton(b, len(b), '|')
		if n < 0 || n > len(b)+1 {
			t.Fatalf("stopped at %d of %d bytes (ok %v)", n, len(b), ok)
		}
		// Where netip reads the same text as an address, it is the
		// same address (the kernel accepts more: leading zeros).
		if ok && n <= len(b) {
			if want, err := netip.ParseAddr(string(b[:n])); err == nil && want.Is6() && want.As16() != got {
				t.Fatalf("in6pton(%q) = %v, netip says %v", b[:n], netip.AddrFrom16(got), want)
			}
		}
	})
}

func FuzzSIP(f *testing.F) {
	inv := invite("10.0.0.5", "203.0.113.5", 49170)
	for _, s := range []string{
		inv, ok200("10.0.0.5", "203.0.113.5", 3456),
		sipMessage("REGISTER sip:r SIP/2.0", []string{"Via: SIP/2.0/UDP 10.0.0.5:5060", "CSeq: 1 REGISTER", "Contact: <sip:b@10.0.0.5>;expires=60"}, ""),
		sipMessage("SIP/2.0 200 OK", []string{"CSeq: 1 REGISTER", "Contact: <sip:b@10.0.0.5>;expires=60", "m: <sip:c@10.0.0.5:5062>,<sip:d@10.0.0.5>"}, ""),
		"INVITE sip:x@[2001:db8::5]:5060 SIP/2.0\r\nv: SIP/2.0/UDP [2001:db8:7::5]:5060;maddr=[2001:db8:7::5];received=2001:db8::1;rport=5060\r\nl: 0\r\n\r\n",
		inv + inv, // two messages: TCP framing
	} {
		f.Add([]byte(s), false, false, false, false)
		f.Add([]byte(s), true, true, false, false)
		f.Add([]byte(s), false, true, true, true)
	}
	set := New(Config{})
	f.Fuzz(func(t *testing.T, payload []byte, reply, natted, v6, tcp bool) {
		if len(payload) == 0 || len(payload) > 1400 {
			return
		}
		fam, proto := packet.IPv4, "udp"
		if v6 {
			fam = packet.IPv6
		}
		if tcp {
			proto = "tcp"
		}
		var pnum uint8 = packet.ProtoUDP
		if tcp {
			pnum = packet.ProtoTCP
		}
		c := fuzzConn(t, set.Lookup("sip", fam, pnum), proto, v6, natted, 5060)
		d := conntrack.Original
		if reply {
			d = conntrack.Reply
		}
		v, p := c.send(d, string(payload))
		// SIP expects media where the payload says, towards the ends
		// of the call: any address the message names for this end may
		// only be its own (direct media).
		checkAfter(t, c, v, p, c.client, c.public, c.server)
	})
}

// FuzzPPTP hands a control connection a sequence of messages: records
// of a direction byte (odd: the server's), a 16-bit length and the
// bytes. The seeds are a session with an outgoing and an incoming call.
func FuzzPPTP(f *testing.F) {
	rec := func(reply bool, m []byte) []byte {
		d := byte(0)
		if reply {
			d = 1
		}
		return append([]byte{d, byte(len(m) >> 8), byte(len(m))}, m...)
	}
	var session []byte
	for _, r := range [][]byte{
		rec(false, startRequest()), rec(true, startReply(true)),
		rec(false, outCallRequest(0x1111)), rec(true, outCallReply(0x2222, 0x1111, true)),
		rec(false, pptpMsg(pptpSetLinkInfo, 0x2222)), rec(true, pptpMsg(pptpWANErrorNotify, 0x1111)),
		rec(false, clearRequest(0x1111)), rec(true, disconnectNotify(0x2222)),
		rec(true, inCallRequest(0x3333)), rec(false, inCallReply(0x4444, 0x3333, true)), rec(true, inCallConnect(0x4444)),
		rec(false, pptpMsg(pptpStopSessionRequest)), rec(true, pptpMsg(pptpStopSessionReply, pptpResultOK<<8)),
	} {
		session = append(session, r...)
	}
	f.Add(session, false)
	f.Add(session, true)
	f.Add(rec(true, outCallReply(1, 2, true)[:20]), true)
	set := New(Config{})
	f.Fuzz(func(t *testing.T, msgs []byte, natted bool) {
		c := fuzzConn(t, set.Lookup("pptp", packet.IPv4, packet.ProtoTCP), "tcp", false, natted, 1723)
		for n := 0; len(msgs) >= 3 && n < 32; n++ {
			d := conntrack.Dir(msgs[0] & 1)
			l := min(int(msgs[1])<<8|int(msgs[2]), len(msgs)-3, 1400)
			m := msgs[3 : 3+l]
			msgs = msgs[3+l:]
			if l == 0 {
				continue
			}
			v, p := c.send(d, string(m))
			checkAfter(t, c, v, p, c.client, c.public, c.server)
			for _, e := range c.tb.Expectations(t0) {
				if e.Tuple.Proto != packet.ProtoGRE || e.Fn != ExpectPPTP {
					t.Fatalf("not a PPTP call's expectation: %v", e)
				}
			}
		}
		// The control connection's end takes every expectation with it.
		c.tb.Flush(t0)
		if n := len(c.tb.Expectations(t0)); n != 0 {
			t.Fatalf("%d expectations outlived their control connection", n)
		}
	})
}
