package filter

import "testing"

func TestMarkMatchMasksBeforeComparing(t *testing.T) {
	tests := []struct {
		name string
		m    MarkMatch
		mark uint32
		want bool
	}{
		{"exact", MarkMatch{Mark: 1, Mask: 0xFFFFFFFF}, 1, true},
		{"exact miss", MarkMatch{Mark: 1, Mask: 0xFFFFFFFF}, 3, false},
		{"masked", MarkMatch{Mark: 0x10, Mask: 0xF0}, 0x1F, true},
		{"masked miss", MarkMatch{Mark: 0x10, Mask: 0xF0}, 0x2F, false},
		{"zero mask matches all", MarkMatch{Mask: 0}, 0xDEAD, true},
		{"inverted", MarkMatch{Mark: 1, Mask: 0xFFFFFFFF, Invert: true}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := matchCtx(mTCP4.decode(t))
			c.Mark = tt.mark
			if got := tt.m.Match(c); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLengthMatchUsesIPTotalLength(t *testing.T) {
	p := matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 17, payload: 12} // 20+8+12
	p6 := matchPkt{src: "::1", dst: "::2", proto: 17, payload: 12}          // 40+8+12
	tests := []struct {
		name string
		m    LengthMatch
		p    matchPkt
		want bool
	}{
		{"ipv4 exact", LengthMatch{Min: 40, Max: 40}, p, true},
		{"ipv4 range", LengthMatch{Min: 0, Max: 39}, p, false},
		{"ipv6 counts the fixed header", LengthMatch{Min: 60, Max: 60}, p6, true},
		{"inverted", LengthMatch{Min: 40, Max: 40, Invert: true}, p, false},
		{"reversed range", LengthMatch{Min: 100, Max: 1}, p, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Match(matchCtx(tt.p.decode(t))); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIPRangeMatchIsInclusive(t *testing.T) {
	r := func(a, b string) IPRange { return IPRange{From: mustAddr(a), To: mustAddr(b)} }
	tests := []struct {
		name string
		m    IPRangeMatch
		want bool
	}{
		{"src at the upper bound", IPRangeMatch{Src: r("10.0.0.0", "10.0.0.1")}, true},
		{"src outside", IPRangeMatch{Src: r("10.0.0.5", "10.0.0.9")}, false},
		{"! src outside", IPRangeMatch{Src: r("10.0.0.5", "10.0.0.9"), SrcInvert: true}, true},
		{"dst and src", IPRangeMatch{Src: r("10.0.0.1", "10.0.0.1"), Dst: r("10.0.0.2", "10.0.0.2")}, true},
		{"reversed range", IPRangeMatch{Src: r("10.0.0.9", "10.0.0.0")}, false},
		{"other family", IPRangeMatch{Src: r("::", "ffff::")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Match(matchCtx(mTCP4.decode(t))); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTTLAndHLCompare(t *testing.T) {
	p4 := matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 17, ttl: 10}
	p6 := matchPkt{src: "::1", dst: "::2", proto: 17, ttl: 10}
	tests := []struct {
		name string
		m    Match
		p    matchPkt
		want bool
	}{
		{"eq", &TTLMatch{Mode: TTLCompareEq, Value: 10}, p4, true},
		{"ne", &TTLMatch{Mode: TTLCompareNe, Value: 10}, p4, false},
		{"lt", &TTLMatch{Mode: TTLCompareLt, Value: 11}, p4, true},
		{"gt", &TTLMatch{Mode: TTLCompareGt, Value: 10}, p4, false},
		{"ttl on ipv6", &TTLMatch{Mode: TTLCompareEq, Value: 10}, p6, false},
		{"hl eq", &HLMatch{Mode: TTLCompareEq, Value: 10}, p6, true},
		{"hl gt", &HLMatch{Mode: TTLCompareGt, Value: 9}, p6, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Match(matchCtx(tt.p.decode(t))); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTOSDSCPAndECN(t *testing.T) {
	// TOS 0xb9: DSCP 0x2e (EF), ECN 01 (ECT(1)).
	p := matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 6, tos: 0xb9, flags: 0x40}
	p6 := matchPkt{src: "::1", dst: "::2", proto: 6, tos: 0xb9, flags: 0x80}
	tests := []struct {
		name string
		m    Match
		p    matchPkt
		want bool
	}{
		{"tos full mask", &TOSMatch{Value: 0xb9, Mask: 0xff}, p, true},
		{"tos 0x3f mask ignores precedence", &TOSMatch{Value: 0x39, Mask: 0x3f}, p, true},
		{"tos inverted", &TOSMatch{Value: 0xb9, Mask: 0xff, Invert: true}, p, false},
		{"tos ipv6 traffic class", &TOSMatch{Value: 0xb9, Mask: 0xff}, p6, true},
		{"dscp EF", &DSCPMatch{DSCP: 0x2e}, p, true},
		{"dscp other", &DSCPMatch{DSCP: 0x0a}, p, false},
		{"ecn ip ect 1", &ECNMatch{MatchIP: true, IPECT: 1}, p, true},
		{"ecn ece set", &ECNMatch{MatchECE: true}, p, true},
		{"ecn ! ece", &ECNMatch{MatchECE: true, InvertECE: true}, p, false},
		{"ecn cwr on ipv6", &ECNMatch{MatchCWR: true}, p6, true},
		{"ecn cwr unset", &ECNMatch{MatchCWR: true}, p, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Match(matchCtx(tt.p.decode(t))); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}
