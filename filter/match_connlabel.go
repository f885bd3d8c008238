package filter

import "errors"

// ConnlabelMatch is -m connlabel (xt_connlabel.c): it matches a packet
// whose connection has label Bit, and with Set gives the label to a
// connection that lacks it, matching then too. A packet without a
// connection (untracked, invalid) matches only inverted.
type ConnlabelMatch struct {
	// Bit is the label, 0 to 127.
	Bit uint16
	// Invert is --label's "!": it inverts the result, Set's included.
	Invert bool
	// Set is --set.
	Set bool
}

// Name returns "connlabel".
func (*ConnlabelMatch) Name() string { return "connlabel" }

// NeedsConntrack reports true: the labels are the connection's.
func (*ConnlabelMatch) NeedsConntrack() bool { return true }

// ErrConnlabelRange is CheckRule's error for a label past the 128 a
// connection has (nf_connlabels_get's ERANGE).
var ErrConnlabelRange = errors.New("connlabel: label out of range (0-127)")

// CheckRule refuses a label the connection has no room for.
func (m *ConnlabelMatch) CheckRule(*Rule, Site) error {
	if m.Bit >= 128 {
		return ErrConnlabelRange
	}
	return nil
}

// Match is connlabel_mt.
func (m *ConnlabelMatch) Match(c *Context) bool {
	st := c.CT.Labels
	if st == nil || c.CT.State&(StateInvalid|StateUntracked) != 0 {
		return m.Invert
	}
	labels, ok := st.CTLabels()
	if !ok {
		return m.Invert
	}
	if labels[m.Bit/64]>>(m.Bit%64)&1 != 0 {
		return !m.Invert
	}
	if m.Set {
		st.SetCTLabel(uint(m.Bit))
		return !m.Invert
	}
	return m.Invert
}
