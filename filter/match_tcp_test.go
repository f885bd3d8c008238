package filter

import (
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

func TestTCPAndUDPCheckRuleRequireTheirProtocol(t *testing.T) {
	tests := []struct {
		name string
		m    RuleChecker
		h    Header
		ok   bool
	}{
		{"tcp with -p tcp", &TCPMatch{}, Header{Proto: 6}, true},
		{"tcp with ! -p tcp, as iptables-nft allows", &TCPMatch{}, Header{Proto: 6, ProtoInvert: true}, true},
		{"tcp with -p udp", &TCPMatch{}, Header{Proto: 17}, false},
		{"tcp without -p", &TCPMatch{}, Header{}, false},
		{"udp with -p udp", &UDPMatch{}, Header{Proto: 17}, true},
		{"udp with -p udplite", &UDPMatch{}, Header{Proto: 136}, false},
		{"icmp with ! -p icmp", &ICMPMatch{}, Header{Proto: 1, ProtoInvert: true}, false},
		{"multiport with -p sctp", &MultiportMatch{}, Header{Proto: 132}, true},
		{"multiport with ! -p tcp", &MultiportMatch{}, Header{Proto: 6, ProtoInvert: true}, false},
		{"ecn tcp bits with -p udp", &ECNMatch{MatchECE: true}, Header{Proto: 17}, false},
		{"ecn ip bits without -p", &ECNMatch{MatchIP: true}, Header{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.CheckRule(&Rule{Header: tt.h}, Site{Family: packet.IPv4, Table: Filter, Hooks: Hooks(Input)})
			if (err == nil) != tt.ok {
				t.Errorf("CheckRule = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
