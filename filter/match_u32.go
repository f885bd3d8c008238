package filter

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// U32MaxSize is XT_U32_MAXSIZE: iptables takes at most this many tests
// in a u32 match, numbers in a test's location and ranges in its value.
const U32MaxSize = 10

// U32Op is an operator of a u32 location (XT_U32_AND … XT_U32_AT).
type U32Op uint8

// The u32 operators.
const (
	U32And        U32Op = iota // "&": mask the value
	U32ShiftLeft               // "<<"
	U32ShiftRight              // ">>"
	U32At                      // "@": move the base by the value, read at the number
)

// U32Step is one "operator number" of a location after its first number.
type U32Step struct {
	Op     U32Op
	Number uint32
}

// U32Range is one value range of a test, Min to Max inclusive.
type U32Range struct{ Min, Max uint32 }

// U32Test is one test: read 4 bytes (big-endian) at Start from the
// network header, apply Steps, and compare with the ranges.
type U32Test struct {
	Start  uint32
	Steps  []U32Step
	Values []U32Range
}

// U32Match is -m u32 (xt_u32.c): every test holds, or none if Invert.
// A read that would leave the packet makes the test, and so the match,
// fail (inverted: succeed), as in the kernel.
type U32Match struct {
	Tests  []U32Test
	Invert bool
}

// Name returns "u32".
func (*U32Match) Name() string { return "u32" }

// ErrU32Invalid is CheckRule's error for a u32 match the kernel refuses
// (EINVAL).
var ErrU32Invalid = errors.New("u32: invalid argument")

// CheckRule refuses what u32_mt_checkentry refuses: more tests, numbers
// or ranges than its arrays hold (U32MaxSize+1), and a shift by 32 or
// more.
func (m *U32Match) CheckRule(_ *Rule, _ Site) error {
	if len(m.Tests) > U32MaxSize+1 {
		return fmt.Errorf("%w: %d tests", ErrU32Invalid, len(m.Tests))
	}
	for _, t := range m.Tests {
		if len(t.Steps)+1 > U32MaxSize+1 || len(t.Values) > U32MaxSize+1 {
			return fmt.Errorf("%w: a test with %d numbers and %d ranges", ErrU32Invalid, len(t.Steps)+1, len(t.Values))
		}
		for _, st := range t.Steps {
			if (st.Op == U32ShiftLeft || st.Op == U32ShiftRight) && st.Number > 31 {
				return fmt.Errorf("%w: a shift by %d", ErrU32Invalid, st.Number)
			}
		}
	}
	return nil
}

// Match runs the tests on the packet's bytes.
func (m *U32Match) Match(c *Context) bool {
	return u32Run(m.Tests, c.Packet.Bytes()) != m.Invert
}

// u32Run is u32_match_it.
func u32Run(tests []U32Test, b []byte) bool {
	n := uint32(len(b))
	for i := range tests {
		t := &tests[i]
		pos := t.Start
		if n < 4 || pos > n-4 {
			return false
		}
		val := binary.BigEndian.Uint32(b[pos:])
		at := uint32(0)
		for _, s := range t.Steps {
			switch s.Op {
			case U32And:
				val &= s.Number
			case U32ShiftLeft:
				val <<= s.Number & 31 // CheckRule refuses 32 and more
			case U32ShiftRight:
				val >>= s.Number & 31
			case U32At:
				if at+val < at {
					return false
				}
				at += val
				pos = s.Number
				if at+4 < at || n < at+4 || pos > n-at-4 {
					return false
				}
				val = binary.BigEndian.Uint32(b[at+pos:])
			}
		}
		ok := false
		for _, r := range t.Values {
			if r.Min <= val && val <= r.Max {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
