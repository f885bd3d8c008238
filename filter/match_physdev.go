package filter

import "errors"

// PhysdevMatch is -m physdev (xt_physdev.c): the bridge ports a bridged
// packet came in and goes out by (br_netfilter), from Context.Origin.
// The Match* fields say which options were given; each has its '!'.
type PhysdevMatch struct {
	// In and Out are --physdev-in and --physdev-out (with '+' for a
	// prefix, as -i and -o).
	In, Out           Iface
	MatchIn, MatchOut bool
	// IsIn, IsOut and IsBridged are --physdev-is-in, --physdev-is-out
	// and --physdev-is-bridged, with their inversions.
	IsIn, IsOut, IsBridged                   bool
	InvertIsIn, InvertIsOut, InvertIsBridged bool
}

// Name returns "physdev".
func (*PhysdevMatch) Name() string { return "physdev" }

// Match follows physdev_mt.
func (m *PhysdevMatch) Match(c *Context) bool {
	o := &c.Origin
	if !o.Bridged {
		// Not bridged: matches only if every option given is inverted.
		return (!m.IsBridged || m.InvertIsBridged) && (!m.IsIn || m.InvertIsIn) && (!m.IsOut || m.InvertIsOut) &&
			(!m.MatchIn || m.In.Invert) && (!m.MatchOut || m.Out.Invert)
	}
	out, in := o.PhysOut, o.PhysIn
	if m.IsBridged && (out != "") == m.InvertIsBridged {
		return false
	}
	if m.IsIn && (in == "") != m.InvertIsIn || m.IsOut && (out == "") != m.InvertIsOut {
		return false
	}
	if m.MatchIn && in != "" && m.In.matches(in) == m.In.Invert {
		return false
	}
	if !m.MatchOut {
		return true
	}
	if out == "" {
		return false
	}
	return m.Out.matches(out) != m.Out.Invert
}

// CheckRule refuses --physdev-out and --physdev-is-out where the output
// bridge port is not known yet, as physdev_mt_check does: OUTPUT, unless
// --physdev-is-bridged is given (not inverted).
func (m *PhysdevMatch) CheckRule(_ *Rule, at Site) error {
	if (m.MatchOut || m.IsOut) && (!m.IsBridged || m.InvertIsBridged) && at.Hooks.Has(Output) {
		return errPhysdevOut
	}
	return nil
}

var errPhysdevOut = errors.New("--physdev-out and --physdev-is-out only supported in the FORWARD and POSTROUTING chains with bridged traffic")
