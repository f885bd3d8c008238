package filter

import (
	"net/netip"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/synproxy"
)

// TestSYNPROXYTargetClassifies: which segments the target answers (a
// SYN, whatever PSH, URG or payload it has: a SYN/ACK back), which it
// takes as a cookie's ACK (a forged one dropped), and which it leaves
// to the next rule (anything with FIN or RST, a SYN/ACK, no flags).
// Outside an engine (no Context.Local) its packets are emitted.
func TestSYNPROXYTargetClassifies(t *testing.T) {
	bound, err := (&SYNPROXYTarget{Info: synproxy.Info{Options: synproxy.OptMSS, MSS: 1400}}).Bind(&Binding{objs: &Objects{}})
	if err != nil {
		t.Fatal(err)
	}
	tg := bound.(*SYNPROXYTarget)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		flags   string
		payload string
		want    Action
		sends   bool
	}{
		{"S", "", Stolen, true},
		{"SU", "", Stolen, true},
		{"SP", "data in a SYN", Stolen, true},
		{"SEC", "", Stolen, true},
		{"A", "", Drop, false}, // no cookie of ours
		{"PA", "x", Drop, false},
		{"SA", "", Continue, false},
		{"SF", "", Continue, false},
		{"SR", "", Continue, false},
		{"FA", "", Continue, false},
		{"R", "", Continue, false},
		{"", "", Continue, false},
	} {
		b := testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Proto: "tcp",
			SrcPort: 40000, DstPort: 80, Flags: tt.flags, Seq: 1, Ack: 2, MSS: 1460, Payload: []byte(tt.payload)})
		var p packet.Packet
		p.Decode(b)
		c := &Context{Packet: &p, Hook: Forward, Now: now}
		v := tg.Do(c)
		if v.Action != tt.want || (len(c.Effects) == 1) != tt.sends {
			t.Errorf("flags %q: %v with %d packets sent, want %v (sends %v)", tt.flags, v.Action, len(c.Effects), tt.want, tt.sends)
			continue
		}
		if tt.sends {
			var sa packet.Packet
			sa.Decode(c.Effects[0].Packet)
			if sa.TCPFlags&(packet.TCPSyn|packet.TCPAck) != packet.TCPSyn|packet.TCPAck || sa.Ack != 2 || !sa.TCPOptions.HasMSS || sa.TCPOptions.MSS != 1400 || sa.PayloadOff != sa.Length {
				t.Errorf("flags %q: answer flags %#x ack %d options %+v, payload %d bytes", tt.flags, sa.TCPFlags, sa.Ack, sa.TCPOptions, sa.Length-sa.PayloadOff)
			}
		}
	}
	if st := tg.Proxy().Stats(); st.SYNReceived != 4 || st.CookieInvalid != 2 {
		t.Errorf("counters %+v, want 4 SYNs and 2 bad cookies", st)
	}
	// An unbound target has no keys: it drops.
	var p packet.Packet
	p.Decode(testpkt.Build(testpkt.Spec{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Proto: "tcp", SrcPort: 1, DstPort: 2, Flags: "S"}))
	if v := (&SYNPROXYTarget{}).Do(&Context{Packet: &p, Now: now}); v.Action != Drop {
		t.Errorf("unbound: %v, want DROP", v.Action)
	}
}
