package iptables

import (
	"fmt"
	"strings"
)

// Helpers shared by the target extensions (target_*.go).

// tgOption resolves the option name as getopt_long does for iptables:
// an exact name, or an unambiguous prefix of one of opts ("--to" for
// SNAT's --to-source). It returns errNotMine when no option fits, so the
// rule parser can offer the word to the matches.
func tgOption(name string, opts ...string) (string, error) {
	var found []string
	for _, o := range opts {
		if o == name {
			return o, nil
		}
		if strings.HasPrefix(o, name) {
			found = append(found, o)
		}
	}
	switch len(found) {
	case 0:
		return "", errNotMine
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%w: option '--%s' is ambiguous; possibilities: --%s", ErrSyntax, name, strings.Join(found, " --"))
}

// tgBothErr is xtopt's error for two options that exclude each other.
func tgBothErr(ext, a, b string) error {
	return fmt.Errorf("%w: %s: option \"--%s\" cannot be used together with \"--%s\"", ErrSyntax, ext, a, b)
}

// tgInvertErr is iptables' error for '!' before a target option: no
// target option can be inverted.
func tgInvertErr(ext, option string) error {
	return noInvertErr(ext, option)
}

// tgSeen tracks which options a target got, for xtopt's "can only be used
// once" and "cannot be used together" checks.
type tgSeen map[string]bool

// once marks option as seen, failing if it already was.
func (s tgSeen) once(ext, option string) error {
	if s[option] {
		return onceErr(ext, option)
	}
	s[option] = true
	return nil
}

// excl fails if any of others was seen together with option.
func (s tgSeen) excl(ext, option string, others ...string) error {
	for _, o := range others {
		if o != option && s[o] {
			return tgBothErr(ext, o, option)
		}
	}
	return nil
}
