package filter

import (
	"fmt"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// A table with many chains finds them by name through an index, which
// must follow every edit: chains made, deleted, renamed, and a clone's.
func TestChainLookupFollowsEdits(t *testing.T) {
	rs := NewRuleset(packet.IPv4)
	rs.EnsureTable(Filter)
	for i := range 100 {
		if err := rs.NewChain(Filter, fmt.Sprintf("c%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	tb := rs.Table(Filter)
	for _, name := range []string{"c0", "c99", "INPUT"} {
		if c := tb.Chain(name); c == nil || c.Name != name {
			t.Errorf("Chain(%q) = %v", name, c)
		}
	}
	if err := rs.NewChain(Filter, "c50"); err == nil {
		t.Error("a second c50 was made")
	}
	if err := rs.DeleteChain(Filter, "c10"); err != nil {
		t.Fatal(err)
	}
	if err := rs.NewChain(Filter, "new"); err != nil {
		t.Fatal(err)
	}
	if err := rs.RenameChain(Filter, "c20", "renamed"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"c10": false, "new": true, "c20": false, "renamed": true, "c21": true} {
		if got := tb.Chain(name) != nil; got != want {
			t.Errorf("after the edits, Chain(%q) found %v, want %v", name, got, want)
		}
	}
	cl := rs.Clone()
	if err := cl.NewChain(Filter, "only-in-clone"); err != nil {
		t.Fatal(err)
	}
	if tb.Chain("only-in-clone") != nil || cl.Table(Filter).Chain("only-in-clone") == nil || cl.Table(Filter).Chain("renamed") == nil {
		t.Error("a clone's chains leak into, or miss, the original's")
	}
}
