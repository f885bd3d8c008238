package filter

import "testing"

var (
	ctNew         = CTInfo{Tracked: true, State: StateNew}
	ctEstablished = CTInfo{Tracked: true, State: StateEstablished, Status: StatusSeenReply | StatusAssured, Mark: 7}
	ctReply       = CTInfo{Tracked: true, State: StateEstablished, Reply: true, Status: StatusSrcNAT}
	ctInvalid     = CTInfo{Tracked: true, State: StateInvalid}
	ctNotrack     = CTInfo{Tracked: true, State: StateUntracked}
	ctRelatedFTP  = CTInfo{Tracked: true, State: StateRelated, Status: StatusExpected, Helper: "ftp"}
)

func TestStateMatchClassifiesPackets(t *testing.T) {
	tests := []struct {
		name string
		m    StateMatch
		ct   CTInfo
		want bool
	}{
		{"zero CTInfo is untracked", StateMatch{States: StateUntracked}, CTInfo{}, true},
		{"zero CTInfo is not invalid", StateMatch{States: StateInvalid}, CTInfo{}, false},
		{"NOTRACK is untracked", StateMatch{States: StateUntracked}, ctNotrack, true},
		{"new", StateMatch{States: StateNew}, ctNew, true},
		{"established,related", StateMatch{States: StateEstablished | StateRelated}, ctEstablished, true},
		{"related", StateMatch{States: StateEstablished | StateRelated}, ctRelatedFTP, true},
		{"invalid", StateMatch{States: StateInvalid}, ctInvalid, true},
		{"! new on established", StateMatch{States: StateNew, Invert: true}, ctEstablished, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := matchCtx(mTCP4.decode(t))
			c.CT = tt.ct
			if got := tt.m.Match(c); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConntrackMatchConditions(t *testing.T) {
	tests := []struct {
		name string
		m    ConntrackMatch
		ct   CTInfo
		want bool
	}{
		{"ctstate new", ConntrackMatch{Flags: CTMatchState, States: StateNew}, ctNew, true},
		{"ctstate SNAT from status", ConntrackMatch{Flags: CTMatchState, States: StateSNAT}, ctReply, true},
		{"! ctstate INVALID on established", ConntrackMatch{Flags: CTMatchState, Invert: CTMatchState, States: StateInvalid}, ctEstablished, true},
		{"untracked with only ctstatus does not match", ConntrackMatch{Flags: CTMatchStatus, Status: StatusAssured}, CTInfo{}, false},
		{"invalid with ctstate INVALID and ctstatus", ConntrackMatch{Flags: CTMatchState | CTMatchStatus, States: StateInvalid, Status: StatusAssured}, ctInvalid, true},
		{"ctstatus ASSURED", ConntrackMatch{Flags: CTMatchStatus, Status: StatusAssured}, ctEstablished, true},
		{"! ctstatus ASSURED", ConntrackMatch{Flags: CTMatchStatus, Invert: CTMatchStatus, Status: StatusAssured}, ctEstablished, false},
		{"ctdir ORIGINAL on original", ConntrackMatch{Flags: CTMatchDirection}, ctEstablished, true},
		{"ctdir ORIGINAL on reply", ConntrackMatch{Flags: CTMatchDirection}, ctReply, false},
		{"ctdir REPLY on reply", ConntrackMatch{Flags: CTMatchDirection, Reply: true}, ctReply, true},
		{"ctproto cannot be known yet", ConntrackMatch{Flags: CTMatchProto, Proto: 6}, ctEstablished, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := matchCtx(mTCP4.decode(t))
			c.CT = tt.ct
			if got := tt.m.Match(c); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConnmarkHelperAndConnlimitNeedAConnection(t *testing.T) {
	tests := []struct {
		name string
		m    Match
		ct   CTInfo
		want bool
	}{
		{"connmark", &ConnmarkMatch{Mark: 7, Mask: 0xFFFFFFFF}, ctEstablished, true},
		{"connmark untracked, even inverted", &ConnmarkMatch{Mark: 7, Mask: 0xFFFFFFFF, Invert: true}, CTInfo{}, false},
		{"helper ftp on an expected connection", &HelperMatch{Helper: "ftp"}, ctRelatedFTP, true},
		{"helper compares only the helper's length", &HelperMatch{Helper: "ftp-21"}, ctRelatedFTP, true},
		{"helper sip", &HelperMatch{Helper: "sip"}, ctRelatedFTP, false},
		{"empty helper matches any", &HelperMatch{}, ctRelatedFTP, true},
		{"helper on a master connection", &HelperMatch{Helper: "ftp"}, CTInfo{Tracked: true, State: StateEstablished, Helper: "ftp"}, false},
		{"! helper without conntrack", &HelperMatch{Helper: "ftp", Invert: true}, CTInfo{}, true},
		{"connlimit always false for now", &ConnlimitMatch{Limit: 0, Upto: true}, ctNew, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := matchCtx(mTCP4.decode(t))
			c.CT = tt.ct
			if got := tt.m.Match(c); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}
