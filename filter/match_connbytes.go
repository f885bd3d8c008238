package filter

// ConnbytesMatch is -m connbytes (xt_connbytes.c): the connection's
// packets, bytes or average packet size so far, this packet included,
// in one direction or both, within From..To. A packet without a
// connection never matches.
type ConnbytesMatch struct {
	From, To uint64
	Invert   bool
	Mode     ConnbytesMode
	Dir      ConnbytesDir
}

// ConnbytesMode is what connbytes counts.
type ConnbytesMode uint8

// The modes (XT_CONNBYTES_PKTS, _BYTES, _AVGPKT).
const (
	ConnbytesPackets ConnbytesMode = iota
	ConnbytesBytes
	ConnbytesAvgPkt
)

// ConnbytesDir is the direction connbytes counts.
type ConnbytesDir uint8

// The directions (XT_CONNBYTES_DIR_*).
const (
	ConnbytesOriginal ConnbytesDir = iota
	ConnbytesReply
	ConnbytesBoth
)

// Name returns "connbytes".
func (*ConnbytesMatch) Name() string { return "connbytes" }

// Match compares the connection's count.
func (m *ConnbytesMatch) Match(c *Context) bool {
	if !c.CT.Tracked || c.CT.State&(StateInvalid|StateUntracked) != 0 {
		return false
	}
	c.CT.LoadCounters()
	if !c.CT.HasCounters {
		return false
	}
	o, r := c.CT.Counters[0], c.CT.Counters[1]
	var pkts, bytes uint64
	switch m.Dir {
	case ConnbytesOriginal:
		pkts, bytes = o.Packets, o.Bytes
	case ConnbytesReply:
		pkts, bytes = r.Packets, r.Bytes
	default:
		pkts, bytes = o.Packets+r.Packets, o.Bytes+r.Bytes
	}
	var what uint64
	switch m.Mode {
	case ConnbytesPackets:
		what = pkts
	case ConnbytesBytes:
		what = bytes
	default:
		if pkts != 0 {
			what = bytes / pkts
		}
	}
	return (what >= m.From && what <= m.To) != m.Invert
}
