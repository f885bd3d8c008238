package helpers

import (
	"encoding/binary"
	"fmt"

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
	// Only the client's own messages are read.
	if dir == conntrack.Reply || !c.established() {
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
