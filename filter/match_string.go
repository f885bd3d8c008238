package filter

import (
	"bytes"
	"errors"
	"fmt"
)

// StringMaxPattern is XT_STRING_MAX_PATTERN_SIZE.
const StringMaxPattern = 128

// StringMatch is -m string (xt_string.c, revision 1): the packet, from
// its network header, holds Pattern starting at or after offset From
// and ending at or before offset To.
//
// The kernel searches with the textsearch algorithm the rule names, Boyer-
// Moore ("bm") or Knuth-Morris-Pratt ("kmp"); on a packet in one piece
// both find the first occurrence, so nfgo runs one search for both. (On a
// packet the kernel holds in fragments, its bm misses a pattern that
// spans two of them; nfgo always sees the packet whole.) ICase compares
// as the kernel's toupper does, which folds the Latin-1 lower-case
// letters too.
type StringMatch struct {
	// Algo is the textsearch algorithm: "bm" or "kmp".
	Algo    string
	Pattern []byte
	// From and To bound the search, in bytes from the network header
	// (To is 65535 when not given).
	From, To uint16
	ICase    bool
	Invert   bool

	// folded is Pattern upper-cased and skip the Horspool shifts, for
	// ICase; set by Bind.
	folded []byte
	skip   *[256]uint8
}

// Name returns "string".
func (*StringMatch) Name() string { return "string" }

// ErrStringAlgo is CheckRule's error for an algorithm the kernel has no
// textsearch module for ("No such file or directory").
var ErrStringAlgo = errors.New("no such textsearch algorithm")

// ErrStringInvalid is CheckRule's error for a string rule the kernel
// refuses with EINVAL.
var ErrStringInvalid = errors.New("string: invalid argument")

// CheckRule refuses what string_mt_check refuses: an empty or too long
// pattern, From after To, and an algorithm the kernel has not (fsm
// exists but takes no plain pattern).
func (m *StringMatch) CheckRule(_ *Rule, _ Site) error {
	switch {
	case m.Algo == "fsm":
		return fmt.Errorf("%w: the fsm algorithm takes a token program, not a pattern", ErrStringInvalid)
	case m.Algo != "bm" && m.Algo != "kmp":
		return fmt.Errorf("%w: %q", ErrStringAlgo, m.Algo)
	case len(m.Pattern) == 0:
		return fmt.Errorf("%w: empty pattern", ErrStringInvalid)
	case len(m.Pattern) > StringMaxPattern:
		return fmt.Errorf("%w: pattern longer than %d bytes", ErrStringInvalid, StringMaxPattern)
	case m.From > m.To:
		return fmt.Errorf("%w: --from %d is after --to %d", ErrStringInvalid, m.From, m.To)
	}
	return nil
}

// Bind prepares the case-folded pattern and its shift table, as
// textsearch_prepare does when the rule is loaded.
func (m *StringMatch) Bind(*Binding) (any, error) {
	bound := *m
	if m.ICase {
		bound.folded = make([]byte, len(m.Pattern))
		for i, c := range m.Pattern {
			bound.folded[i] = kernelUpper[c]
		}
		bound.skip = horspoolShifts(bound.folded)
	}
	return &bound, nil
}

// Match searches the packet's bytes.
func (m *StringMatch) Match(c *Context) bool {
	b := c.Packet.Bytes()
	end := min(int(m.To), len(b))
	found := false
	if from := int(m.From); from < end {
		switch {
		case m.ICase && m.skip != nil:
			found = indexFolded(b[from:end], m.folded, m.skip)
		case m.ICase:
			// Not bound (a match used outside a compiled program):
			// the same answer, without the shift table.
			found = indexFoldedSlow(b[from:end], m.Pattern)
		default:
			found = bytes.Contains(b[from:end], m.Pattern)
		}
	}
	return found != m.Invert
}

// horspoolShifts is the bad-character table of Boyer-Moore-Horspool for
// a pattern of at most 255 bytes.
func horspoolShifts(p []byte) *[256]uint8 {
	var t [256]uint8
	n := len(p)
	for i := range t {
		t[i] = uint8(n)
	}
	for i := 0; i < n-1; i++ {
		t[p[i]] = uint8(n - 1 - i)
	}
	return &t
}

// indexFolded reports whether text, upper-cased, holds p (upper-cased
// already).
func indexFolded(text, p []byte, skip *[256]uint8) bool {
	n := len(p)
	if n == 0 || n > len(text) {
		return n == 0
	}
	for i := 0; i+n <= len(text); {
		j := n - 1
		for j >= 0 && kernelUpper[text[i+j]] == p[j] {
			j--
		}
		if j < 0 {
			return true
		}
		i += int(skip[kernelUpper[text[i+n-1]]])
	}
	return false
}

// indexFoldedSlow reports whether text holds p, both upper-cased, by
// trying every position.
func indexFoldedSlow(text, p []byte) bool {
	for i := 0; i+len(p) <= len(text); i++ {
		j := 0
		for j < len(p) && kernelUpper[text[i+j]] == kernelUpper[p[j]] {
			j++
		}
		if j == len(p) {
			return true
		}
	}
	return false
}

// kernelUpper is the kernel's toupper (lib/ctype.c): ASCII and the
// Latin-1 lower-case letters (223-246, 248-255) lose 32.
var kernelUpper = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		if (c >= 'a' && c <= 'z') || (c >= 223 && c != 247) {
			c -= 32
		}
		t[i] = c
	}
	return t
}()
