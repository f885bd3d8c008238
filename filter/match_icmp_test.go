package filter

import "testing"

func TestICMPMatchTypeAndCode(t *testing.T) {
	echo := matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 1, icmpType: 8}
	portUnreach := matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 1, icmpType: 3, icmpCode: 3}
	echo6 := matchPkt{src: "2001:db8::1", dst: "2001:db8::2", proto: 58, icmpType: 128}
	tests := []struct {
		name string
		m    Match
		p    matchPkt
		want bool
	}{
		{"type with any code", &ICMPMatch{Type: 8, CodeMax: 255}, echo, true},
		{"other type", &ICMPMatch{Type: 0, CodeMax: 255}, echo, false},
		{"type/code", &ICMPMatch{Type: 3, CodeMin: 3, CodeMax: 3}, portUnreach, true},
		{"type/other code", &ICMPMatch{Type: 3, CodeMin: 1, CodeMax: 1}, portUnreach, false},
		{"any", &ICMPMatch{Type: ICMPAnyType, CodeMax: 255}, portUnreach, true},
		{"! any", &ICMPMatch{Type: ICMPAnyType, CodeMax: 255, Invert: true}, portUnreach, false},
		{"inverted", &ICMPMatch{Type: 8, CodeMax: 255, Invert: true}, portUnreach, true},
		{"icmpv6 echo", &ICMPv6Match{Type: 128, CodeMax: 255}, echo6, true},
		{"icmpv6 type 255 is not any", &ICMPv6Match{Type: 255, CodeMax: 255}, echo6, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Match(matchCtx(tt.p.decode(t))); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMultiportMatchModes(t *testing.T) {
	list := []PortRange{{22, 22}, {80, 90}}
	tests := []struct {
		name string
		m    MultiportMatch
		want bool
	}{
		{"dports hit a range", MultiportMatch{Mode: MultiportDestination, Ports: list}, true},
		{"sports miss", MultiportMatch{Mode: MultiportSource, Ports: list}, false},
		{"ports take either side", MultiportMatch{Mode: MultiportEither, Ports: []PortRange{{40000, 40000}}}, true},
		{"inverted hit", MultiportMatch{Mode: MultiportDestination, Ports: list, Invert: true}, false},
		{"inverted miss", MultiportMatch{Mode: MultiportSource, Ports: list, Invert: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Match(matchCtx(mTCP4.decode(t))); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMultiportCheckRuleCountsRangesTwice(t *testing.T) {
	var ports []PortRange
	for i := range 8 {
		ports = append(ports, PortRange{uint16(i * 10), uint16(i*10 + 1)})
	}
	m := &MultiportMatch{Ports: ports}
	if err := m.CheckRule(&Rule{Header: Header{Proto: 6}}, Site{Table: Filter}); err == nil {
		t.Error("CheckRule accepted 8 ranges (16 slots), want too many ports")
	}
}
