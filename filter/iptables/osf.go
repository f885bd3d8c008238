//lint:file-ignore ST1005 the messages are xtables' and nfnl_osf's own, word for word

package iptables

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -m osf [!] --genre NAME [--ttl 0-2] [--log 0-2] (libxt_osf.c), for
// IPv4. A genre of 32 bytes or more is cut to 31, as xtopt cuts it.
func init() {
	type m = filter.OSFMatch
	declare(&declared[m]{
		name:   "osf",
		family: packet.IPv4,
		opts: []declOpt[m]{
			{name: "genre", must: true, invert: true, set: func(x *m, c *optCall) error {
				x.Genre = c.value[:min(len(c.value), filter.OSFGenreLen-1)]
				x.Invert = c.invert
				return nil
			}},
			{name: "ttl", set: func(x *m, c *optCall) error {
				x.HasTTL = true
				return setUint(func(x *m) *uint8 { return &x.TTL }, 0, 2, nil)(x, c)
			}},
			{name: "log", set: func(x *m, c *optCall) error {
				x.Log = true
				return setUint(func(x *m) *uint8 { return &x.LogLevel }, 0, 2, nil)(x, c)
			}},
		},
		save: func(w *saver, x *m) {
			w.opt(x.Invert, "genre", x.Genre)
			if x.HasTTL {
				w.opt(false, "ttl", strconv.Itoa(int(x.TTL)))
			}
			if x.Log {
				w.opt(false, "log", strconv.Itoa(int(x.LogLevel)))
			}
		},
	})
}

// DefaultOSFPath is where iptables' sources keep the fingerprints that
// nfnl_osf -f loads; distributions that ship them put them here.
const DefaultOSFPath = "/usr/share/xtables/pf.os"

// OSFLineError is a fingerprint line nfnl_osf or the kernel refuses.
type OSFLineError struct {
	Line int
	Err  error
}

func (e *OSFLineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *OSFLineError) Unwrap() error { return e.Err }

// ErrOSFLine is the error of a line without the 8 colons of its 9
// fields.
var ErrOSFLine = errors.New("wrong input line")

// ParseOSFingerprints reads a fingerprint file (pf.os) as nfnl_osf -f
// reads it, giving the fingerprints it would load, in order. Each line
// is window:ttl:df:size:options:genre:version:subtype:description; a
// line starting with '#' or empty is passed over; blanks after a colon
// are skipped; the description is not loaded; unknown option letters
// are passed over. The window is a number, '*' (any), %N (a multiple
// of N), SN (N times the MSS) or TN (N times the MTU); the options are
// N (NOP), S (SACK permitted), T (timestamps), WN (window scale), MN
// (MSS) and E (end of list), separated by commas. A genre's leading '@'
// or '*' is dropped, and names are cut to 31 bytes.
//
// nfnl_osf reports a bad line and goes on with the next; this reader
// refuses the file, with every bad line's number and the reason (a line
// without its 8 colons, or one the kernel refuses: ErrOSFInvalid).
func ParseOSFingerprints(r io.Reader) ([]filter.OSFingerprint, error) {
	var out []filter.OSFingerprint
	var errs []error
	br := bufio.NewReader(r)
	for lineno := 1; ; lineno++ {
		line, err := br.ReadString('\n')
		if line == "" && err != nil {
			if err != io.EOF {
				return nil, err
			}
			break
		}
		if line[0] == '#' || line[0] == '\n' || line[0] == '\r' {
			continue
		}
		// nfnl_osf drops the last byte, the newline, or a last line's
		// own last byte.
		line = line[:len(line)-1]
		if line == "" {
			continue
		}
		f, perr := parseOSFLine(line)
		if perr == nil {
			perr = f.Validate()
		}
		if perr != nil {
			errs = append(errs, &OSFLineError{Line: lineno, Err: perr})
			continue
		}
		out = append(out, f)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// LoadOSFingerprints reads the file at path into a table, as nfnl_osf
// -f loads the kernel's.
func LoadOSFingerprints(path string) (*filter.OSFingerprints, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	list, err := ParseOSFingerprints(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t := &filter.OSFingerprints{}
	for _, f := range list {
		if err := t.Add(f); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return t, nil
}

// parseOSFLine is osf_load_line.
func parseOSFLine(line string) (filter.OSFingerprint, error) {
	var f filter.OSFingerprint
	if n := strings.Count(line, ":"); n != 8 {
		return f, fmt.Errorf("%w '%s': cnt: %d, must be 8", ErrOSFLine, line, n)
	}
	fields := strings.SplitN(line, ":", 9)
	for i := 1; i < len(fields); i++ {
		fields[i] = strings.TrimLeft(fields[i], " \t\n\v\f\r")
	}
	w := fields[0]
	switch {
	case w == "":
	case w[0] == 'S' || w[0] == 'T':
		f.WindowKind = filter.OSFWindowMSS
		if w[0] == 'T' {
			f.WindowKind = filter.OSFWindowMTU
		}
		switch {
		case len(w) > 1 && w[1] == '%':
			f.Window = osfUint(w[2:])
		case len(w) > 1 && w[1] == '*':
		default:
			f.Window = osfUint(w[1:])
		}
	case w[0] == '%':
		f.WindowKind = filter.OSFWindowModulo
		f.Window = osfUint(w[1:])
	case w[0] >= '0' && w[0] <= '9':
		f.Window = osfUint(w)
	}
	f.TTL = uint8(osfUint(fields[1]))
	f.DF = uint8(osfUint(fields[2]))
	f.Size = uint16(osfUint(fields[3]))
	f.Options = parseOSFOptions(fields[4])
	genre := fields[5]
	if genre != "" && (genre[0] == '@' || genre[0] == '*') {
		genre = genre[1:]
	}
	cut := func(s string) string { return s[:min(len(s), filter.OSFGenreLen-1)] }
	f.Genre, f.Version, f.Subtype = cut(genre), cut(fields[6]), cut(fields[7])
	return f, nil
}

// osfOptionKinds are the kinds and lengths nfnl_osf gives each option
// letter (its IANA_opts table).
var osfOptionKinds = map[byte][2]uint8{
	'E': {0, 1},
	'N': {1, 1},
	'M': {packet.TCPOptionMSS, 4},
	'W': {3, 3},
	'S': {4, 2},
	'T': {8, 10},
}

// parseOSFOptions is xt_osf_parse_opt: comma-separated letters, the
// first letter of each item naming the option; nfnl_osf reads at most
// 126 bytes of them.
func parseOSFOptions(s string) []filter.OSFOption {
	s = s[:min(len(s), 126)]
	var out []filter.OSFOption
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimLeft(item, " \t\n\v\f\r")
		if item == "" {
			continue
		}
		kl, ok := osfOptionKinds[item[0]]
		if !ok {
			continue
		}
		o := filter.OSFOption{Kind: kl[0], Length: kl[1]}
		switch item[0] {
		case 'W':
			switch {
			case len(item) > 1 && item[1] == '%':
				o.Wildcard, o.Value = filter.OSFWindowModulo, osfUint(item[2:])
			case len(item) > 1 && item[1] == 'S':
				o.Wildcard, o.Value = filter.OSFWindowMSS, osfUint(item[2:])
			case len(item) > 1 && item[1] == 'T':
				o.Wildcard, o.Value = filter.OSFWindowMTU, osfUint(item[2:])
			default:
				o.Value = osfUint(item[1:])
			}
		case 'M':
			if len(item) > 1 && item[1] == '%' {
				o.Wildcard, o.Value = filter.OSFWindowModulo, osfUint(item[2:])
			} else {
				o.Value = osfUint(item[1:])
			}
		}
		out = append(out, o)
	}
	return out
}

// osfUint is strtoul(s, NULL, 10) cut to 32 bits: leading digits, 0
// for none, ULONG_MAX for too many.
func osfUint(s string) uint32 {
	v, rest, ok := cStrtoul(s, 10)
	switch {
	case ok:
		return uint32(v)
	case rest != s:
		return ^uint32(0) // ERANGE: digits, too many
	}
	return 0
}
