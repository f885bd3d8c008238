package iptables

import (
	"errors"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/internal/kernel"
	"github.com/nfgo/nfgo/packet"
)

// connlabelConf is a connlabel.conf with the lines libnetfilter_conntrack
// takes and those it passes over: a comment, an octal and a hex number,
// a name with spaces, an insane name, a name or a number given twice,
// numbers out of range, a number glued to its name.
const connlabelConf = "# labels\n0 zero\n1\tone two \n2 bad;name\n3 one two\n0x10 hex\n010 oct\n5\n1 dup\n7 -x-\n2000 big\n-1 neg\n 8 lead\n12x glued\n0x 0xonly\n"

// TestConnLabelsReadAsIptablesReadsThem loads rules naming labels with a
// connlabel.conf in place, into the real iptables and into nfgo: both
// must take and refuse the same rules and print the same.
func TestConnLabelsReadAsIptablesReadsThem(t *testing.T) {
	labels, err := ParseConnLabels(strings.NewReader(connlabelConf))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		bit  uint16
		ok   bool
	}{
		{"zero", 0, true}, {"one two", 1, true}, {"hex", 16, true}, {"oct", 8, true}, {"-x-", 7, true},
		{"x glued", 12, true}, {"x 0xonly", 0, false}, {"lead", 0, false}, {"bad;name", 0, false}, {"dup", 0, false}, {"big", 0, false},
	} {
		if bit, ok := labels.Bit(tt.name); ok != tt.ok || ok && bit != tt.bit {
			t.Errorf("Bit(%q) = %d, %v; want %d, %v", tt.name, bit, ok, tt.bit, tt.ok)
		}
	}
	kernel.Require(t, "iptables-restore", "mount")
	rules := []string{
		`-m connlabel --label zero`, `-m connlabel --label "one two"`, `-m connlabel ! --label hex --set`,
		`-m connlabel --label oct`, `-m connlabel --label 16`, `-m connlabel --label 3`, `-m connlabel --label 100`,
		`-m connlabel --label 4294967297`, `-m connlabel --label "x glued"`,
		`-m connlabel --label lead`, `-m connlabel --label bad`, `-m connlabel --label 128`,
		`-m connlabel --label 99999999999999999999999`, `-m connlabel --label ""`, `-m connlabel --label -1`,
	}
	for _, rule := range rules {
		doc := "*filter\n-A INPUT " + rule + "\nCOMMIT\n"
		kout, kerr := kernel.ShellWithEtc(map[string][]byte{DefaultConnLabelsPath: []byte(connlabelConf)}, "iptables-restore && iptables-save", []byte(doc))
		var ours strings.Builder
		rs, nerr := parseWithLabels(doc, labels)
		if nerr == nil {
			nerr = Write(&ours, rs, WriteOptions{ConnLabels: labels})
		}
		switch {
		case (kerr == nil) != (nerr == nil):
			t.Errorf("%s: iptables: %v, nfgo: %v", rule, kerr, nerr)
		case kerr == nil && strings.Join(savedRules(string(kout)), "\n") != strings.Join(savedRules(ours.String()), "\n"):
			t.Errorf("%s: iptables saved %q, nfgo %q", rule, savedRules(string(kout)), savedRules(ours.String()))
		}
	}
}

// parseWithLabels reads and compiles doc as nfgo load does, with labels.
func parseWithLabels(doc string, labels *ConnLabels) (*filter.Ruleset, error) {
	rs := filter.NewRuleset(packet.IPv4)
	if err := Read(strings.NewReader(doc), rs, ReadOptions{ConnLabels: labels}); err != nil {
		return nil, err
	}
	_, err := filter.CompileWith(rs, &filter.Objects{})
	return rs, err
}

func TestParseConnLabelsRefusesAFileWithoutLabels(t *testing.T) {
	for _, conf := range []string{"", "# nothing\n", "5\nx y\n2000 big\n"} {
		if _, err := ParseConnLabels(strings.NewReader(conf)); !errors.Is(err, ErrNoLabels) {
			t.Errorf("%q: %v, want ErrNoLabels", conf, err)
		}
	}
}
