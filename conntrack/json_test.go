package conntrack

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/testpkt"
)

func TestConnJSON(t *testing.T) {
	tcp := established(t)
	icmp := NewTable(Config{})
	step(t, icmp, pkt(t, testpkt.Spec{Src: a("2001:db8::1"), Dst: a("2001:db8::2"), Proto: "icmp", ICMPType: 128, ICMPID: 7}), t0)
	tests := []struct {
		name string
		tb   *Table
		want string
	}{
		{"tcp", tcp, `{"family":"ipv4","proto":"tcp","proto_num":6,"state":"ESTABLISHED","timeout":431999,` +
			`"status":["SEEN_REPLY","ASSURED","CONFIRMED"],` +
			`"orig":{"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80},` +
			`"reply":{"src":"10.0.0.2","dst":"10.0.0.1","sport":80,"dport":40000},"mark":0,"zone":0,` +
			`"counters":{"orig":{"packets":3,"bytes":220},"reply":{"packets":2,"bytes":80}}}`},
		{"icmpv6", icmp, `{"family":"ipv6","proto":"icmpv6","proto_num":58,"timeout":29,"status":["CONFIRMED"],` +
			`"orig":{"src":"2001:db8::1","dst":"2001:db8::2","type":128,"code":0,"id":7},` +
			`"reply":{"src":"2001:db8::2","dst":"2001:db8::1","type":129,"code":0,"id":7},"mark":0,"zone":0,` +
			`"counters":{"orig":{"packets":1,"bytes":48},"reply":{"packets":0,"bytes":0}}}`},
	}
	for _, tt := range tests {
		c := only(t, tt.tb, t0.Add(time.Second))
		got, err := json.Marshal(c)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: got %s, %v\nwant %s", tt.name, got, err, tt.want)
		}
	}
}

func TestConnJSONLabelsAreHex(t *testing.T) {
	c := Conn{Labels: [2]uint64{1 << 3, 1}}
	var got struct{ Labels string }
	b, _ := json.Marshal(c)
	if err := json.Unmarshal(b, &got); err != nil || got.Labels != "0x00000000000000010000000000000008" {
		t.Errorf("labels %q, %v; want label 3 and label 64 set", got.Labels, err)
	}
}
