package iptables

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// TestU32ErrorsAreLibxtU32s: the messages and positions iptables 1.8.9
// prints for malformed tests.
func TestU32ErrorsAreLibxtU32s(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "u32: abrupt end of input after location specifier"},
		{"0=", "u32: test ended with no value specified"},
		{"=5", "u32: at char 0: location spec missing"},
		{"0<5=1", "u32: at char 2: a second '<' was expected"},
		{"0 & 1 = 1 &", "u32: at char 11: a second '&' was expected"},
		{"0=1 2", `u32: at char 4: expected "," or "&&"`},
		{"0=-1", "u32: at char 2: not a number or out of range"},
		{"0=4294967296", "u32: at char 2: not a number or out of range"},
		{"0&1&1&1&1&1&1&1&1&1&1=1", "u32: at char 21: too many operators"},
		{"0=1,2,3,4,5,6,7,8,9,10,11", `u32: at char 25: too many ","s`},
		{"0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1&&0=1", `u32: at char 53: too many "&&"s`},
		{"0=1 &&", "u32: abrupt end of input after location specifier"},
		{"0x = 1", "u32: at char 1: operator expected"},
	} {
		_, err := ParseU32(tt.in)
		if err == nil || !strings.HasSuffix(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestU32Parse(t *testing.T) {
	got, err := ParseU32(" 0 >> 28 = 4 && 8 & 0xFF0000 >> 16 = 6 , 17:20")
	want := []filter.U32Test{
		{Start: 0, Steps: []filter.U32Step{{Op: filter.U32ShiftRight, Number: 28}}, Values: []filter.U32Range{{Min: 4, Max: 4}}},
		{Start: 8, Steps: []filter.U32Step{{Op: filter.U32And, Number: 0xff0000}, {Op: filter.U32ShiftRight, Number: 16}}, Values: []filter.U32Range{{Min: 6, Max: 6}, {Min: 17, Max: 20}}},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v\nwant %+v", got, err, want)
	}
}

// FuzzU32 parses any test string, and what parses must print back to a
// string that parses to the same tests, and run on any packet without
// panicking.
func FuzzU32(f *testing.F) {
	f.Add("0>>22&0x3C@12>>26&0x3C@0=0x2", []byte{0x45, 0, 0, 20})
	f.Add("0 >> 28 = 4 && 8 & 0xFF0000 >> 16 = 6,17", make([]byte, 40))
	f.Add("0@4294967295=0", make([]byte, 8))
	f.Add("6&0xFF=1:5,10&&0@0@0=0", []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, expr string, pkt []byte) {
		tests, err := ParseU32(expr)
		if err != nil {
			return
		}
		again, err := ParseU32(FormatU32(tests))
		if err != nil || !reflect.DeepEqual(again, tests) {
			t.Fatalf("%q printed as %q reads back as %+v, %v", expr, FormatU32(tests), again, err)
		}
		m := &filter.U32Match{Tests: tests}
		if m.CheckRule(nil, filter.Site{}) != nil {
			return
		}
		var p packet.Packet
		p.Decode(pkt)
		if p.Length == 0 {
			return
		}
		m.Match(&filter.Context{Packet: &p})
	})
}
