package filter

import (
	"testing"

	"github.com/nfgo/nfgo/packet"
)

func TestTTLSaturatesInsteadOfWrapping(t *testing.T) {
	for _, tc := range []struct {
		mode    TTLMode
		v, want uint8
	}{
		{TTLSet, 5, 5},
		{TTLInc, 250, 255},
		{TTLDec, 100, 0},
		{TTLDec, 1, 63},
	} {
		p := udp4(t, "10.0.0.1", "10.0.0.2", 1, 2, nil)
		(&TTLTarget{Mode: tc.mode, Value: tc.v}).Do(&Context{Packet: p})
		var r packet.Packet
		r.Decode(p.Bytes())
		if r.TTL != tc.want || !r.IPv4HeaderChecksumOK() {
			t.Errorf("mode %d value %d: TTL %d (checksum ok %v), want %d", tc.mode, tc.v, r.TTL, r.IPv4HeaderChecksumOK(), tc.want)
		}
	}
}

func TestTOSAndDSCPKeepUnmaskedBits(t *testing.T) {
	p := udp4(t, "10.0.0.1", "10.0.0.2", 1, 2, nil)
	p.SetTOS(0xe3) // precedence 7, ECN 3
	(&DSCPTarget{DSCP: 0x2e}).Do(&Context{Packet: p})
	if p.TOS != 0x2e<<2|0x03 {
		t.Errorf("DSCP EF: TOS %#x, want %#x (ECN kept)", p.TOS, 0x2e<<2|0x03)
	}
	(&TOSTarget{Value: 0x10, Mask: 0x3f}).Do(&Context{Packet: p})
	if p.TOS != 0x80|0x10 {
		t.Errorf("TOS Minimize-Delay: TOS %#x, want %#x (precedence bits kept)", p.TOS, 0x90)
	}
	var r packet.Packet
	r.Decode(p.Bytes())
	if !r.IPv4HeaderChecksumOK() {
		t.Error("header checksum not updated")
	}
}

func TestTCPMSSClampToPMTU(t *testing.T) {
	mss := func(v uint16) []byte { return []byte{2, 4, byte(v >> 8), byte(v)} }
	for _, tc := range []struct {
		name    string
		tg      TCPMSSTarget
		mtu     int
		opt     []byte
		verdict Action
		want    uint16
	}{
		{"clamp lowers", TCPMSSTarget{ClampPMTU: true}, 1400, mss(1460), Continue, 1360},
		{"clamp never raises", TCPMSSTarget{ClampPMTU: true}, 1500, mss(1200), Continue, 1200},
		{"set lowers", TCPMSSTarget{MSS: 1000}, 0, mss(1460), Continue, 1000},
		{"unknown MTU drops", TCPMSSTarget{ClampPMTU: true}, 0, mss(1460), Drop, 1460},
		{"MTU below headers drops", TCPMSSTarget{ClampPMTU: true}, 40, mss(1460), Drop, 1460},
		// A SYN without the option gets one, no larger than the 536
		// bytes its peer would assume without it (RFC 1122).
		{"missing option added", TCPMSSTarget{MSS: 1400}, 0, nil, Continue, 536},
		{"missing option added, lower than the default", TCPMSSTarget{MSS: 500}, 0, nil, Continue, 500},
		{"missing option added by clamping", TCPMSSTarget{ClampPMTU: true}, 400, nil, Continue, 360},
	} {
		p := tcp4(t, "10.0.0.1", "10.0.0.2", 1, 2, packet.TCPSyn, 1, 0, tc.opt, nil)
		c := &Context{Packet: p, Out: "eth1", Env: fakeEnv{mtu: tc.mtu}}
		v := tc.tg.Do(c)
		var r packet.Packet
		r.Decode(p.Bytes())
		if v.Action != tc.verdict || r.TCPOptions.MSS != tc.want || !r.L4ChecksumOK() {
			t.Errorf("%s: verdict %v MSS %d checksum ok %v; want %v %d", tc.name, v.Action, r.TCPOptions.MSS, r.L4ChecksumOK(), tc.verdict, tc.want)
		}
	}
}

// TestTCPMSSCheckRule: the hooks; -p tcp is TestCompileChecksTheProtocolsExtensionsNeed's.
func TestTCPMSSCheckRule(t *testing.T) {
	tcp := &Rule{Header: Header{Proto: packet.ProtoTCP}}
	for _, tc := range []struct {
		name  string
		tg    TCPMSSTarget
		r     *Rule
		hooks HookMask
		ok    bool
	}{
		{"set-mss anywhere", TCPMSSTarget{MSS: 1}, tcp, Hooks(Prerouting), true},
		{"clamp in FORWARD", TCPMSSTarget{ClampPMTU: true}, tcp, Hooks(Forward, Postrouting), true},
		{"clamp in INPUT", TCPMSSTarget{ClampPMTU: true}, tcp, Hooks(Input), false},
	} {
		if err := tc.tg.CheckRule(tc.r, Site{Table: Mangle, Hooks: tc.hooks}); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestNATTargetsAcceptUntilNATExists(t *testing.T) {
	for _, tg := range []Target{&SNATTarget{}, &DNATTarget{}, &MasqueradeTarget{}, &RedirectTarget{}, &NetmapTarget{}} {
		if v := tg.Do(&Context{}); v.Action != Accept {
			t.Errorf("%T: %v, want ACCEPT", tg, v.Action)
		}
	}
}
