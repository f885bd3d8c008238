package conntrack

import "testing"

func TestLabelsFollowTheConnection(t *testing.T) {
	tb := NewTable(Config{})
	sub := tb.Subscribe(16)
	defer sub.Close()
	var r Result
	tb.In(&r, pkt(t, udp("10.0.0.1", "10.0.0.2", 1000, 53)), 0, t0, true)
	// Labels given before the connection is confirmed go in with it.
	if !tb.SetLabel(&r, 3, t0) || tb.SetLabel(&r, 3, t0) {
		t.Error("SetLabel on a new connection: want true, then false")
	}
	if !tb.Confirm(&r) {
		t.Fatal("confirm failed")
	}
	drain(sub)
	r = step(t, tb, pkt(t, udp("10.0.0.2", "10.0.0.1", 53, 1000)), t0)
	if l, ok := tb.Labels(&r); !ok || l != [2]uint64{1 << 3} {
		t.Errorf("the reply's connection has labels %x, %v; want label 3", l, ok)
	}
	drain(sub)
	// A stored connection's new label is one UPDATE; an old one none.
	if !tb.SetLabel(&r, 127, t0) {
		t.Error("SetLabel 127: want true")
	}
	if tb.SetLabel(&r, 127, t0) || tb.SetLabel(&r, LabelBits, t0) {
		t.Error("SetLabel of a label set or past the last: want false")
	}
	if evs := drain(sub); len(evs) != 1 || evs[0].Type != EventUpdate || evs[0].Conn.Labels != [2]uint64{1 << 3, 1 << 63} {
		t.Errorf("events %v, want one UPDATE with labels 3 and 127", evs)
	}
	var conns []Conn
	for c := range tb.All(t0) {
		conns = append(conns, c)
	}
	if len(conns) != 1 || conns[0].Labels != [2]uint64{1 << 3, 1 << 63} {
		t.Errorf("listed %+v, want one connection with labels 3 and 127", conns)
	}
	// A packet without a connection has none.
	var u Result
	if _, ok := tb.Labels(&u); ok {
		t.Error("Labels of an untracked packet: want none")
	}
}
