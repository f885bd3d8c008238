package helpers

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// IRC (nf_conntrack_irc.c, nf_nat_irc.c). A client offering a file or a
// chat sends, through the server, a CTCP message
//
//	PRIVMSG nick :\1DCC SEND file 167772165 5000 1024\1\n
//
// with its address as a 32-bit decimal number and a port; the peer
// connects there. The helper reads such offers in what the client sends
// (the first 4095 bytes of a packet), refuses ones that name another
// host or port 0 ("Forged DCC command"), and expects a connection from
// anywhere to the address and port; under NAT it rewrites both to the
// translated address and a port it can expect there.
//
// Beyond the kernel: under NAT, DCC RESUME and ACCEPT work too. A peer
// that wants the rest of a file sends, through the server,
//
//	PRIVMSG client :\1DCC RESUME file 5000 1024\1
//
// naming the port of the offer as it got it, and the client answers
// DCC ACCEPT with the same port and position. When NAT had to give the
// offer another port (the client's was taken by another offer), the
// kernel passes both on unchanged, and the client, which never offered
// the peer's port, ignores the RESUME (the netfilter FAQ: the kernel's
// NAT cannot handle DCC RESUME). nfgo translates the port in each, from
// the offer's expectation: the peer's port to the client's in a RESUME
// coming in, the client's to the peer's in an ACCEPT going out. Where
// NAT kept the port, nothing changes, as in the kernel.

// ircMaxSearch is how much of a packet the helper reads (MAX_SEARCH_SIZE).
const ircMaxSearch = 4095

// ircMinMatch is the shortest DCC argument the search allows for
// (MINMATCHLEN).
const ircMinMatch = 5

// dccProtos are the DCC commands that offer a connection.
var dccProtos = []string{"SEND ", "CHAT ", "MOVE ", "TSEND ", "SCHAT "}

func newIRC(cfg *Config) *Helper {
	return &Helper{
		name: "irc", protos: []uint8{packet.ProtoTCP}, families: v4,
		policy: []conntrack.ExpectPolicy{{Name: "default", MaxExpected: cfg.IRCMaxDCCChannels, Timeout: cfg.IRCDCCTimeout}},
		help:   ircHelp,
	}
}

// strtoul reads a decimal number from b[i:] as simple_strtoul does (no
// sign, no spaces, wrapping at 64 bits) and returns it with the index
// after it.
func strtoul(b []byte, i int) (uint64, int) {
	var v uint64
	for ; i < len(b) && isDigit(b[i]); i++ {
		v = v*10 + uint64(b[i]-'0')
	}
	return v, i
}

// parseDCC reads the address and port of a DCC offer from data[d:],
// which follows the command word (parse_dcc): it skips the file name,
// needs a newline somewhere after it, and returns the address, the port
// and where they start and end.
func parseDCC(data []byte, d int) (ip uint32, port uint16, beg, end int, ok bool) {
	limit := len(data)
	// At least 12 bytes must follow: "AAAAAAAA P\1\n".
	for {
		if d >= limit {
			return 0, 0, 0, 0, false
		}
		c := data[d]
		d++
		if c == ' ' {
			break
		}
		if d > limit-12 {
			return 0, 0, 0, 0, false
		}
	}
	nl := d
	for nl < limit && data[nl] != '\n' {
		nl++
	}
	if nl >= limit {
		return 0, 0, 0, 0, false
	}
	beg = d
	v, d := strtoul(data, d)
	ip = uint32(v)
	for d < limit && data[d] == ' ' {
		d++
	}
	if d >= limit {
		// The kernel's check comes after the first blank; it stops
		// before reading past the end.
		return 0, 0, 0, 0, false
	}
	pv, d := strtoul(data, d)
	return ip, uint16(pv), beg, d, true
}

func ircHelp(h *Helper, c *Call) Verdict {
	dir := c.dir()
	if !c.established() {
		return accept
	}
	p := c.Packet
	if p.Proto != packet.ProtoTCP || p.L4Off == 0 || p.PayloadOff >= p.Length {
		return accept
	}
	data := p.Payload()
	if len(data) > ircMaxSearch {
		data = data[:ircMaxSearch]
	}
	if c.natted() {
		if v, done := ircResume(c, data); done {
			return v
		}
	}
	// Only the client's own messages are read for offers.
	if dir == conntrack.Reply {
		return accept
	}
	limit := len(data)
	d := 0
	for d < limit-10 && (data[d] == ' ' || data[d] == '\r' || data[d] == '\n') {
		d++
	}
	if d < limit-10 {
		if !equalFold(data[d:d+8], "PRIVMSG ") {
			return accept
		}
		d += 8
	}
	for d < limit-(21+ircMinMatch) {
		// The message starts at the first " :"; only there is a DCC
		// command looked for.
		if data[d] != ' ' || data[d+1] != ':' {
			d++
			continue
		}
		d += 2
		if string(data[d:d+5]) != "\x01DCC " {
			return accept
		}
		d += 5
		for _, proto := range dccProtos {
			if d+len(proto) > limit || string(data[d:d+len(proto)]) != proto {
				continue
			}
			d += len(proto)
			ip, port, beg, end, ok := parseDCC(data, d)
			if !ok {
				return accept
			}
			return ircOffer(h, c, ip, port, beg, end)
		}
	}
	return accept
}

// ircOffer acts on a DCC offer of address ip and port, found at
// data[beg:end].
func ircOffer(h *Helper, c *Call, ip uint32, port uint16, beg, end int) Verdict {
	this, other := c.tuple(conntrack.Original), c.tuple(conntrack.Reply)
	// The address may be the client's own or, behind NAT, the one it is
	// translated to.
	if ip != binary.BigEndian.Uint32(this.Src[:4]) && ip != binary.BigEndian.Uint32(other.Dst[:4]) || port == 0 {
		// net_warn_ratelimited("Forged DCC command …"): no expectation.
		return accept
	}
	exp := conntrack.Expectation{Mask: conntrack.ExpectAnySrcAddr | conntrack.ExpectAnySrcPort}
	exp.Tuple = conntrack.Tuple{Dst: other.Dst, DstPort: port, Family: packet.IPv4, Proto: packet.ProtoTCP, Zone: this.Zone}
	if !c.natted() {
		if err := c.Table.Expect(c.CT, exp, c.Now); err != nil {
			return drop("cannot add expectation")
		}
		return accept
	}
	// nf_nat_irc: the peer will connect to where the server sends.
	newAddr := other.Dst
	exp.SavedPort = port
	exp.Dir = conntrack.Reply
	exp.Fn = conntrack.ExpectFollowMaster
	got := h.expectPort(c, &exp, port)
	if got == 0 {
		return drop("all ports in use")
	}
	rep := fmt.Appendf(nil, "%d %d", binary.BigEndian.Uint32(newAddr[:4]), got)
	if !c.mangleTCP(beg, end-beg, rep) {
		c.Table.Unexpect(c.CT, exp, c.Now)
		return drop("cannot mangle packet")
	}
	return accept
}

// ircResume translates the port of a DCC RESUME coming to the client or
// a DCC ACCEPT going from it, under NAT (see above), and reports whether
// it changed (or dropped) the packet; if not, the packet is read as the
// kernel reads it.
func ircResume(c *Call, data []byte) (Verdict, bool) {
	cmd := "\x01DCC RESUME "
	if c.dir() == conntrack.Original {
		cmd = "\x01DCC ACCEPT "
	}
	i := bytes.Index(data, []byte(cmd))
	if i < 0 {
		return accept, false
	}
	beg, end, port, ok := parseResume(data, i+len(cmd))
	if !ok {
		return accept, false
	}
	// The offers' expectations, newest first: each holds the port the
	// peer was given (Tuple.DstPort) and the client's (SavedPort).
	exps := c.Table.MasterExpectations(c.tuple(conntrack.Original), c.Now)
	for j := len(exps) - 1; j >= 0; j-- {
		e := &exps[j]
		if e.Fn != conntrack.ExpectFollowMaster || e.Tuple.Proto != packet.ProtoTCP || e.Tuple.DstPort == e.SavedPort {
			continue
		}
		from, to := e.Tuple.DstPort, e.SavedPort
		if c.dir() == conntrack.Original {
			from, to = to, from
		}
		if from != port {
			continue
		}
		if !c.mangleTCP(beg, end-beg, strconv.AppendUint(nil, uint64(to), 10)) {
			return drop("cannot mangle packet"), true
		}
		return accept, true
	}
	return accept, false
}

// parseResume reads the file name and port of a DCC RESUME or ACCEPT
// from data[d:] (the file name, quoted if it has spaces, the port, the
// position, and the closing \1) and returns where the port is and its
// value.
func parseResume(data []byte, d int) (beg, end int, port uint16, ok bool) {
	if d < len(data) && data[d] == '"' {
		q := bytes.IndexByte(data[d+1:], '"')
		if q < 0 {
			return 0, 0, 0, false
		}
		d += q + 2
	} else {
		for d < len(data) && data[d] != ' ' && data[d] != '\x01' {
			d++
		}
	}
	if d >= len(data) || data[d] != ' ' {
		return 0, 0, 0, false
	}
	beg = d + 1
	v, end := strtoul(data, beg)
	if end == beg || end-beg > 5 || v == 0 || v > 0xffff || end >= len(data) || data[end] != ' ' {
		return 0, 0, 0, false
	}
	if _, e := strtoul(data, end+1); e == end+1 || e >= len(data) || data[e] != '\x01' {
		return 0, 0, 0, false
	}
	return beg, end, uint16(v), true
}
