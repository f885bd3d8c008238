package filter

import (
	"bytes"
	"testing"
)

func TestNFLogEmitsACopyAndContinues(t *testing.T) {
	p := mUDP4.decode(t)
	c := matchCtx(p)
	tg := &NFLogTarget{Group: 3, Prefix: "drop ", HasPrefix: true, Size: 10, HasSize: true}
	if v := tg.Do(c); v.Action != Continue {
		t.Fatalf("NFLOG: %v, want it to continue", v.Action)
	}
	if len(c.Effects) != 1 {
		t.Fatalf("%d effects, want 1", len(c.Effects))
	}
	e := c.Effects[0]
	if e.Kind != EffectNFLog || e.Group != 3 || e.Text != "drop " || !bytes.Equal(e.Packet, p.Bytes()[:10]) {
		t.Errorf("effect %+v, want group 3, prefix %q and the packet's first 10 bytes", e, "drop ")
	}
	p.Bytes()[0] = 0
	if e.Packet[0] == 0 {
		t.Error("the logged packet shares the packet's storage")
	}
}
