package helpers

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// ber encodes one value: its tag, a definite length (short or long
// form) and its content.
func ber(tag byte, content ...byte) []byte {
	n := len(content)
	b := []byte{tag}
	switch {
	case n < 0x80:
		b = append(b, byte(n))
	case n < 0x100:
		b = append(b, 0x81, byte(n))
	default:
		b = append(b, 0x82, byte(n>>8), byte(n))
	}
	return append(b, content...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// oidSysName is 1.3.6.1.2.1.1.5.0's encoding.
var oidSysName = []byte{0x2b, 6, 1, 2, 1, 1, 5, 0}

// nullBind binds sysName to NULL, as a request does.
var nullBind = varBind(oidSysName, ber(0x05))

func varBind(oid, value []byte) []byte { return ber(0x30, cat(ber(0x06, oid...), value)...) }

func ipAddress(s string) []byte {
	b := a(s).As4()
	return ber(0x40, b[:]...)
}

// snmpMessage is a message of version version (0: SNMPv1, 1: SNMPv2c)
// whose PDU, of tag pduTag, binds the variables varBinds.
func snmpMessage(version byte, community string, pduTag byte, varBinds ...[]byte) []byte {
	pdu := ber(pduTag, cat(ber(0x02, 0x12, 0x34), ber(0x02, 0), ber(0x02, 0), ber(0x30, cat(varBinds...)...))...)
	return ber(0x30, cat(ber(0x02, version), ber(0x04, []byte(community)...), pdu)...)
}

// indefiniteMessage is an SNMPv2c Report whose message and PDU have
// indefinite lengths, ending in EOCs, which BER allows and the kernel's
// decoder takes: but only for a Report, the PDUs' last alternative,
// since after any other the next alternatives read the message's EOC as
// a tag that does not match, which fails the CHOICE.
func indefiniteMessage() []byte { return indefinite(0xa8) }

func indefinite(pduTag byte) []byte {
	vb := ber(0x30, varBind(oidSysName, ipAddress("10.0.0.5"))...)
	return cat([]byte{0x30, 0x80}, ber(0x02, 1), ber(0x04, 'p'), []byte{pduTag, 0x80},
		ber(0x02, 1), ber(0x02, 0), ber(0x02, 0), vb, []byte{0, 0, 0, 0})
}

// rawMessage is a message of the values given, as they are.
func rawMessage(values ...[]byte) []byte { return ber(0x30, cat(values...)...) }

// pdu is a PDU of tag tag binding varBinds.
func pdu(tag byte, varBinds ...[]byte) []byte {
	return ber(tag, cat(ber(0x02, 1), ber(0x02, 0), ber(0x02, 0), ber(0x30, cat(varBinds...)...))...)
}

// The connections of these tests: the manager 10.0.0.5, source-NATed to
// 198.51.100.7, and the agent 203.0.113.5. The messages name the
// manager's address, which becomes the translated one.
func TestSNMPRewrites(t *testing.T) {
	me, pub := ipAddress("10.0.0.5"), ipAddress("198.51.100.7")
	other := ipAddress("10.0.0.6")
	counter := ber(0x41, 1, 2, 3)
	for _, tc := range []struct {
		name     string
		helper   string
		dir      conntrack.Dir
		msg      []byte
		want     []byte // what leaves; nil: msg unchanged
		drop     string
		notNATed bool
	}{
		{name: "a response's IpAddress", helper: "snmp", dir: conntrack.Reply,
			msg:  snmpMessage(0, "public", 0xa2, varBind(oidSysName, me), varBind(oidSysName, counter)),
			want: snmpMessage(0, "public", 0xa2, varBind(oidSysName, pub), varBind(oidSysName, counter))},
		{name: "an IpAddress at an odd offset", helper: "snmp", dir: conntrack.Reply,
			msg:  snmpMessage(1, "odd", 0xa2, varBind(oidSysName, me)),
			want: snmpMessage(1, "odd", 0xa2, varBind(oidSysName, pub))},
		{name: "other addresses stay", helper: "snmp", dir: conntrack.Reply,
			msg: snmpMessage(1, "public", 0xa2, varBind(oidSysName, other), varBind(oidSysName, ber(0x04, 10, 0, 0, 5)))},
		{name: "a request is rewritten too", helper: "snmp", dir: conntrack.Original,
			msg:  snmpMessage(1, "private", 0xa3, varBind(oidSysName, me)),
			want: snmpMessage(1, "private", 0xa3, varBind(oidSysName, pub))},
		{name: "an SNMPv2 trap", helper: "snmp_trap", dir: conntrack.Original,
			msg:  snmpMessage(1, "public", 0xa7, varBind(oidSysName, ber(0x43, 1)), varBind(oidSysName, me), varBind(oidSysName, me)),
			want: snmpMessage(1, "public", 0xa7, varBind(oidSysName, ber(0x43, 1)), varBind(oidSysName, pub), varBind(oidSysName, pub))},
		{name: "an inform", helper: "snmp_trap", dir: conntrack.Original,
			msg:  snmpMessage(1, "public", 0xa6, varBind(oidSysName, me)),
			want: snmpMessage(1, "public", 0xa6, varBind(oidSysName, pub))},
		{name: "the null values", helper: "snmp", dir: conntrack.Reply,
			msg: snmpMessage(1, "public", 0xa2, varBind(oidSysName, ber(0x05)), varBind(oidSysName, ber(0x80)), varBind(oidSysName, ber(0x81)), varBind(oidSysName, ber(0x82)))},
		{name: "long-form lengths", helper: "snmp", dir: conntrack.Reply,
			msg:  snmpMessage(1, string(make([]byte, 300)), 0xa2, varBind(oidSysName, me)),
			want: snmpMessage(1, string(make([]byte, 300)), 0xa2, varBind(oidSysName, pub))},
		{name: "indefinite lengths", helper: "snmp", dir: conntrack.Reply,
			msg: indefiniteMessage(), want: bytes.Replace(indefiniteMessage(), me, pub, 1)},
		{name: "indefinite lengths, a response", helper: "snmp", dir: conntrack.Reply, msg: indefinite(0xa2), drop: "parser failed"},
		// The IpAddress choice is tried after an INTEGER value too, so a
		// binding that goes on with one has it rewritten.
		{name: "an IpAddress after a value", helper: "snmp", dir: conntrack.Reply,
			msg:  snmpMessage(1, "public", 0xa2, ber(0x30, cat(ber(0x06, oidSysName...), ber(0x02, 1), me)...)),
			want: snmpMessage(1, "public", 0xa2, ber(0x30, cat(ber(0x06, oidSysName...), ber(0x02, 1), pub)...))},
		// After a PDU the next alternatives still read a tag: a second
		// PDU is decoded too if its type comes later in the CHOICE, and
		// fails it otherwise.
		{name: "two PDUs", helper: "snmp", dir: conntrack.Reply,
			msg:  rawMessage(ber(0x02, 1), ber(0x04, 'c'), pdu(0xa0, nullBind), pdu(0xa2, varBind(oidSysName, me))),
			want: rawMessage(ber(0x02, 1), ber(0x04, 'c'), pdu(0xa0, nullBind), pdu(0xa2, varBind(oidSysName, pub)))},
		{name: "two PDUs of one type", helper: "snmp", dir: conntrack.Reply,
			msg: rawMessage(ber(0x02, 1), ber(0x04, 'c'), pdu(0xa2, nullBind), pdu(0xa2, varBind(oidSysName, me))), drop: "parser failed"},
		// A PDU must bind a variable: the list's first VarBind is no
		// OPTIONAL match.
		{name: "no variable binding", helper: "snmp", dir: conntrack.Reply, msg: snmpMessage(1, "c", 0xa2), drop: "parser failed"},
		// A binding's value may be followed by a null value.
		{name: "a value then a null", helper: "snmp", dir: conntrack.Reply,
			msg: snmpMessage(1, "c", 0xa2, ber(0x30, cat(ber(0x06, oidSysName...), ber(0x02, 1), ber(0x05))...))},
		// The decoder takes a message with no PDU, and bytes after the
		// message.
		{name: "no PDU", helper: "snmp", dir: conntrack.Reply, msg: rawMessage(ber(0x02, 1), ber(0x04, 'c'))},
		{name: "bytes after the message", helper: "snmp", dir: conntrack.Reply,
			msg: cat(snmpMessage(1, "c", 0xa2, varBind(oidSysName, me)), []byte("junk")), want: cat(snmpMessage(1, "c", 0xa2, varBind(oidSysName, pub)), []byte("junk"))},

		{name: "an SNMPv1 trap is not in the kernel's grammar", helper: "snmp_trap", dir: conntrack.Original,
			msg: rawMessage(ber(0x02, 0), ber(0x04, 'p'),
				ber(0xa4, cat(ber(0x06, oidSysName...), me, ber(0x02, 6), ber(0x02, 1), ber(0x43, 1), ber(0x30, nullBind...))...)),
			drop: "parser failed"},
		{name: "SNMPv3", helper: "snmp", dir: conntrack.Reply, msg: snmpMessage(3, "", 0xa2), drop: "parser failed"},
		{name: "a version of two bytes", helper: "snmp", dir: conntrack.Reply, msg: rawMessage(ber(0x02, 0, 1), ber(0x04, 'c'), pdu(0xa2, nullBind)), drop: "parser failed"},
		{name: "a binding without its name", helper: "snmp", dir: conntrack.Reply, msg: snmpMessage(1, "c", 0xa2, ber(0x30, ber(0x02, 1)...)), drop: "parser failed"},
		{name: "an IpAddress of 5 bytes", helper: "snmp", dir: conntrack.Reply, msg: snmpMessage(1, "c", 0xa2, varBind(oidSysName, ber(0x40, 10, 0, 0, 5, 0))), drop: "parser failed"},
		{name: "an unknown value type", helper: "snmp", dir: conntrack.Reply, msg: snmpMessage(1, "c", 0xa2, varBind(oidSysName, ber(0x47, 1))), drop: "parser failed"},
		{name: "garbage", helper: "snmp", dir: conntrack.Reply, msg: []byte("hello"), drop: "parser failed"},

		{name: "not NATed: garbage passes", helper: "snmp", dir: conntrack.Reply, msg: []byte("hello"), notNATed: true},
		{name: "not NATed: nothing rewritten", helper: "snmp", dir: conntrack.Reply, msg: snmpMessage(1, "c", 0xa2, varBind(oidSysName, me)), notNATed: true},
	} {
		h := New(Config{}).Lookup(tc.helper, packet.IPv4, packet.ProtoUDP)
		port := uint16(snmpPort)
		if tc.helper == "snmp_trap" {
			port = snmpTrapPort
		}
		public := "198.51.100.7"
		if tc.notNATed {
			public = "10.0.0.5"
		}
		c := newConn(t, h, "udp", a("10.0.0.5"), a(public), a("203.0.113.5"), port)
		v, p := c.send(tc.dir, string(tc.msg))
		if v.Drop != (tc.drop != "") || v.Reason != tc.drop {
			t.Errorf("%s: verdict %+v, want drop %q", tc.name, v, tc.drop)
			continue
		}
		if v.Drop {
			continue
		}
		want := tc.want
		if want == nil {
			want = tc.msg
		}
		if !bytes.Equal(p.Payload(), want) {
			t.Errorf("%s: the payload\n got % x\nwant % x", tc.name, p.Payload(), want)
		}
		if !p.L4ChecksumOK() || binary.BigEndian.Uint16(p.L4()[6:]) == 0 {
			t.Errorf("%s: the checksum %#x is wrong", tc.name, binary.BigEndian.Uint16(p.L4()[6:]))
		}
		if p.Modified != (tc.want != nil) {
			t.Errorf("%s: Modified %v", tc.name, p.Modified)
		}
	}
}

// Which packets the basic NAT looks at: not one from port 161 in the
// original direction, nor one to port 162 in the reply direction, and
// one whose UDP length is not the rest of the packet is dropped.
func TestSNMPPortsAndLength(t *testing.T) {
	me := ipAddress("10.0.0.5")
	msg := string(snmpMessage(1, "public", 0xa2, varBind(oidSysName, me)))
	for _, tc := range []struct {
		name         string
		helper       string
		cport, sport uint16
		dir          conntrack.Dir
		short        bool // the UDP length ends before the packet
		rewritten    bool
		drop         string
	}{
		{name: "a request from port 161 is left", helper: "snmp", cport: 161, sport: 161, dir: conntrack.Original},
		{name: "its reply, from port 161, is rewritten", helper: "snmp", cport: 161, sport: 161, dir: conntrack.Reply, rewritten: true},
		{name: "a trap from port 162 is rewritten", helper: "snmp_trap", cport: 162, sport: 162, dir: conntrack.Original, rewritten: true},
		{name: "a reply to port 162 is left", helper: "snmp_trap", cport: 162, sport: 162, dir: conntrack.Reply},
		{name: "a reply from port 162 to another is rewritten", helper: "snmp_trap", cport: 40000, sport: 162, dir: conntrack.Reply, rewritten: true},
		{name: "the length ends short", helper: "snmp", cport: 40000, sport: 161, dir: conntrack.Reply, short: true, drop: "dropping malformed packet"},
		{name: "the length ends short, a packet left alone", helper: "snmp", cport: 161, sport: 161, dir: conntrack.Original, short: true},
	} {
		h := New(Config{}).Lookup(tc.helper, packet.IPv4, packet.ProtoUDP)
		c := newConnPorts(t, h, "udp", a("10.0.0.5"), a("198.51.100.7"), a("203.0.113.5"), tc.cport, tc.sport)
		p := c.pkt(tc.dir, "", msg)
		if tc.short {
			p = edited(p, func(b []byte) []byte {
				// A byte after the datagram, within the IP length.
				b = append(b, 0)
				binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
				b[10], b[11] = 0, 0
				binary.BigEndian.PutUint16(b[10:], packet.Checksum(b[:20], 0))
				return b
			})
		}
		v := c.sendPacket(tc.dir, p, nil)
		if v.Drop != (tc.drop != "") || v.Reason != tc.drop {
			t.Errorf("%s: verdict %+v, want drop %q", tc.name, v, tc.drop)
			continue
		}
		if got := bytes.Contains(p.Payload(), ipAddress("198.51.100.7")); !v.Drop && got != tc.rewritten {
			t.Errorf("%s: rewritten %v, want %v", tc.name, got, tc.rewritten)
		}
	}
}

// Only source NAT of the connection's initiator is undone: under
// destination NAT alone the original source is the reply's destination,
// and nothing is rewritten, not even a message that does not decode.
func TestSNMPLeavesDestinationNAT(t *testing.T) {
	h := New(Config{}).Lookup("snmp", packet.IPv4, packet.ProtoUDP)
	c := &conn{t: t, tb: conntrack.NewTable(conntrack.Config{}), h: h, proto: "udp", client: a("10.0.0.5"), public: a("10.0.0.5"), server: a("203.0.113.5"), cport: 40000, sport: 161}
	var r conntrack.Result
	c.tb.In(&r, c.pkt(conntrack.Original, "", ""), 0, t0, false)
	reply := r.Tuple(conntrack.Reply)
	copy(reply.Src[:], a("192.168.1.5").AsSlice())
	if !c.tb.SetReply(&r, reply, conntrack.StatusDstNAT|conntrack.StatusDstNATDone) || !c.tb.SetHelper(&r, h) || !c.tb.Confirm(&r) {
		t.Fatal("could not set up the connection")
	}
	for _, msg := range [][]byte{snmpMessage(1, "c", 0xa0, varBind(oidSysName, ipAddress("10.0.0.5"))), []byte("garbage")} {
		p := c.pkt(conntrack.Original, "", string(msg))
		if v := c.sendPacket(conntrack.Original, p, nil); v.Drop || !bytes.Equal(p.Payload(), msg) {
			t.Errorf("%q: verdict %+v, payload % x", msg, v, p.Payload())
		}
	}
}

// A packet with no UDP checksum keeps none; one whose checksum is yet
// to be computed keeps its partial sum (where the kernel would adjust
// it as a full checksum).
func TestSNMPChecksumField(t *testing.T) {
	me, pub := ipAddress("10.0.0.5"), ipAddress("198.51.100.7")
	msg := snmpMessage(1, "public", 0xa2, varBind(oidSysName, me))
	h := New(Config{}).Lookup("snmp", packet.IPv4, packet.ProtoUDP)
	for _, partial := range []bool{false, true} {
		c := newConn(t, h, "udp", a("10.0.0.5"), a("198.51.100.7"), a("203.0.113.5"), 161)
		p := c.pkt(conntrack.Reply, "", string(msg))
		var check uint16 = 0
		if partial {
			check = 0x1234
		}
		p = edited(p, func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[20+6:], check)
			return b
		})
		p.PartialChecksum = partial
		if v := c.sendPacket(conntrack.Reply, p, nil); v.Drop {
			t.Fatalf("dropped: %s", v.Reason)
		}
		if !bytes.Contains(p.Payload(), pub) || binary.BigEndian.Uint16(p.L4()[6:]) != check {
			t.Errorf("partial %v: payload % x, checksum %#x; want the rewrite, checksum %#x", partial, p.Payload(), binary.BigEndian.Uint16(p.L4()[6:]), check)
		}
	}
}

// fast_csum agrees with a checksum computed afresh, except that it
// gives 0 where the full computation gives 0xffff (the kernel does not
// keep UDP's 0 for "none" apart).
func TestSNMPFastCsum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// afresh is the checksum that makes b's words sum to 0xffff.
	afresh := func(b []byte) uint16 { return ^uint16(fold32(onesSum(b))) }
	for i := range 20000 {
		n := 4 + rng.IntN(60)
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		off := rng.IntN(n - 3)
		var from, to [4]byte
		copy(from[:], b[off:])
		binary.BigEndian.PutUint32(to[:], rng.Uint32())
		if i%7 == 0 {
			to = [4]byte{}
		}
		got := snmpFastCsum(afresh(b), off, from, to)
		copy(b[off:], to[:])
		if want := afresh(b); got != want && !(got == 0 && want == 0xffff) {
			t.Fatalf("case %d: fast_csum %#04x, afresh %#04x (offset %d)", i, got, want, off)
		}
	}
	// The kernel's fold keeps the 32-bit sum from being 0: from
	// 255.255.255.255 to 0.0.0.0 with a checksum of 0xffff gives 0.
	if got := snmpFastCsum(0xffff, 0, [4]byte{255, 255, 255, 255}, [4]byte{}); got != 0 {
		t.Errorf("fast_csum(0xffff, ff.ff.ff.ff → 0.0.0.0) = %#x, want 0", got)
	}
}

// Every PDU type of the kernel's grammar is decoded; the SNMPv1
// Trap-PDU ([4]) and unknown ones are not.
func TestSNMPPDUTypes(t *testing.T) {
	for tag := byte(0xa0); tag <= 0xaa; tag++ {
		msg := snmpMessage(1, "c", tag, varBind(oidSysName, ipAddress("10.0.0.5")))
		s := snmpRewrite{data: msg, check: make([]byte, 2), from: [4]byte{10, 0, 0, 5}, to: [4]byte{1, 2, 3, 4}}
		err := s.decode()
		if want := tag != 0xa4 && tag <= 0xa8; (err == nil) != want || s.changed != want {
			t.Errorf("PDU tag %#x: %v, rewritten %v; want decoded %v", tag, err, s.changed, want)
		}
	}
}

// The decoder's limits and errors, on the data alone.
func TestSNMPDecoderErrors(t *testing.T) {
	ok := snmpMessage(1, "c", 0xa2, varBind(oidSysName, ber(0x02, 1)))
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"a message", ok, nil},
		{"empty", nil, errBERDataOverrun},
		{"one byte", []byte{0x30}, errBERDataOverrun},
		{"not a SEQUENCE", []byte{0x31, 0}, errBERUnexpectedTag},
		{"a primitive SEQUENCE is one", cat([]byte{0x10}, ok[1:]), nil},
		{"a long tag", []byte{0x3f, 0x01, 0x00}, errBERLongTag},
		{"a length of three bytes", []byte{0x30, 0x83, 0, 0, 1, 0}, errBERLengthTooLong},
		{"a length past the data", []byte{0x30, 0x05, 0x02, 0x01, 0x01}, errBERDataOverrun},
		{"a long length past the data", []byte{0x30, 0x82, 0x01}, errBERDataOverrun},
		{"an indefinite primitive", []byte{0x30, 0x80, 0x02, 0x80, 0, 0}, errBERIndefinitePrim},
		{"an indefinite message", cat([]byte{0x30, 0x80}, ber(0x02, 1), ber(0x04), pdu(0xa8, nullBind), []byte{0, 0}), nil},
		{"an indefinite message without its EOC", cat([]byte{0x30, 0x80}, ber(0x02, 1), ber(0x04), pdu(0xa8, nullBind), []byte{1, 0}), errBERMissingEOC},
		{"a bad EOC", cat([]byte{0x30, 0x80}, ber(0x02, 1), ber(0x04), pdu(0xa8, nullBind), []byte{0, 1}), errBERInvalidEOC},
		{"an EOC cut short", cat([]byte{0x30, 0x80}, ber(0x02, 1), ber(0x04), pdu(0xa8, nullBind), []byte{0}), errBERDataOverrun},
		{"an indefinite response", cat([]byte{0x30, 0x80}, ber(0x02, 1), ber(0x04), pdu(0xa2, nullBind), []byte{0, 0}), errBERUnexpectedTag},
		{"no variable binding", snmpMessage(1, "c", 0xa2), errBERDataOverrun},
		{"a value after a null value", snmpMessage(1, "c", 0xa2, ber(0x30, cat(ber(0x06, 1), ber(0x05), ber(0x02, 1))...)), errBERConsLength},
		{"a SEQUENCE OF going on with an indefinite length", cat([]byte{0x30, 0x80}, ber(0x02, 1), ber(0x04), ber(0xa8, cat(ber(0x02, 1), ber(0x02, 0), ber(0x02, 0),
			[]byte{0x30, 0x80}, varBind(oidSysName, ber(0x05)), varBind(oidSysName, ipAddress("10.0.0.5")), []byte{0, 0})...), []byte{0, 0}), nil},

		{"the version's action", snmpMessage(2, "c", 0xa2), errSNMPUnsupported},
		{"too long", make([]byte, 65536), errBERTooBig},
	} {
		s := snmpRewrite{data: append([]byte(nil), tc.data...), check: make([]byte, 2), from: [4]byte{10, 0, 0, 5}, to: [4]byte{1, 2, 3, 4}}
		if got := s.decode(); !errors.Is(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The machine is as the kernel's compiler lays it out: every jump lands
// on an opcode, and each opcode's operands are within it.
func TestSNMPMachineIsWellFormed(t *testing.T) {
	starts := map[int]bool{}
	for pc := 0; pc < len(snmpMachine); {
		n := berOpLen(snmpMachine[pc])
		if n == 0 || pc+n > len(snmpMachine) {
			t.Fatalf("opcode %#x at %d", snmpMachine[pc], pc)
		}
		starts[pc] = true
		pc += n
	}
	for pc := 0; pc < len(snmpMachine); pc += berOpLen(snmpMachine[pc]) {
		switch op := snmpMachine[pc]; op {
		case berOpMatchJumpOrSkip:
			if !starts[int(snmpMachine[pc+2])] {
				t.Errorf("the jump at %d lands inside an opcode", pc)
			}
		case berOpEndSeqOf:
			if !starts[int(snmpMachine[pc+1])] {
				t.Errorf("the loop at %d lands inside an opcode", pc)
			}
		}
	}
	if len(snmpMachine) != 79 {
		t.Errorf("%d bytes, the kernel's machine has 79", len(snmpMachine))
	}
}
