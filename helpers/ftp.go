package helpers

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// FTP (nf_conntrack_ftp.c, nf_nat_ftp.c). The client's PORT and EPRT
// commands, and the server's 227 (PASV) and 229 (EPSV) replies, name the
// address and port of a data connection; the helper expects it, and
// under NAT rewrites the command to name the translated address and a
// port it can expect there.
//
// As in the kernel, a command is only looked for at the start of a
// packet that begins right after a newline the helper saw (it
// remembers the sequence number after the last two newlines of each
// direction), only once traffic has gone both ways, and a packet that
// holds the start of a command but not all of it is dropped: the
// sender will retransmit it, and the helper would otherwise miss the
// data connection.

// ftpType is which of the four commands matched (enum nf_ct_ftp_type).
type ftpType uint8

const (
	ftpPORT ftpType = iota // PORT a,b,c,d,p1,p2
	ftpPASV                // 227 … a,b,c,d,p1,p2
	ftpEPRT                // EPRT |1|a.b.c.d|port| or |2|ip6|port|
	ftpEPSV                // 229 … (|||port|)
)

// ftpCommand is an address and port read from a command (struct
// nf_conntrack_man): for IPv6 the address starts as the sender's, and a
// PORT or 227 overwrites only its first four bytes, as in the kernel.
type ftpCommand struct {
	addr [16]byte
	port uint16
}

// ftpSearch is one command to look for (struct ftp_search); its type
// says how its numbers are read (the kernel's getnum).
type ftpSearch struct {
	pattern string
	skip    byte // the byte before the numbers, 0: none
	term    byte // the byte after them, 0: any
	typ     ftpType
}

// ftpSearches are the commands of each direction: the client's in the
// original direction, the server's replies in the other.
var ftpSearches = [2][2]ftpSearch{
	conntrack.Original: {
		{pattern: "PORT", skip: ' ', term: '\r', typ: ftpPORT},
		{pattern: "EPRT", skip: ' ', term: '\r', typ: ftpEPRT},
	},
	conntrack.Reply: {
		{pattern: "227 ", typ: ftpPASV},
		{pattern: "229 ", skip: '(', term: ')', typ: ftpEPSV},
	},
}

// getnum reads the numbers of a command of type typ (try_rfc959,
// try_eprt, try_rfc1123, try_epsv_response), returning their length, 0
// if they do not parse; a 227's moves *off to its first digit.
func getnum(typ ftpType, data []byte, cmd *ftpCommand, f packet.Family, term byte, off *int) int {
	switch typ {
	case ftpPORT:
		return tryRFC959(data, cmd, term)
	case ftpEPRT:
		return tryEPRT(data, cmd, f)
	case ftpPASV:
		return tryRFC1123(data, cmd, off)
	}
	return tryEPSVResponse(data, cmd)
}

// ftpState is what the helper keeps about a control connection (struct
// nf_ct_ftp_master), in the connection's helper data.
type ftpState struct {
	seqAftNL    [2][2]uint32 // sequence numbers just after a newline
	seqAftNLNum [2]uint16    // how many of them are set
	flags       [2]uint16    // ftpSeqPickup
}

// ftpSeqPickup (NF_CT_FTP_SEQ_PICKUP) takes the next packet as a line
// start, for a connection whose state was injected without the helper
// having seen its newlines.
const ftpSeqPickup = 1

func (s *ftpState) load(d *[conntrack.HelpDataSize]byte) {
	for i := range 4 {
		s.seqAftNL[i/2][i%2] = binary.LittleEndian.Uint32(d[4*i:])
	}
	for i := range 2 {
		s.seqAftNLNum[i] = binary.LittleEndian.Uint16(d[16+2*i:])
		s.flags[i] = binary.LittleEndian.Uint16(d[20+2*i:])
	}
}

func (s *ftpState) store(d *[conntrack.HelpDataSize]byte) {
	for i := range 4 {
		binary.LittleEndian.PutUint32(d[4*i:], s.seqAftNL[i/2][i%2])
	}
	for i := range 2 {
		binary.LittleEndian.PutUint16(d[16+2*i:], s.seqAftNLNum[i])
		binary.LittleEndian.PutUint16(d[20+2*i:], s.flags[i])
	}
}

func newFTP(cfg *Config) *Helper {
	return &Helper{
		name: "ftp", protos: []uint8{packet.ProtoTCP}, families: both,
		policy: []conntrack.ExpectPolicy{{Name: "default", MaxExpected: 1, Timeout: 300 * time.Second}},
		help:   ftpHelp,
	}
}

// tryNumber reads n numbers separated by sep and followed by term (any
// byte if term is 0), as try_number does: no range checks, and numbers
// that overflow wrap. It returns how many bytes the numbers take, 0 if
// they are not all there.
func tryNumber(data []byte, out []uint32, sep, term byte) int {
	clear(out)
	i := 0
	for n := 0; n < len(data) && i < len(out); n++ {
		switch c := data[n]; {
		case c >= '0' && c <= '9':
			out[i] = out[i]*10 + uint32(c-'0')
		case c == sep:
			i++
		default:
			if (c == term || term == 0) && i == len(out)-1 {
				return n
			}
			return 0
		}
	}
	return 0
}

// tryRFC959 reads "a,b,c,d,p1,p2" (try_rfc959).
func tryRFC959(data []byte, cmd *ftpCommand, term byte) int {
	var a [6]uint32
	n := tryNumber(data, a[:], ',', term)
	if n == 0 {
		return 0
	}
	binary.BigEndian.PutUint32(cmd.addr[:4], a[0]<<24|a[1]<<16|a[2]<<8|a[3])
	cmd.port = uint16(a[4]<<8 | a[5])
	return n
}

// tryRFC1123 finds the numbers of a 227 reply at its first digit, since
// servers do not agree on the parentheses RFC 959 shows (RFC 1123
// 4.1.2.6), and moves the match's offset there (try_rfc1123).
func tryRFC1123(data []byte, cmd *ftpCommand, off *int) int {
	i := 0
	for i < len(data) && !isDigit(data[i]) {
		i++
	}
	if i == len(data) {
		return 0
	}
	*off += i
	return tryRFC959(data[i:], cmd, 0)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// getPort reads the port that runs from data[start] to the next delim,
// returning the index after the delimiter, 0 if there is none or the
// port is 0 (get_port).
func getPort(data []byte, start int, delim byte, port *uint16) int {
	var p uint16
	for i := start; i < len(data); i++ {
		switch c := data[i]; {
		case c == delim:
			if p == 0 {
				return 0
			}
			*port = p
			return i + 1
		case isDigit(c):
			p = p*10 + uint16(c-'0')
		default:
			return 0
		}
	}
	return 0
}

// eprtDelim reports whether c may delimit an EPRT or EPSV argument:
// printable, not a digit (the kernel compares a signed char).
func eprtDelim(c byte) bool { return !isDigit(c) && int8(c) >= 33 && c <= 126 }

// tryEPRT reads "|1|a.b.c.d|port|" or "|2|ip6|port|" (try_eprt). The
// protocol number must be the connection's.
func tryEPRT(data []byte, cmd *ftpCommand, f packet.Family) int {
	if len(data) <= 3 {
		return 0
	}
	delim := data[0]
	if !eprtDelim(delim) || data[2] != delim {
		return 0
	}
	if f == packet.IPv4 && data[1] != '1' || f == packet.IPv6 && data[1] != '2' {
		return 0
	}
	var n int
	if data[1] == '1' {
		var a [4]uint32
		n = tryNumber(data[3:], a[:], '.', delim)
		if n != 0 {
			binary.BigEndian.PutUint32(cmd.addr[:4], a[0]<<24|a[1]<<16|a[2]<<8|a[3])
		}
	} else {
		a, ok, end := in6pton(data[3:], min(len(data)-3, 0xffff), int(int8(delim)))
		if ok {
			cmd.addr, n = a, end
		}
	}
	if n == 0 {
		return 0
	}
	return getPort(data, 3+n+1, delim, &cmd.port)
}

// tryEPSVResponse reads "|||port|" (try_epsv_response).
func tryEPSVResponse(data []byte, cmd *ftpCommand) int {
	if len(data) <= 3 {
		return 0
	}
	delim := data[0]
	if !eprtDelim(delim) || data[1] != delim || data[2] != delim {
		return 0
	}
	return getPort(data, 3, delim, &cmd.port)
}

// equalFold reports whether a and b are equal ignoring ASCII case
// (strncasecmp).
func equalFold(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// findPattern looks for command s at the start of data (find_pattern):
// 1 with the numbers' offset and length, 0 if it is not there, -1 if
// only its start is (the packet ends in it, or its numbers do not
// parse).
func findPattern(data []byte, s *ftpSearch, cmd *ftpCommand, f packet.Family) (found, numoff, numlen int) {
	plen := len(s.pattern)
	if len(data) <= plen {
		if equalFold(data, s.pattern[:len(data)]) {
			return -1, 0, 0
		}
		return 0, 0, 0
	}
	if !equalFold(data[:plen], s.pattern) {
		return 0, 0, 0
	}
	i := plen
	if s.skip != 0 {
		for ; data[i] != s.skip; i++ {
			if i == len(data)-1 {
				return -1, 0, 0
			}
		}
		i++
	}
	numoff = i
	numlen = getnum(s.typ, data[i:], cmd, f, s.term, &numoff)
	if numlen == 0 {
		return -1, 0, 0
	}
	return 1, numoff, numlen
}

// atLineStart reports whether seq follows a newline the helper saw
// (find_nl_seq).
func (s *ftpState) atLineStart(seq uint32, dir conntrack.Dir) bool {
	for i := range int(min(s.seqAftNLNum[dir], 2)) {
		if s.seqAftNL[dir][i] == seq {
			return true
		}
	}
	return false
}

// sawNewline records that the packet ending before seq ended in a
// newline (update_nl_seq): a new position replaces the older of the two
// kept, if it is after it.
func (s *ftpState) sawNewline(seq uint32, dir conntrack.Dir) {
	n := int(min(s.seqAftNLNum[dir], 2))
	for i := range n {
		if s.seqAftNL[dir][i] == seq {
			return
		}
	}
	if n < 2 {
		s.seqAftNL[dir][n] = seq
		s.seqAftNLNum[dir]++
		return
	}
	oldest := 1
	if int32(s.seqAftNL[dir][0]-s.seqAftNL[dir][1]) < 0 {
		oldest = 0
	}
	if int32(seq-s.seqAftNL[dir][oldest]) > 0 {
		s.seqAftNL[dir][oldest] = seq
	}
}

// ftpHelp is the FTP helper's help function.
func ftpHelp(h *Helper, c *Call) Verdict {
	if !c.established() {
		return accept
	}
	p := c.Packet
	if p.Proto != packet.ProtoTCP || p.L4Off == 0 || p.PayloadOff >= p.Length {
		return accept
	}
	data := p.Payload()
	dir := c.dir()
	var st ftpState
	st.load(c.Data)
	endsNL := data[len(data)-1] == '\n'
	seq := p.Seq + uint32(len(data))
	v, partial := ftpCommandAt(h, c, &st, data, dir)
	if endsNL && !partial {
		// The kernel records the newline whatever became of the
		// command, unless it was cut short.
		st.sawNewline(seq, dir)
	}
	st.store(c.Data)
	return v
}

// ftpCommandAt looks for a command in a packet of the control
// connection and acts on it. partial reports a command cut short.
func ftpCommandAt(h *Helper, c *Call, st *ftpState, data []byte, dir conntrack.Dir) (v Verdict, partial bool) {
	p := c.Packet
	if !st.atLineStart(p.Seq, dir) {
		if st.flags[dir]&ftpSeqPickup == 0 {
			return accept, false
		}
		st.flags[dir] &^= ftpSeqPickup
	}
	this, other := c.tuple(dir), c.tuple(1-dir)
	f := p.Family
	cmd := ftpCommand{addr: this.Src}
	var s *ftpSearch
	found, off, n := 0, 0, 0
	for i := range ftpSearches[dir] {
		s = &ftpSearches[dir][i]
		if found, off, n = findPattern(data, s, &cmd, f); found != 0 {
			break
		}
	}
	switch found {
	case -1:
		return drop("partial matching of `%s'", s.pattern), true
	case 0:
		return accept, false
	}
	daddr := other.Dst
	if cmd.addr != this.Src {
		// The command names another host than its sender (a server
		// behind a partial NAT, or a host opening a hole to a third
		// party): only expected with loose=1.
		if !h.cfg.FTPLoose {
			return accept, false
		}
		daddr = cmd.addr
	}
	exp := conntrack.Expectation{Mask: conntrack.ExpectAnySrcPort}
	exp.Tuple = conntrack.Tuple{Src: other.Src, Dst: daddr, DstPort: cmd.port, Family: f, Proto: packet.ProtoTCP, Zone: this.Zone}
	if f == packet.IPv4 {
		clear(exp.Tuple.Src[4:])
		clear(exp.Tuple.Dst[4:])
	}
	if c.natted() {
		return ftpNAT(h, c, s.typ, off, n, &exp), false
	}
	if err := c.Table.Expect(c.CT, exp, c.Now); err != nil {
		return drop("cannot add expectation"), false
	}
	return accept, false
}

// ftpNAT is nf_nat_ftp: the data connection will come to where this
// packet goes, so the command is rewritten to name that address, and a
// port there the helper can expect; the expectation remembers the port
// the command named, to NAT the data connection back to it.
func ftpNAT(h *Helper, c *Call, typ ftpType, off, n int, exp *conntrack.Expectation) Verdict {
	dir := c.dir()
	newAddr := c.tuple(1 - dir).Dst
	exp.SavedPort = exp.Tuple.DstPort
	exp.Dir = 1 - dir
	exp.Fn = conntrack.ExpectFollowMaster
	port := h.expectPort(c, exp, exp.SavedPort)
	if port == 0 {
		return drop("all ports in use")
	}
	rep := ftpFormat(typ, c.Packet.Family, newAddr, port)
	if !c.mangleTCP(off, n, rep) {
		c.Table.Unexpect(c.CT, *exp, c.Now)
		return drop("cannot mangle packet")
	}
	return accept
}

// ftpFormat writes the numbers of a command naming addr and port
// (nf_nat_ftp_fmt_cmd).
func ftpFormat(typ ftpType, f packet.Family, addr [16]byte, port uint16) []byte {
	switch typ {
	case ftpPORT, ftpPASV:
		return fmt.Appendf(nil, "%d,%d,%d,%d,%d,%d", addr[0], addr[1], addr[2], addr[3], port>>8, port&0xff)
	case ftpEPRT:
		if f == packet.IPv4 {
			return fmt.Appendf(nil, "|1|%v|%d|", netip.AddrFrom4([4]byte(addr[:4])), port)
		}
		return fmt.Appendf(nil, "|2|%s|%d|", fullIPv6(addr), port)
	}
	return fmt.Appendf(nil, "|||%d|", port)
}

// fullIPv6 writes an IPv6 address as the kernel's %pI6 does: eight
// groups of four hex digits, nothing compressed.
func fullIPv6(a [16]byte) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 0, 39)
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hex[a[i]>>4], hex[a[i]&0xf], hex[a[i+1]>>4], hex[a[i+1]&0xf])
	}
	return string(b)
}
