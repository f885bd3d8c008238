package helpers

import (
	"testing"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// The fuzz targets of the Amanda, SANE and SNMP helpers, as FuzzFTP's:
// hostile payloads on a live connection, with and without NAT; the
// helper must not panic, must leave a packet it accepts well formed with
// a good checksum, and may only expect connections to the connection's
// own ends. Below them are the test utilities the small helpers' tests
// share.

func FuzzAmanda(f *testing.F) {
	for _, s := range []string{
		"CONNECT DATA 50000 MESG 50001 INDEX 50002\n", "CONNECT DATA 50000 MESG 50001 INDEX 50002 STATE 50003\n",
		"CONNECT DATA 00080 MESG 00081\n", "CONNECT DATA 5 MESG 6\n", "CONNECT DATA 99999 MESG 123456\n",
		"CONNECT MESG 0 DATA 7\n", "CONNECT DATA", "xCONNECT INDEX 1\r\n", "CONNECT \n",
	} {
		f.Add([]byte(s), false, false, false)
		f.Add([]byte(s), true, false, true)
		f.Add([]byte(s), true, true, false)
	}
	set := New(Config{Rand: fixedRand})
	f.Fuzz(func(t *testing.T, payload []byte, natted, v6, taken bool) {
		if len(payload) > 1400 {
			return
		}
		fam := packet.IPv4
		if v6 {
			fam = packet.IPv6
		}
		c := fuzzConn(t, set.Lookup("amanda", fam, packet.ProtoUDP), "udp", v6, natted, 10080)
		if taken {
			// Another master holds the port the seeds name first, so
			// that the NAT helper looks for another one.
			takePort(t, c, 50000)
		}
		v, p := c.send(conntrack.Reply, string(payload))
		checkAfter(t, c, v, p, c.client, c.server)
	})
}

func FuzzSANE(f *testing.F) {
	start := "\x00\x00\x00\x07\x00\x00\x00\x01"
	for _, s := range [][2]string{
		{start, "\x00\x00\x00\x00\x00\x00\xc3\x50rest"},
		{start, "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{start, "\x00\x00\x00\x01\x00\x00\xc3\x50"},
		{"\x00\x00\x00\x08\x00\x00\x00\x01", "\x00\x00\x00\x00\x00\x00\xc3\x50"},
		{start, "\x00\x00"},
	} {
		f.Add([]byte(s[0]), []byte(s[1]), false)
		f.Add([]byte(s[0]), []byte(s[1]), true)
	}
	set := New(Config{})
	f.Fuzz(func(t *testing.T, req, reply []byte, v6 bool) {
		if len(req) > 1400 || len(reply) > 1400 {
			return
		}
		fam := packet.IPv4
		if v6 {
			fam = packet.IPv6
		}
		c := fuzzConn(t, set.Lookup("sane", fam, packet.ProtoTCP), "tcp", v6, false, 6566)
		v, p := c.send(conntrack.Original, string(req))
		checkAfter(t, c, v, p, c.server)
		v, p = c.send(conntrack.Reply, string(reply))
		checkAfter(t, c, v, p, c.server)
		if s := saneStateOf(&c.data); s != saneNormal && s != saneStartRequested {
			t.Fatalf("state %d", s)
		}
	})
}

func FuzzSNMP(f *testing.F) {
	for _, m := range [][]byte{
		snmpMessage(0, "public", 0xa2, varBind(oidSysName, ipAddress("10.0.0.5"))),
		snmpMessage(1, "private", 0xa7, varBind(oidSysName, ipAddress("10.0.0.5")), varBind(oidSysName, ber(0x41, 1, 2))),
		snmpMessage(0, "public", 0xa4, varBind(oidSysName, ipAddress("10.0.0.5"))),
		snmpMessage(3, "public", 0xa2),
		indefiniteMessage(),
		[]byte("\x30\x80\x02\x01\x00\x04\x00\xa2\x80"),
	} {
		f.Add(m, true, false, false)
		f.Add(m, true, true, false)
		f.Add(m, true, false, true)
		f.Add(m, false, false, false)
	}
	set := New(Config{})
	f.Fuzz(func(t *testing.T, payload []byte, natted, reply, trap bool) {
		if len(payload) > 1400 {
			return
		}
		name, port := "snmp", uint16(snmpPort)
		if trap {
			name, port = "snmp_trap", snmpTrapPort
		}
		c := fuzzConn(t, set.Lookup(name, packet.IPv4, packet.ProtoUDP), "udp", false, natted, port)
		d := conntrack.Original
		if reply {
			d = conntrack.Reply
		}
		v, p := c.send(d, string(payload))
		checkAfter(t, c, v, p)
		if !v.Drop && !natted && string(p.Payload()) != string(payload) {
			t.Fatalf("a connection without NAT had its payload changed")
		}
	})
}

// FuzzSNMPDecoder runs the BER decoder alone, much faster than through
// a connection: it must end, and rewrite only 4-byte values that held
// the address it maps, with a checksum that still adds up.
func FuzzSNMPDecoder(f *testing.F) {
	f.Add(snmpMessage(0, "public", 0xa2, varBind(oidSysName, ipAddress("10.0.0.5"))), uint16(0x1234))
	f.Add(indefiniteMessage(), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, check uint16) {
		orig := append([]byte(nil), data...)
		var field [2]byte
		field[0], field[1] = byte(check>>8), byte(check)
		s := snmpRewrite{data: data, check: field[:], from: [4]byte{10, 0, 0, 5}, to: [4]byte{198, 51, 100, 7}}
		_ = s.decode()
		for i := range data {
			if data[i] == orig[i] {
				continue
			}
			ok := false
			for j := max(i-3, 0); j <= i && j+4 <= len(data); j++ {
				ok = ok || [4]byte(orig[j:j+4]) == s.from && [4]byte(data[j:j+4]) == s.to
			}
			if !ok || !s.changed {
				t.Fatalf("byte %d changed, not in an address rewritten", i)
			}
		}
		// The checksum plus the data's sum stays the same; a field that
		// reached 0 (none) is left 0 from then on.
		got := uint16(field[0])<<8 | uint16(field[1])
		if check != 0 && got != 0 && fold32(onesSum(orig)+uint32(check)) != fold32(onesSum(data)+uint32(got)) {
			t.Fatalf("checksum %04x → %04x does not cover the change", check, got)
		}
	})
}

// onesSum is the ones' complement sum of b's 16-bit words, unfolded.
func onesSum(b []byte) uint32 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

// fold32 folds a sum to 16 bits, 0 and 0xffff being the same.
func fold32(s uint32) uint32 {
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	if s == 0xffff {
		s = 0
	}
	return s
}

// takePort makes another master expect TCP connections to the
// connection's server at port, as the Amanda NAT helper would.
func takePort(t *testing.T, c *conn, port uint16) {
	t.Helper()
	other := &conn{proto: "udp", client: a("10.9.9.9"), server: c.server, cport: 40000, sport: 10080}
	if c.server.Is6() {
		other.client = a("2001:db8:9::9")
	}
	var r conntrack.Result
	c.tb.In(&r, other.pkt(conntrack.Original, "", ""), 0, t0, false)
	if !c.tb.Confirm(&r) {
		t.Fatal("could not confirm the other master")
	}
	e := conntrack.Expectation{Mask: conntrack.ExpectAnySrcAddr | conntrack.ExpectAnySrcPort}
	srv := c.origTuple()
	e.Tuple = conntrack.Tuple{Dst: srv.Dst, DstPort: port, Family: srv.Family, Proto: packet.ProtoTCP}
	if err := c.tb.Expect(&r, e, t0); err != nil {
		t.Fatal(err)
	}
}

// origTuple returns the conn's original tuple, without a packet through
// the table.
func (c *conn) origTuple() conntrack.Tuple {
	tp, ok := conntrack.TupleOf(c.pkt(conntrack.Original, "A", ""), 0)
	if !ok {
		c.t.Fatal("no tuple")
	}
	return tp
}

// sendPacket hands the helper packet p of direction d, built by the
// caller, with the Call's Local route set to local.
func (c *conn) sendPacket(d conntrack.Dir, p *packet.Packet, local *LocalRoute) Verdict {
	var r conntrack.Result
	c.tb.In(&r, p, 0, t0, false)
	if !r.Tracked() {
		c.t.Fatalf("conntrack says %v", r.Reason)
	}
	c.data = r.Help.Data
	v := c.h.Help(&Call{Packet: p, CT: &r, Table: c.tb, Now: t0, Data: &c.data, Local: local})
	c.tb.SetHelpData(&r, &c.data)
	return v
}

// edited returns p's bytes changed by edit, decoded anew.
func edited(p *packet.Packet, edit func(b []byte) []byte) *packet.Packet {
	b := edit(append([]byte(nil), p.Bytes()...))
	var q packet.Packet
	q.Decode(append(make([]byte, 0, len(b)+256), b...))
	return &q
}

// timeout returns the time the connection has left, in whole seconds.
func (c *conn) timeout() time.Duration {
	conn, _, ok := c.tb.Get(c.origTuple(), t0)
	if !ok {
		c.t.Fatal("the connection is gone")
	}
	return conn.Timeout.Round(time.Second)
}

// The packets a helper sees most, those that name nothing to expect,
// cost no allocation: an Amanda answer with no ports, SANE's requests
// and data, a query that is no broadcast, and an SNMP message decoded
// and rewritten under NAT.
func TestSmallHelpersDoNotAllocate(t *testing.T) {
	set := New(Config{})
	msg := string(snmpMessage(1, "public", 0xa2, varBind(oidSysName, ipAddress("10.0.0.5")), varBind(oidSysName, ber(0x41, 7))))
	for _, tc := range []struct {
		name, helper, proto string
		sport               uint16
		public              string
		dir                 conntrack.Dir
		payload             string
		local               *LocalRoute
	}{
		{"amanda answer", "amanda", "udp", 10080, "10.0.0.5", conntrack.Reply, "Amanda 2.6 ACK HANDLE 000-00000000 SEQ 1\n", nil},
		{"amanda answer under NAT", "amanda", "udp", 10080, "198.51.100.7", conntrack.Reply, "Amanda 2.6 REP HANDLE 000-00000000 SEQ 1\nCONNECT\n", nil},
		{"sane request", "sane", "tcp", 6566, "10.0.0.5", conntrack.Original, saneRequest(saneNetStart), nil},
		{"sane data", "sane", "tcp", 6566, "10.0.0.5", conntrack.Reply, "\x00\x00\x00\x00 some reply data", nil},
		{"netbios-ns unicast", "netbios-ns", "udp", 137, "10.0.0.5", conntrack.Original, nbnsQuery, &LocalRoute{OutAddrs: lan.OutAddrs}},
		{"snmp under NAT", "snmp", "udp", 161, "198.51.100.7", conntrack.Reply, msg, nil},
		{"snmp_trap without NAT", "snmp_trap", "udp", 162, "10.0.0.5", conntrack.Original, msg, nil},
	} {
		h := set.Lookup(tc.helper, packet.IPv4, packet.ProtoTCP)
		if tc.proto == "udp" {
			h = set.Lookup(tc.helper, packet.IPv4, packet.ProtoUDP)
		}
		c := newConn(t, h, tc.proto, a("10.0.0.5"), a(tc.public), a("203.0.113.5"), tc.sport)
		p := c.pkt(tc.dir, "PA", tc.payload)
		var r conntrack.Result
		c.tb.In(&r, p, 0, t0, false)
		call := &Call{Packet: p, CT: &r, Table: c.tb, Now: t0, Data: &c.data, Local: tc.local}
		if n := testing.AllocsPerRun(100, func() {
			if v := h.Help(call); v.Drop {
				t.Fatalf("%s: dropped: %s", tc.name, v.Reason)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations a packet", tc.name, n)
		}
	}
}

// The helpers are registered for the families and protocols the kernel
// registers them for, and no others.
func TestSmallHelpersRegistered(t *testing.T) {
	set := New(Config{})
	for _, tc := range []struct {
		name  string
		fam   packet.Family
		proto uint8
		ok    bool
	}{
		{"amanda", packet.IPv4, packet.ProtoUDP, true},
		{"amanda", packet.IPv6, packet.ProtoUDP, true},
		{"amanda", packet.IPv4, packet.ProtoTCP, false},
		{"sane", packet.IPv4, packet.ProtoTCP, true},
		{"sane", packet.IPv6, packet.ProtoTCP, true},
		{"sane", packet.IPv4, packet.ProtoUDP, false},
		{"netbios-ns", packet.IPv4, packet.ProtoUDP, true},
		{"netbios-ns", packet.IPv6, packet.ProtoUDP, false},
		{"snmp", packet.IPv4, packet.ProtoUDP, true},
		{"snmp", packet.IPv6, packet.ProtoUDP, false},
		{"snmp_trap", packet.IPv4, packet.ProtoUDP, true},
		{"snmp_trap", packet.IPv4, packet.ProtoTCP, false},
	} {
		err := Check(tc.name, tc.fam, tc.proto)
		h := set.Lookup(tc.name, tc.fam, tc.proto)
		if (err == nil) != tc.ok || (h != nil) != tc.ok {
			t.Errorf("%s %v/%d: Check %v, Lookup %v; want ok %v", tc.name, tc.fam, tc.proto, err, h, tc.ok)
		}
	}
	for _, tc := range []struct {
		name     string
		max      int
		timeout  time.Duration
		override Config
		want     time.Duration
	}{
		{"amanda", 4, 180 * time.Second, Config{}, 180 * time.Second},
		{"sane", 1, 300 * time.Second, Config{}, 300 * time.Second},
		{"netbios-ns", 1, 3 * time.Second, Config{NetBIOSNSTimeout: 9 * time.Second}, 9 * time.Second},
		{"snmp", 1, 30 * time.Second, Config{SNMPTimeout: 9 * time.Second}, 9 * time.Second},
		{"snmp_trap", 0, 180 * time.Second, Config{}, 180 * time.Second},
	} {
		p := set.byName[tc.name].Policy(0)
		q := New(tc.override).byName[tc.name].Policy(0)
		if p.MaxExpected != tc.max || p.Timeout != tc.timeout || q.Timeout != tc.want {
			t.Errorf("%s: policy %+v (with %+v: %+v), want max %d, timeout %v (%v)", tc.name, p, tc.override, q, tc.max, tc.timeout, tc.want)
		}
	}
}
