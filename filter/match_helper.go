package filter

// HelperMatch is -m helper --helper NAME (xt_helper.c). It matches the
// connections a helper expected — FTP data channels, say — by the helper
// of their master connection.
type HelperMatch struct {
	// Helper is the helper name; "" matches any helper.
	Helper string
	// Invert is the '!' of --helper.
	Invert bool
}

// Name returns "helper".
func (*HelperMatch) Name() string { return "helper" }

// Match reports whether the connection was expected by the named helper:
// it has a master (StatusExpected) whose helper is the one named
// (CT.Helper, filled on demand). As in helper_mt, the comparison covers
// only the length of the master's helper name (strncmp with
// strlen(helper->name)), so --helper ftp-21 matches a connection whose
// master's helper is "ftp".
func (m *HelperMatch) Match(c *Context) bool {
	ct := &c.CT
	if ct.hasConn() && ct.Status&StatusExpected != 0 {
		ct.Tuples()
	}
	if !ct.hasConn() || ct.Status&StatusExpected == 0 || ct.Helper == "" {
		return m.Invert
	}
	if m.Helper == "" {
		return !m.Invert
	}
	h := ct.Helper
	hit := len(m.Helper) >= len(h) && m.Helper[:len(h)] == h
	return hit != m.Invert
}

// NeedsConntrack reports true.
func (*HelperMatch) NeedsConntrack() bool { return true }
