package filter

import (
	"testing"
	"time"
)

// TestMatchesDoNotAllocate checks every match on the hot path: Match runs
// once per rule per packet and must not allocate.
func TestMatchesDoNotAllocate(t *testing.T) {
	tm := defaultTime()
	tm.Monthdays = 1 << 6
	matches := []Match{
		&TCPMatch{SrcPorts: AllPorts, DstPorts: PortRange{80, 80}, FlagMask: 0x17, FlagComp: 2, Option: 2},
		&UDPMatch{SrcPorts: AllPorts, DstPorts: AllPorts},
		&ICMPMatch{Type: ICMPAnyType, CodeMax: 255},
		&ICMPv6Match{Type: 128, CodeMax: 255},
		&MultiportMatch{Mode: MultiportEither, Ports: []PortRange{{1, 2}, {80, 80}}},
		&MarkMatch{Mark: 1, Mask: 1},
		&ConnmarkMatch{Mark: 1, Mask: 1},
		&StateMatch{States: StateNew},
		&ConntrackMatch{Flags: CTMatchState | CTMatchStatus | CTMatchDirection, States: StateNew},
		&HelperMatch{Helper: "ftp"},
		&ConnlimitMatch{},
		&IPRangeMatch{Src: IPRange{From: mustAddr("10.0.0.0"), To: mustAddr("10.0.0.9")}},
		&LengthMatch{Max: 1500},
		&TTLMatch{Value: 64},
		&HLMatch{Value: 64},
		&TOSMatch{Mask: 0xff},
		&DSCPMatch{},
		&ECNMatch{MatchIP: true, MatchECE: true},
		&PktTypeMatch{},
		&AddrTypeMatch{Src: AddrLocal, Dst: AddrUnicast},
		&LimitMatch{Avg: LimitScale, Burst: 5},
		&StatisticMatch{Mode: StatisticRandom, Probability: 1 << 30},
		&StatisticMatch{Mode: StatisticNth, Every: 3},
		&MACMatch{},
		&ESPMatch{Max: 10},
		&AHMatch{Max: 10},
		&TCPMSSMatch{Min: 1000, Max: 1460},
		&QuotaMatch{Quota: 1 << 40},
		&ConnbytesMatch{To: 10, Mode: ConnbytesAvgPkt, Dir: ConnbytesBoth},
		&CPUMatch{CPU: 1},
		&ClusterMatch{TotalNodes: 2, NodeMask: 1},
		&OwnerMatch{MatchUID: true, MatchGID: true, SupplGroups: true},
		&PhysdevMatch{In: Iface{Name: "veth", Wildcard: true}, MatchIn: true, IsBridged: true},
		&StringMatch{Algo: "bm", Pattern: []byte("x"), To: 65535},
		&StringMatch{Algo: "bm", Pattern: []byte("x"), To: 65535, ICase: true},
		&U32Match{Tests: []U32Test{{Start: 0, Steps: []U32Step{{U32ShiftRight, 22}, {U32And, 0x3c}, {U32At, 0}}, Values: []U32Range{{0, 5}}}}},
		&BPFMatch{Program: []BPFInstruction{{Code: 0xb1}, {Code: 0x50, K: 8}, {Code: 0x16}}},
		&SCTPMatch{HasChunks: true, ChunkMatch: SCTPChunksAll, Chunks: [4]uint64{1}},
		&IPCompMatch{Max: 10},
		&DCCPMatch{HasOption: true, Option: 5, HasTypes: true, Types: 1},
		&DevGroupMatch{Src: true, SrcMask: 0xff},
		&RealmMatch{Mask: 0xff},
		&CgroupMatch{Path: "/system.slice"},
		&PolicyMatch{None: true},
		&RPFilterMatch{Loose: true},
		&SocketMatch{Transparent: true},
		&NFAcctMatch{},
		&ConnlabelMatch{Bit: 100, Set: true},
		&tm,
	}
	c := matchCtx(mTCP4.decode(t))
	c.CT = CTInfo{Tracked: true, State: StateNew}
	c.LinkHeader = make([]byte, 14)
	c.Origin = Origin{HasSocket: true, HasOwner: true, Groups: []uint32{5}, Bridged: true, PhysIn: "veth1"}
	for _, m := range matches {
		if n := testing.AllocsPerRun(100, func() { m.Match(c) }); n != 0 {
			t.Errorf("%T.Match allocates %v times", m, n)
		}
	}
}

// TestTargetsDoNotAllocate checks the targets that compute per packet
// (hashes, estimators), and the rateest match, which needs one bound.
func TestTargetsDoNotAllocate(t *testing.T) {
	objs := &Objects{}
	rateest := rateestBind[*RATEESTTarget](t, &RATEESTTarget{Estimator: "e", Interval: -2, EWMALog: 2}, objs)
	targets := []Target{
		rateest,
		&HMarkTarget{Flags: HMarkSrcMask | HMarkDstMask | HMarkSportMask | HMarkDportMask, SrcPrefix: 32, DstPrefix: 32, PortMask: ^uint32(0), Mod: 64},
		&HMarkTarget{Flags: HMarkCT | HMarkSrcMask, SrcPrefix: 24, PortMask: ^uint32(0), Mod: 8},
	}
	c := matchCtx(mTCP4.decode(t))
	c.CT = CTInfo{Tracked: true, State: StateNew}
	for _, tg := range targets {
		if n := testing.AllocsPerRun(100, func() { tg.Do(c) }); n != 0 {
			t.Errorf("%T.Do allocates %v times", tg, n)
		}
	}
	// The rateest match is bound to its estimator, so it is checked here.
	m := rateestBind[*RateestMatch](t, &RateestMatch{Est1: "e", Est2: "e", Relative: true, Delta: true, BPS: true, PPS: true, Mode: RateestGT}, objs)
	if n := testing.AllocsPerRun(100, func() { c.Now = c.Now.Add(time.Second); m.Match(c) }); n != 0 {
		t.Errorf("RateestMatch.Match allocates %v times", n)
	}
}
