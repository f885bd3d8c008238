//lint:file-ignore ST1005 the messages are libxt_connlabel's and libnetfilter_conntrack's own, word for word

package iptables

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// DefaultConnLabelsPath is where iptables (through libnetfilter_conntrack)
// looks for the names of connection labels.
const DefaultConnLabelsPath = "/etc/xtables/connlabel.conf"

// ConnLabels are the names of connection labels, as connlabel.conf gives
// them: -m connlabel --label takes a name or a number, and iptables-save
// prints a label by its name when it has one. The zero value and nil
// have no names.
type ConnLabels struct {
	bits  map[string]uint16
	names []string // by bit; "" for none
}

// ErrNoLabels is ParseConnLabels's error for a file with no usable line.
var ErrNoLabels = errors.New("no labels found")

// connLabelsMaxBit bounds the numbers a file may give (libnetfilter_conntrack's MAX_BITS).
const connLabelsMaxBit = 1024

// ParseConnLabels reads a connlabel.conf as libnetfilter_conntrack does:
// each line is a number (decimal, 0x hex or 0 octal, below 1024) and a
// name of letters, digits, '-' and spaces, blanks around it trimmed; a
// line starting with '#', a bad line, a number or a name given before,
// is passed over. A file with no good line is refused (ErrNoLabels), as
// iptables refuses it when it needs a name.
func ParseConnLabels(r io.Reader) (*ConnLabels, error) {
	l := &ConnLabels{bits: map[string]uint16{}}
	seen := map[uint64]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		v, rest, ok := cStrtoul(line, 0)
		if !ok || v >= connLabelsMaxBit || seen[v] {
			continue
		}
		name := strings.Trim(rest, " \f\r\t\v")
		if name == "" || !saneLabel(name) {
			continue
		}
		if _, dup := l.bits[name]; dup {
			continue
		}
		seen[v] = true
		l.bits[name] = uint16(v)
		for len(l.names) <= int(v) {
			l.names = append(l.names, "")
		}
		l.names[v] = name
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(l.bits) == 0 {
		return nil, ErrNoLabels
	}
	return l, nil
}

// LoadConnLabels reads the file at path (DefaultConnLabelsPath, say).
func LoadConnLabels(path string) (*ConnLabels, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l, err := ParseConnLabels(f)
	if err != nil {
		return nil, fmt.Errorf("cannot parse %s: %w", path, err)
	}
	return l, nil
}

// saneLabel is label_is_sane: ASCII letters, digits, spaces and '-'.
func saneLabel(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' || c == '-') {
			return false
		}
	}
	return true
}

// Bit returns the label called name.
func (l *ConnLabels) Bit(name string) (uint16, bool) {
	if l == nil {
		return 0, false
	}
	b, ok := l.bits[name]
	return b, ok
}

// Name returns the name of label bit, if it has one.
func (l *ConnLabels) Name(bit uint16) (string, bool) {
	if l == nil || int(bit) >= len(l.names) || l.names[bit] == "" {
		return "", false
	}
	return l.names[bit], true
}

// -m connlabel (libxt_connlabel.c): [!] --label NAME|NUMBER, mandatory,
// and --set. A number is strtoul's, any size, taken as C's int: one that
// comes out negative is looked up as a name. The kernel refuses a label
// past 127 (ERANGE). iptables-save prints the label's name if the file
// has one, else its number, in double quotes either way.
func init() {
	type m = filter.ConnlabelMatch
	declare(&declared[m]{
		name: "connlabel",
		opts: []declOpt[m]{
			{name: "label", invert: true, must: true, set: func(x *m, c *optCall) error {
				if c.value == "" {
					return fmt.Errorf("%w: Argument must have a minimum length of 1 characters", ErrBadArgument)
				}
				v, rest, ok := cStrtoul(c.value, 0)
				if !ok && rest != c.value {
					v = math.MaxUint64 // strtoul's ERANGE
				}
				bit := int32(v)
				if rest != "" || bit < 0 {
					b, ok := c.rc.labels.Bit(c.value)
					if !ok {
						return fmt.Errorf("%w: label '%s' not found or invalid value", ErrBadArgument, c.value)
					}
					bit = int32(b)
				}
				x.Bit, x.Invert = uint16(bit), c.invert
				return nil
			}},
			{name: "set", flag: true, set: func(x *m, _ *optCall) error { x.Set = true; return nil }},
		},
		save: func(w *saver, x *m) {
			label, ok := w.labels.Name(x.Bit)
			if !ok {
				label = strconv.Itoa(int(x.Bit))
			}
			w.opt(x.Invert, "label", `"`+label+`"`)
			if x.Set {
				w.opt(false, "set", "")
			}
		},
	})
}
