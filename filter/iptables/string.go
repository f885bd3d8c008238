//lint:file-ignore ST1005 the messages are libxt_string's, word for word

package iptables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// stringAlgoLen is XT_STRING_MAX_ALGO_NAME_SIZE: a longer name is cut.
const stringAlgoLen = 16

// -m string (libxt_string.c, revision 1): --algo (required), --string or
// --hex-string (either inverted), --from, --to and --icase.
// iptables-save prints the pattern as --string "…" when every byte is
// printable and the last is not a backslash, and as --hex-string "|…|"
// otherwise, then --algo, --from and --to when not the defaults, and
// --icase.
func init() {
	type m = filter.StringMatch
	declare(&declared[m]{
		name: "string",
		init: func(x *m) { x.To = 65535 },
		opts: []declOpt[m]{
			{name: "from", set: setUint(func(x *m) *uint16 { return &x.From }, 0, 65535, nil)},
			{name: "to", set: setUint(func(x *m) *uint16 { return &x.To }, 0, 65535, nil)},
			{name: "algo", must: true, set: func(x *m, c *optCall) error {
				x.Algo = c.value
				if len(x.Algo) >= stringAlgoLen {
					x.Algo = x.Algo[:stringAlgoLen-1]
				}
				return nil
			}},
			{name: "string", invert: true, excl: []string{"hex-string"}, set: func(x *m, c *optCall) error {
				if len(c.value) > filter.StringMaxPattern {
					return fmt.Errorf("%w: STRING too long \"%s\"", ErrBadArgument, c.value)
				}
				x.Pattern, x.Invert = []byte(c.value), c.invert
				return nil
			}},
			{name: "hex-string", invert: true, excl: []string{"string"}, set: func(x *m, c *optCall) error {
				p, err := parseHexString(c.value)
				x.Pattern, x.Invert = p, c.invert
				return err
			}},
			{name: "icase", flag: true, set: func(x *m, _ *optCall) error { x.ICase = true; return nil }},
		},
		check: func(x *m, seen optSet, _ *ruleContext) error {
			if !seen.has(3) && !seen.has(4) {
				return fmt.Errorf("%w: STRING match: You must specify `--string' or `--hex-string'", ErrSyntax)
			}
			return nil
		},
		save: func(w *saver, x *m) {
			if x.Invert {
				w.WriteString(" !")
			}
			if stringNeedsHex(x.Pattern) {
				w.opt(false, "hex-string", fmt.Sprintf(`"|%x|"`, x.Pattern))
			} else {
				var b strings.Builder
				b.WriteByte('"')
				for _, c := range x.Pattern {
					if c == '"' || c == '\\' {
						b.WriteByte('\\')
					}
					b.WriteByte(c)
				}
				b.WriteByte('"')
				w.opt(false, "string", b.String())
			}
			w.opt(false, "algo", x.Algo)
			if x.From != 0 {
				w.opt(false, "from", strconv.Itoa(int(x.From)))
			}
			if x.To != 65535 {
				w.opt(false, "to", strconv.Itoa(int(x.To)))
			}
			if x.ICase {
				w.opt(false, "icase", "")
			}
		},
	})
}

// stringNeedsHex is is_hex_string: a byte outside the printable ASCII
// range, or a backslash at the end.
func stringNeedsHex(p []byte) bool {
	for _, c := range p {
		if c < 0x20 || c > 0x7e {
			return true
		}
	}
	return len(p) > 0 && p[len(p)-1] == '\\'
}

// parseHexString reads --hex-string's argument as parse_hex_string does:
// bytes outside "|…|" blocks are taken as they are, a backslash takes
// the next byte literally, and inside a block pairs of hex digits, which
// a space may follow, are bytes.
func parseHexString(s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: STRING must contain at least one char", ErrBadArgument)
	}
	at := func(i int) byte { // C's string, NUL-terminated
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	var p []byte
	hex, literal := false, false
	for i := 0; i < len(s); {
		if len(p) >= filter.StringMaxPattern {
			return nil, fmt.Errorf("%w: STRING too long \"%s\"", ErrBadArgument, s)
		}
		switch {
		case s[i] == '\\' && !hex:
			literal = true
		case s[i] == '\\':
			return nil, fmt.Errorf("%w: Cannot include literals in hex data", ErrBadArgument)
		case s[i] == '|':
			if hex {
				hex = false
			} else {
				hex = true
				for at(i+1) == ' ' {
					i++
				}
			}
			if i+1 >= len(s) {
				return p, nil
			}
			i++
		}
		switch {
		case literal:
			if i+1 >= len(s) {
				return nil, fmt.Errorf("%w: Bad literal placement at end of string", ErrBadArgument)
			}
			p = append(p, s[i+1])
			i += 2
			literal = false
		case hex:
			if i+1 >= len(s) {
				return nil, fmt.Errorf("%w: Odd number of hex digits", ErrBadArgument)
			}
			if i+2 >= len(s) {
				return nil, fmt.Errorf("%w: Invalid hex block", ErrBadArgument)
			}
			hi, ok1 := hexDigit(s[i])
			if !ok1 {
				return nil, fmt.Errorf("%w: Invalid hex char '%c'", ErrBadArgument, s[i])
			}
			lo, ok2 := hexDigit(s[i+1])
			if !ok2 {
				return nil, fmt.Errorf("%w: Invalid hex char '%c'", ErrBadArgument, s[i+1])
			}
			p = append(p, hi<<4|lo)
			if at(i+2) == ' ' {
				i += 3
			} else {
				i += 2
			}
		default:
			p = append(p, s[i])
			i++
		}
	}
	return p, nil
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
