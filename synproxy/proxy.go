package synproxy

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// Proxy is one host's SYNPROXY, as a network namespace has one: the
// cookie keys every SYNPROXY rule of both families shares, and the
// counters of /proc/net/stat/synproxy. It is safe for concurrent use;
// the counters are striped over cache lines, as the kernel keeps them
// per CPU, so that a SYN flood on several goroutines shares no line.
type Proxy struct {
	// Cookies are the keys; NewProxy makes fresh ones.
	Cookies *Cookies
	stripes [statStripes]statStripe
}

// NewProxy returns a proxy with keys from crypto/rand and zero
// counters.
func NewProxy() *Proxy { return &Proxy{Cookies: NewCookies()} }

// Stat names one of the proxy's counters.
type Stat uint8

// The counters, in /proc/net/stat/synproxy's column order.
const (
	// StatSYNReceived counts SYNs that drew a cookie.
	StatSYNReceived Stat = iota
	// StatCookieInvalid counts ACKs whose cookie failed.
	StatCookieInvalid
	// StatCookieValid counts ACKs whose cookie passed, each
	// retransmission again.
	StatCookieValid
	// StatCookieRetrans counts cookies checked again for a client's
	// keep-alive or window probe while the server had not answered.
	StatCookieRetrans
	// StatConnReopened counts SYNs that reopened a closed proxied
	// connection.
	StatConnReopened
	statCount
)

// statStripes is how many copies of the counters there are; a packet
// counts in the one its flow hash picks.
const statStripes = 8

type statStripe struct {
	n [statCount]atomic.Uint64
	_ [64 - (8*statCount)%64]byte
}

// Count adds one to counter s, in the stripe hint (any per-flow value,
// a port say) picks.
func (p *Proxy) Count(s Stat, hint uint32) { p.stripes[hint%statStripes].n[s].Add(1) }

// Stats returns the counters' sums.
func (p *Proxy) Stats() Stats {
	var n [statCount]uint64
	for i := range p.stripes {
		for s := range n {
			n[s] += p.stripes[i].n[s].Load()
		}
	}
	return Stats{SYNReceived: n[StatSYNReceived], CookieInvalid: n[StatCookieInvalid], CookieValid: n[StatCookieValid],
		CookieRetrans: n[StatCookieRetrans], ConnReopened: n[StatConnReopened]}
}

// Stats are a proxy's counters (struct synproxy_stats).
type Stats struct {
	SYNReceived, CookieInvalid, CookieValid, CookieRetrans, ConnReopened uint64
}

// String formats the counters as /proc/net/stat/synproxy does, with
// one line for one CPU: a header, then the entries column (always 0)
// and each counter in hexadecimal, tab-separated.
func (s Stats) String() string {
	var b strings.Builder
	b.WriteString("entries\t\tsyn_received\tcookie_invalid\tcookie_valid\tcookie_retrans\tconn_reopened\n")
	fmt.Fprintf(&b, "%08x\t%08x\t%08x\t%08x\t%08x\t%08x\n", 0, uint32(s.SYNReceived), uint32(s.CookieInvalid),
		uint32(s.CookieValid), uint32(s.CookieRetrans), uint32(s.ConnReopened))
	return b.String()
}

// Minute is the cookie clock at t (tcp_cookie_time): minutes since the
// epoch, modulo 2^32.
func Minute(t time.Time) uint32 { return uint32(t.Unix() / 60) }

// Millis is the timestamp clock at t (tcp_clock_ms): milliseconds,
// modulo 2^32.
func Millis(t time.Time) uint32 { return uint32(t.UnixMilli()) }
