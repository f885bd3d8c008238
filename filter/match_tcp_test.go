package filter

import (
	"errors"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

func TestTCPMatchPortsFlagsAndOptions(t *testing.T) {
	syn := uint8(packet.TCPSyn)
	synMask := uint8(packet.TCPFin | packet.TCPSyn | packet.TCPRst | packet.TCPAck)
	mss := []byte{2, 4, 0x05, 0xb4}
	tests := []struct {
		name string
		m    TCPMatch
		p    matchPkt
		want bool
	}{
		{"dport in range", TCPMatch{SrcPorts: AllPorts, DstPorts: PortRange{80, 80}}, mTCP4, true},
		{"dport outside range", TCPMatch{SrcPorts: AllPorts, DstPorts: PortRange{81, 90}}, mTCP4, false},
		{"inverted dport", TCPMatch{SrcPorts: AllPorts, DstPorts: PortRange{80, 80}, DstInvert: true}, mTCP4, false},
		{"sport range", TCPMatch{SrcPorts: PortRange{1024, 65535}, DstPorts: AllPorts}, mTCP4, true},
		{"reversed range matches nothing", TCPMatch{SrcPorts: PortRange{65535, 1024}, DstPorts: AllPorts}, mTCP4, false},
		{"syn on a SYN", TCPMatch{SrcPorts: AllPorts, DstPorts: AllPorts, FlagMask: synMask, FlagComp: syn}, mTCP4, true},
		{"syn on a SYN-ACK", TCPMatch{SrcPorts: AllPorts, DstPorts: AllPorts, FlagMask: synMask, FlagComp: syn},
			matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 6, flags: packet.TCPSyn | packet.TCPAck}, false},
		{"! --syn on an ACK", TCPMatch{SrcPorts: AllPorts, DstPorts: AllPorts, FlagMask: synMask, FlagComp: syn, FlagInvert: true},
			matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 6, flags: packet.TCPAck}, true},
		{"option present", TCPMatch{SrcPorts: AllPorts, DstPorts: AllPorts, Option: 2},
			matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 6, tcpOpts: mss}, true},
		{"option absent", TCPMatch{SrcPorts: AllPorts, DstPorts: AllPorts, Option: 8},
			matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 6, tcpOpts: mss}, false},
		{"inverted option absent", TCPMatch{SrcPorts: AllPorts, DstPorts: AllPorts, Option: 8, OptionInvert: true},
			matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 6, tcpOpts: mss}, true},
		{"later fragment never matches", TCPMatch{SrcPorts: AllPorts, DstPorts: AllPorts, DstInvert: true},
			matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 6, fragOff: 8, payload: 16}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Match(matchCtx(tt.p.decode(t))); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUDPMatchPorts(t *testing.T) {
	tests := []struct {
		name string
		m    UDPMatch
		want bool
	}{
		{"any", UDPMatch{SrcPorts: AllPorts, DstPorts: AllPorts}, true},
		{"dport", UDPMatch{SrcPorts: AllPorts, DstPorts: PortRange{53, 53}}, true},
		{"! dport", UDPMatch{SrcPorts: AllPorts, DstPorts: PortRange{53, 53}, DstInvert: true}, false},
		{"reversed range", UDPMatch{SrcPorts: AllPorts, DstPorts: PortRange{1024, 1}}, false},
		{"sport", UDPMatch{SrcPorts: PortRange{5000, 6000}, DstPorts: AllPorts}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Match(matchCtx(mUDP4.decode(t))); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

// Compile checks, for every extension, the protocol it is bound to
// (ProtoBound) and any rule check of its own (RuleChecker).
func TestCompileChecksTheProtocolsExtensionsNeed(t *testing.T) {
	tests := []struct {
		name string
		m    Match
		t    Target
		h    Header
		ok   bool
	}{
		{"tcp with -p tcp", &TCPMatch{}, nil, Header{Proto: 6}, true},
		{"tcp with ! -p tcp, as iptables-nft allows", &TCPMatch{}, nil, Header{Proto: 6, ProtoInvert: true}, true},
		{"tcp with -p udp", &TCPMatch{}, nil, Header{Proto: 17}, false},
		{"tcp without -p", &TCPMatch{}, nil, Header{}, false},
		{"udp with -p udp", &UDPMatch{}, nil, Header{Proto: 17}, true},
		{"udp with -p udplite", &UDPMatch{}, nil, Header{Proto: 136}, false},
		{"icmp with -p icmp", &ICMPMatch{}, nil, Header{Proto: 1}, true},
		{"icmp with ! -p icmp", &ICMPMatch{}, nil, Header{Proto: 1, ProtoInvert: true}, false},
		{"TCPMSS with -p tcp", nil, &TCPMSSTarget{MSS: 1400}, Header{Proto: 6}, true},
		{"TCPMSS with ! -p tcp", nil, &TCPMSSTarget{MSS: 1400}, Header{Proto: 6, ProtoInvert: true}, false},
		{"multiport with -p sctp", &MultiportMatch{}, nil, Header{Proto: 132}, true},
		{"multiport with ! -p tcp", &MultiportMatch{}, nil, Header{Proto: 6, ProtoInvert: true}, false},
		{"ecn tcp bits with -p udp", &ECNMatch{MatchECE: true}, nil, Header{Proto: 17}, false},
		{"ecn ip bits without -p", &ECNMatch{MatchIP: true}, nil, Header{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Rule{Header: tt.h, Target: tt.t}
			if tt.m != nil {
				r.Matches = []Match{tt.m}
			}
			rs := NewRuleset(packet.IPv4)
			rs.EnsureTable(Mangle)
			if err := rs.Append(Mangle, "FORWARD", r); err != nil {
				t.Fatal(err)
			}
			_, err := Compile(rs)
			if (err == nil) != tt.ok {
				t.Errorf("Compile = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && tt.m != nil && !errors.Is(err, ErrProtocol) {
				t.Errorf("Compile = %v, want ErrProtocol", err)
			}
		})
	}
}
