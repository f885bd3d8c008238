package iptables

import (
	"reflect"
	"testing"
)

// FuzzParseBPF: what libxt_bpf's syntax accepts prints back to text that
// reads back to the same program.
func FuzzParseBPF(f *testing.F) {
	f.Add("4,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0")
	f.Add("1, 6 0 0 -1")
	f.Add("2,6 0 0 0")
	f.Fuzz(func(t *testing.T, s string) {
		prog, err := ParseBPF(s)
		if err != nil {
			return
		}
		again, err := ParseBPF(FormatBPF(prog))
		if err != nil || !reflect.DeepEqual(again, prog) {
			t.Fatalf("%q printed as %q reads back as %v, %v", s, FormatBPF(prog), again, err)
		}
	})
}
