package iptables

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -m u32 [!] --u32 TESTS (libxt_u32.c). iptables-save prints the tests in
// hexadecimal, without spaces, in double quotes.
func init() {
	type m = filter.U32Match
	declare(&declared[m]{
		name: "u32",
		opts: []declOpt[m]{{name: "u32", invert: true, must: true, set: func(x *m, c *optCall) error {
			tests, err := ParseU32(c.value)
			x.Tests, x.Invert = tests, c.invert
			return err
		}}},
		save: func(w *saver, x *m) { w.opt(x.Invert, "u32", `"`+FormatU32(x.Tests)+`"`) },
	})
}

// ParseU32 reads u32 tests as libxt_u32 does:
//
//	tests    := location "=" value | tests "&&" location "=" value
//	value    := range | value "," range
//	range    := number | number ":" number
//	location := number | location operator number
//	operator := "&" | "<<" | ">>" | "@"
//
// with numbers as C's strtoul reads them (decimal, 0octal, 0xhex) and
// spaces anywhere between tokens. Errors give the position as libxt_u32
// does ("at char N").
func ParseU32(s string) ([]filter.U32Test, error) {
	errAt := func(i int, format string, a ...any) error {
		return fmt.Errorf("%w: u32: at char %d: %s", ErrBadArgument, i, fmt.Sprintf(format, a...))
	}
	number := func(i *int) (uint32, error) {
		v, rest, ok := cStrtoul(s[*i:], 0)
		if trimmed := strings.TrimLeft(s[*i:], " \t\n\v\f\r"); !ok || v > 1<<32-1 || strings.HasPrefix(trimmed, "-") {
			return 0, errAt(*i, "not a number or out of range")
		}
		*i = len(s) - len(rest)
		return uint32(v), nil
	}
	var tests []filter.U32Test
	cur := filter.U32Test{}
	nums, vals := 0, 0
	values := false // reading the value part
	i := 0
	for {
		for i < len(s) && isCSpace(s[i]) {
			i++
		}
		if i == len(s) {
			if !values {
				return nil, fmt.Errorf("%w: u32: abrupt end of input after location specifier", ErrBadArgument)
			}
			if vals == 0 {
				return nil, fmt.Errorf("%w: u32: test ended with no value specified", ErrBadArgument)
			}
			tests = append(tests, cur)
			if len(tests) > filter.U32MaxSize {
				return nil, errAt(i, `too many "&&"s`)
			}
			return tests, nil
		}
		if !values {
			if s[i] == '=' {
				if nums == 0 {
					return nil, errAt(i, "location spec missing")
				}
				i++
				values = true
				continue
			}
			op := filter.U32And
			if nums != 0 {
				switch s[i] {
				case '&':
				case '<', '>':
					op = filter.U32ShiftLeft
					if s[i] == '>' {
						op = filter.U32ShiftRight
					}
					if i+1 >= len(s) || s[i+1] != s[i] {
						return nil, errAt(i+1, "a second '%c' was expected", s[i])
					}
					i++
				case '@':
					op = filter.U32At
				default:
					return nil, errAt(i, "operator expected")
				}
				i++
			}
			v, err := number(&i)
			if err != nil {
				return nil, err
			}
			if nums == 0 {
				cur.Start = v
			} else {
				cur.Steps = append(cur.Steps, filter.U32Step{Op: op, Number: v})
			}
			if nums++; nums > filter.U32MaxSize {
				return nil, errAt(i, "too many operators")
			}
			continue
		}
		if s[i] == '&' {
			if i+1 >= len(s) || s[i+1] != '&' {
				return nil, errAt(i+1, "a second '&' was expected")
			}
			i++
			if vals == 0 {
				return nil, errAt(i, "value spec missing")
			}
			tests = append(tests, cur)
			if len(tests) > filter.U32MaxSize {
				return nil, errAt(i, `too many "&&"s`)
			}
			i++
			cur, nums, vals, values = filter.U32Test{}, 0, 0, false
			continue
		}
		if vals > 0 {
			if s[i] != ',' {
				return nil, errAt(i, `expected "," or "&&"`)
			}
			i++
		}
		lo, err := number(&i)
		if err != nil {
			return nil, err
		}
		for i < len(s) && isCSpace(s[i]) {
			i++
		}
		hi := lo
		if i < len(s) && s[i] == ':' {
			i++
			if hi, err = number(&i); err != nil {
				return nil, err
			}
		}
		cur.Values = append(cur.Values, filter.U32Range{Min: lo, Max: hi})
		if vals++; vals > filter.U32MaxSize {
			return nil, errAt(i, `too many ","s`)
		}
	}
}

// FormatU32 prints tests as iptables-save does.
func FormatU32(tests []filter.U32Test) string {
	var b strings.Builder
	for i, t := range tests {
		if i > 0 {
			b.WriteString("&&")
		}
		fmt.Fprintf(&b, "0x%x", t.Start)
		for _, s := range t.Steps {
			b.WriteString([...]string{filter.U32And: "&", filter.U32ShiftLeft: "<<", filter.U32ShiftRight: ">>", filter.U32At: "@"}[s.Op])
			fmt.Fprintf(&b, "0x%x", s.Number)
		}
		b.WriteByte('=')
		for j, r := range t.Values {
			if j > 0 {
				b.WriteByte(',')
			}
			if r.Min == r.Max {
				fmt.Fprintf(&b, "0x%x", r.Min)
			} else {
				fmt.Fprintf(&b, "0x%x:0x%x", r.Min, r.Max)
			}
		}
	}
	return b.String()
}

func isCSpace(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }
