package helpers

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// SIP (nf_conntrack_sip.c; the NAT side is in sip_nat.go). SIP sets up
// calls over UDP or TCP: an INVITE's SDP body, and the answer's, name
// the address and port where each end wants its media (RTP, and RTCP on
// the next port), and a REGISTER tells the registrar where the phone
// can be reached. The helper expects the media streams of every media
// description (audio, video, T.38 image), and the registrar's incoming
// signalling connection once it accepts a registration; under NAT it
// rewrites the request URI, Via (with maddr, received and rport),
// Contact, From and To, the SDP owner, connection and media lines, and
// Content-Length. Parsing follows the kernel's to the byte, leniencies
// and limits included: the kernel reads only what it must, so, for
// instance, a header name followed by anything but a colon ends the
// search for that header.

// The expectation classes of SIP's policy.
const (
	sipSignalling = iota
	sipAudio
	sipVideo
	sipImage
)

// sipPort is the port SIP assumes when a URI names none.
const sipPort = 5060

func newSIP(cfg *Config) *Helper {
	const t = 180 * time.Second
	return &Helper{
		name: "sip", protos: []uint8{packet.ProtoUDP, packet.ProtoTCP}, families: both,
		policy: []conntrack.ExpectPolicy{
			sipSignalling: {Name: "signalling", MaxExpected: 1, Timeout: t},
			sipAudio:      {Name: "audio", MaxExpected: 4, Timeout: t},
			sipVideo:      {Name: "video", MaxExpected: 4, Timeout: t},
			sipImage:      {Name: "image", MaxExpected: 2, Timeout: t},
		},
		help: sipHelp,
	}
}

// sipState is what the helper keeps about a signalling connection
// (struct nf_ct_sip_master), in the connection's helper data.
type sipState struct {
	registerCSeq, inviteCSeq uint32
	// forcedDport is the port a phone listens on when it sends from
	// another (Cisco phones), taken from its Via header; 0 if none.
	forcedDport uint16
}

func (s *sipState) load(d *[conntrack.HelpDataSize]byte) {
	s.registerCSeq = binary.LittleEndian.Uint32(d[0:])
	s.inviteCSeq = binary.LittleEndian.Uint32(d[4:])
	s.forcedDport = binary.LittleEndian.Uint16(d[8:])
}

func (s *sipState) store(d *[conntrack.HelpDataSize]byte) {
	binary.LittleEndian.PutUint32(d[0:], s.registerCSeq)
	binary.LittleEndian.PutUint32(d[4:], s.inviteCSeq)
	binary.LittleEndian.PutUint16(d[8:], s.forcedDport)
}

// sipMsg is one SIP message of a packet being handled: a UDP datagram,
// or one of the messages a TCP segment holds. Its bytes are the
// packet's, from base, n of them; a NAT rewrite moves n.
type sipMsg struct {
	h          *Helper
	c          *Call
	st         *sipState
	fam        packet.Family
	proto      uint8
	dir        conntrack.Dir
	this, othr conntrack.Tuple // the connection's tuples in the packet's direction and the other
	base, n    int
	natted     bool
}

// data returns the message's bytes as they are now.
func (m *sipMsg) data() []byte { return m.c.Packet.Payload()[m.base : m.base+m.n] }

// The kernel's ctype (lib/ctype.c), which counts Latin-1 letters as
// letters.
func sipAlpha(c byte) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		return true
	case c >= 0xc0:
		return c != 0xd7 && c != 0xf7
	}
	return false
}

func sipAlnum(c byte) bool { return sipAlpha(c) || isDigit(c) }

// iswordc is the kernel's idea of a SIP word character (RFC 3261's
// "word" for Call-IDs).
func iswordc(c byte) bool {
	return sipAlnum(c) || c == '!' || c == '"' || c == '%' || (c >= '(' && c <= '+') || c == ':' || c == '<' || c == '>' ||
		c == '?' || (c >= '[' && c <= ']') || c == '_' || c == '`' || c == '{' || c == '}' || c == '~' ||
		(c >= '-' && c <= '/') || c == '\''
}

func stringLen(d []byte, i, limit int) int {
	n := 0
	for i < limit && sipAlpha(d[i]) {
		i++
		n++
	}
	return n
}

func digitsLen(d []byte, i, limit int) int {
	n := 0
	for i < limit && isDigit(d[i]) {
		i++
		n++
	}
	return n
}

func wordLen(d []byte, i, limit int) int {
	n := 0
	for i < limit && iswordc(d[i]) {
		i++
		n++
	}
	return n
}

func callidLen(d []byte, i, limit int) int {
	n := wordLen(d, i, limit)
	i += n
	if n == 0 || i == limit || d[i] != '@' {
		return n
	}
	i++
	n++
	dn := wordLen(d, i, limit)
	if dn == 0 {
		return 0
	}
	return n + dn
}

// mediaLen is the length of "audio 49170" (media_len).
func mediaLen(d []byte, i, limit int) int {
	n := stringLen(d, i, limit)
	i += n
	if i >= limit || d[i] != ' ' {
		return 0
	}
	return n + 1 + digitsLen(d, i+1, limit)
}

// sipParseAddr reads an address at d[i:limit] (sip_parse_addr): dotted
// IPv4, or IPv6 in brackets, which delim demands.
func (m *sipMsg) parseAddr(d []byte, i, limit int, delim bool) (addr [16]byte, end int, ok bool) {
	if m.fam == packet.IPv4 {
		a, ok, e := in4pton(d, i, limit-i, -1)
		if !ok {
			return addr, 0, false
		}
		copy(addr[:], a[:])
		return addr, e, true
	}
	if i < limit && d[i] == '[' {
		i++
	} else if delim {
		return addr, 0, false
	}
	if i > limit {
		return addr, 0, false
	}
	a, ok, n := in6pton(d[i:limit], limit-i, -1)
	if !ok {
		return addr, 0, false
	}
	end = i + n
	if end < limit && d[end] == ']' {
		end++
	} else if delim {
		return addr, 0, false
	}
	return a, end, true
}

// sipParsePort reads ":port" after an address (sip_parse_port): 5060
// when there is none; a port must have 1 to 5 digits, be followed by
// something and lie in [1024, 65535].
func sipParsePort(d []byte, i, limit int) (port uint16, end int, ok bool) {
	if i >= limit {
		return 0, 0, false
	}
	if d[i] != ':' {
		return sipPort, i, true
	}
	i++
	p, n := 0, 0
	for i < limit && isDigit(d[i]) {
		p = p*10 + int(d[i]-'0')
		i++
		n++
		if n > 5 {
			return 0, 0, false
		}
	}
	if n == 0 || i >= limit || p < 1024 || p > 65535 {
		return 0, 0, false
	}
	return uint16(p), i, true
}

// epaddrLen is the length of "addr[:port]" (epaddr_len).
func (m *sipMsg) epaddrLen(d []byte, i, limit int) int {
	_, end, ok := m.parseAddr(d, i, limit, true)
	if !ok {
		return 0
	}
	if _, end, ok = sipParsePort(d, end, limit); !ok {
		return 0
	}
	return end - i
}

// skpEpaddrLen skips the user part of a URI, up to an '@' on the same
// line, adding its length to *shift (skp_epaddr_len).
func (m *sipMsg) skpEpaddrLen(d []byte, i, limit int, shift *int) int {
	start, s := i, *shift
	for i < limit && d[i] != '@' && d[i] != '\r' && d[i] != '\n' {
		*shift++
		i++
	}
	if i < limit && d[i] == '@' {
		i++
		*shift++
	} else {
		i, *shift = start, s
	}
	return m.epaddrLen(d, i, limit)
}

// sipStrtouint reads a decimal number of at most 11 digits that fits in
// 32 bits from d[i:i+n] (sip_strtouint), returning it and the index
// after it; on overflow it returns 0 and i.
func sipStrtouint(d []byte, i, n int) (uint32, int) {
	const max = 11 // sizeof("4294967295")
	left := min(n, max)
	var v uint64
	s := i
	for n > 0 && s < len(d) && isDigit(d[s]) {
		if left == 0 {
			return 0, i
		}
		v = v*10 + uint64(d[s]-'0')
		if v > 0xffffffff {
			return 0, i
		}
		s++
		left--
		n--
	}
	return uint32(v), s
}

// parseRequest finds the address of a request line's SIP URI
// (ct_sip_parse_request).
func (m *sipMsg) parseRequest(d []byte) (ret, off, n int, addr [16]byte, port uint16) {
	limit := len(d)
	ml := stringLen(d, 0, limit)
	if ml == 0 {
		return 0, 0, 0, addr, 0
	}
	i := ml + 1
	if i >= limit {
		return 0, 0, 0, addr, 0
	}
	for ; i < limit-4; i++ {
		if d[i] == '\r' || d[i] == '\n' {
			return -1, 0, 0, addr, 0
		}
		if equalFold(d[i:i+4], "sip:") {
			i += 4
			break
		}
	}
	shift := 0
	if m.skpEpaddrLen(d, i, limit, &shift) == 0 {
		return 0, 0, 0, addr, 0
	}
	i += shift
	addr, end, ok := m.parseAddr(d, i, limit, true)
	if !ok {
		return -1, 0, 0, addr, 0
	}
	if port, end, ok = sipParsePort(d, end, limit); !ok {
		return -1, 0, 0, addr, 0
	}
	if end == i {
		return 0, 0, 0, addr, 0
	}
	return 1, i, end - i, addr, port
}

// sipHeader is a SIP header the helper reads (struct sip_header): its
// name, its compact form, a string to look for in its value, and how
// long the part the helper wants is.
type sipHeader struct {
	name, cname, search string
	match               sipMatch
}

// sipMatch says how long the wanted part of a header value is.
type sipMatch uint8

const (
	matchDigits sipMatch = iota
	matchEpaddr
	matchSkpEpaddr
	matchCallID
	matchSDPAddr
	matchMedia
)

// The headers, by enum sip_header_types.
const (
	hdrCSeq = iota
	hdrFrom
	hdrTo
	hdrContact
	hdrViaUDP
	hdrViaTCP
	hdrExpires
	hdrContentLength
	hdrCallID
)

var sipHeaders = [...]sipHeader{
	hdrCSeq:          {name: "CSeq", match: matchDigits},
	hdrFrom:          {name: "From", cname: "f", search: "sip:", match: matchSkpEpaddr},
	hdrTo:            {name: "To", cname: "t", search: "sip:", match: matchSkpEpaddr},
	hdrContact:       {name: "Contact", cname: "m", search: "sip:", match: matchSkpEpaddr},
	hdrViaUDP:        {name: "Via", cname: "v", search: "UDP ", match: matchEpaddr},
	hdrViaTCP:        {name: "Via", cname: "v", search: "TCP ", match: matchEpaddr},
	hdrExpires:       {name: "Expires", match: matchDigits},
	hdrContentLength: {name: "Content-Length", cname: "l", match: matchDigits},
	hdrCallID:        {name: "Call-Id", cname: "i", match: matchCallID},
}

// matchLen measures the wanted part at d[i:] (the header's match_len).
func (m *sipMsg) matchLen(k sipMatch, d []byte, i, limit int, shift *int) int {
	switch k {
	case matchDigits:
		return digitsLen(d, i, limit)
	case matchEpaddr:
		return m.epaddrLen(d, i, limit)
	case matchSkpEpaddr:
		return m.skpEpaddrLen(d, i, limit, shift)
	case matchCallID:
		return callidLen(d, i, limit)
	case matchSDPAddr:
		_, end, ok := m.sdpParseAddr(d, i, limit)
		if !ok {
			return 0
		}
		return end - i
	}
	return mediaLen(d, i, limit)
}

// followContinuation steps over a line end onto a continuation line's
// first non-blank, or returns -1 if the next line is no continuation
// (sip_follow_continuation).
func followContinuation(d []byte, i, limit int) int {
	i++
	if i >= limit {
		return -1
	}
	if d[i-1] == '\r' && d[i] == '\n' {
		i++
		if i >= limit {
			return -1
		}
	}
	if d[i] != ' ' && d[i] != '\t' {
		return -1
	}
	for i < limit && (d[i] == ' ' || d[i] == '\t') {
		i++
	}
	return i
}

// skipWhitespace skips blanks and continuation lines
// (sip_skip_whitespace); -1 if nothing follows.
func skipWhitespace(d []byte, i, limit int) int {
	for ; i < limit; i++ {
		if d[i] == ' ' || d[i] == '\t' {
			continue
		}
		if d[i] != '\r' && d[i] != '\n' {
			break
		}
		i = followContinuation(d, i, limit)
		break
	}
	if i < 0 || i >= limit {
		return -1
	}
	return i
}

// headerSearch finds needle, ignoring case, in a header value that may
// go on over continuation lines (ct_sip_header_search); -1 if it is not
// there.
func headerSearch(d []byte, i, limit int, needle string) int {
	for limit -= len(needle); i < limit; i++ {
		if d[i] == '\r' || d[i] == '\n' {
			if i = followContinuation(d, i, limit); i < 0 {
				break
			}
			continue
		}
		if equalFold(d[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}

// getHeader finds a header at a line start after off (ct_sip_get_header):
// 1 with the wanted part's offset and length, 0 if there is none, -1 if
// it is there but unreadable.
func (m *sipMsg) getHeader(d []byte, off int, typ int) (ret, moff, mlen int) {
	hdr := &sipHeaders[typ]
	limit := len(d)
	shift := 0
	for i := off; i < limit; i++ {
		if d[i] != '\r' && d[i] != '\n' {
			continue
		}
		if i++; i >= limit {
			break
		}
		if d[i-1] == '\r' && d[i] == '\n' {
			if i++; i >= limit {
				break
			}
		}
		if d[i] == ' ' || d[i] == '\t' {
			continue // a continuation line
		}
		// A compact name must not be followed by a letter.
		switch {
		case limit-i >= len(hdr.name) && equalFold(d[i:i+len(hdr.name)], hdr.name):
			i += len(hdr.name)
		case hdr.cname != "" && limit-i >= len(hdr.cname)+1 && equalFold(d[i:i+len(hdr.cname)], hdr.cname) && !sipAlpha(d[i+len(hdr.cname)]):
			i += len(hdr.cname)
		default:
			continue
		}
		if i = skipWhitespace(d, i, limit); i < 0 {
			break
		}
		if d[i] != ':' {
			break
		}
		if i++; i >= limit {
			break
		}
		if i = skipWhitespace(d, i, limit); i < 0 {
			break
		}
		// An unreadable value reports where it starts: a walk of the
		// headers goes on from there.
		value := i
		if hdr.search != "" {
			if i = headerSearch(d, i, limit, hdr.search); i < 0 {
				return -1, value, 0
			}
			i += len(hdr.search)
		}
		n := m.matchLen(hdr.match, d, i, limit, &shift)
		if n == 0 {
			return -1, value, 0
		}
		return 1, i + shift, n
	}
	return 0, 0, 0
}

// nextHeader finds the next value of a comma-separated header list
// (ct_sip_next_header).
func (m *sipMsg) nextHeader(d []byte, off int, typ int) (ret, moff, mlen int) {
	hdr := &sipHeaders[typ]
	limit := len(d)
	shift := 0
	i := headerSearch(d, off, limit, ",")
	if i < 0 {
		return 0, 0, 0
	}
	if i = headerSearch(d, i, limit, hdr.search); i < 0 {
		return 0, 0, 0
	}
	i += len(hdr.search)
	n := m.matchLen(hdr.match, d, i, limit, &shift)
	if n == 0 {
		return -1, i, 0
	}
	return 1, i + shift, n
}

// walkHeaders finds the next readable value of a header, in the list
// being read (*inHeader) or in the next header (ct_sip_walk_headers).
func (m *sipMsg) walkHeaders(d []byte, off int, typ int, inHeader *bool) (ret, moff, mlen int) {
	if inHeader != nil && *inHeader {
		for {
			ret, moff, mlen = m.nextHeader(d, off, typ)
			if ret > 0 {
				return ret, moff, mlen
			}
			if ret == 0 {
				break
			}
			off = moff
		}
		*inHeader = false
	}
	for {
		ret, moff, mlen = m.getHeader(d, off, typ)
		if ret > 0 {
			break
		}
		if ret == 0 {
			return 0, 0, 0
		}
		off = moff
	}
	if inHeader != nil {
		*inHeader = true
	}
	return 1, moff, mlen
}

// parseHeaderURI finds a header's URI and reads its address and port
// (ct_sip_parse_header_uri); with off it reads a stream of headers,
// moving *off past each.
func (m *sipMsg) parseHeaderURI(d []byte, off *int, typ int, inHeader *bool) (ret, moff, mlen int, addr [16]byte, port uint16) {
	start := 0
	if off != nil {
		start = *off
	}
	ret, moff, mlen = m.walkHeaders(d, start, typ, inHeader)
	if ret == 0 {
		return 0, 0, 0, addr, 0
	}
	addr, end, ok := m.parseAddr(d, moff, len(d), true)
	if !ok {
		return -1, moff, mlen, addr, 0
	}
	if port, end, ok = sipParsePort(d, end, len(d)); !ok {
		return -1, moff, mlen, addr, 0
	}
	if off != nil {
		*off = end
	}
	return 1, moff, mlen, addr, port
}

// paramLimit is where a header's parameters end: the next value of a
// list, or the message's end.
func paramLimit(d []byte, off int) int {
	if l := headerSearch(d, off, len(d), ","); l >= 0 {
		return l
	}
	return len(d)
}

// parseParam finds a parameter "name…" after off, up to the next ';'
// (ct_sip_parse_param).
func parseParam(d []byte, off int, name string) (ok bool, moff, mlen int) {
	limit := paramLimit(d, off)
	s := headerSearch(d, off, limit, name)
	if s < 0 {
		return false, 0, 0
	}
	s += len(name)
	e := headerSearch(d, s, limit, ";")
	if e < 0 {
		e = limit
	}
	return true, s, e - s
}

// parseAddressParam reads an address parameter ("maddr=",
// "received=") after off (ct_sip_parse_address_param).
func (m *sipMsg) parseAddressParam(d []byte, off int, name string, delim bool) (ok bool, moff, mlen int, addr [16]byte) {
	limit := paramLimit(d, off)
	s := headerSearch(d, off, limit, name)
	if s < 0 {
		return false, 0, 0, addr
	}
	s += len(name)
	addr, end, ok := m.parseAddr(d, s, limit, delim)
	if !ok {
		return false, 0, 0, addr
	}
	return true, s, end - s, addr
}

// parseNumericalParam reads a numerical parameter ("expires=",
// "rport=") after off (ct_sip_parse_numerical_param): 1 with its value,
// 0 if it is not there, -1 if it is not a number.
func parseNumericalParam(d []byte, off int, name string) (ret, moff, mlen int, val uint32) {
	limit := paramLimit(d, off)
	s := headerSearch(d, off, limit, name)
	if s < 0 {
		return 0, 0, 0, 0
	}
	s += len(name)
	val, end := sipStrtouint(d[:limit], s, limit-s)
	if end == s {
		return -1, 0, 0, 0
	}
	return 1, s, end - s, val
}

// parseTransport reads a URI's transport= parameter, which must be the
// connection's own protocol (ct_sip_parse_transport).
func (m *sipMsg) parseTransport(d []byte, off int) (uint8, bool) {
	ok, moff, _ := parseParam(d, off, "transport=")
	if !ok {
		return m.proto, true
	}
	var p uint8
	switch {
	case len(d)-moff >= 3 && equalFold(d[moff:moff+3], "TCP"):
		p = packet.ProtoTCP
	case len(d)-moff >= 3 && equalFold(d[moff:moff+3], "UDP"):
		p = packet.ProtoUDP
	default:
		return 0, false
	}
	return p, p == m.proto
}

// sdpParseAddr reads an SDP address, without brackets (sdp_parse_addr).
func (m *sipMsg) sdpParseAddr(d []byte, i, limit int) (addr [16]byte, end int, ok bool) {
	if m.fam == packet.IPv4 {
		a, ok, e := in4pton(d, i, limit-i, -1)
		if !ok {
			return addr, 0, false
		}
		copy(addr[:], a[:])
		return addr, e, true
	}
	if i > limit {
		return addr, 0, false
	}
	a, ok, n := in6pton(d[i:limit], limit-i, -1)
	if !ok {
		return addr, 0, false
	}
	return a, i + n, true
}

// The SDP lines, by enum sdp_header_types.
const (
	sdpUnspec = iota
	sdpVersion
	sdpOwner
	sdpConnection
	sdpMedia
)

var sdpHeaders = [2][5]sipHeader{
	{ // IPv4
		sdpVersion:    {name: "v=", match: matchDigits},
		sdpOwner:      {name: "o=", search: "IN IP4 ", match: matchSDPAddr},
		sdpConnection: {name: "c=", search: "IN IP4 ", match: matchSDPAddr},
		sdpMedia:      {name: "m=", match: matchMedia},
	},
	{ // IPv6
		sdpVersion:    {name: "v=", match: matchDigits},
		sdpOwner:      {name: "o=", search: "IN IP6 ", match: matchSDPAddr},
		sdpConnection: {name: "c=", search: "IN IP6 ", match: matchSDPAddr},
		sdpMedia:      {name: "m=", match: matchMedia},
	},
}

// sdpHeaderSearch finds needle, exactly, on the rest of one SDP line
// (ct_sdp_header_search).
func sdpHeaderSearch(d []byte, i, limit int, needle string) int {
	for limit -= len(needle); i < limit; i++ {
		if d[i] == '\r' || d[i] == '\n' {
			break
		}
		if string(d[i:i+len(needle)]) == needle {
			return i
		}
	}
	return -1
}

// getSDPHeader finds an SDP line at a line start after off, stopping at
// the first term line unless term is sdpUnspec (ct_sip_get_sdp_header).
func (m *sipMsg) getSDPHeader(d []byte, off, typ, term int) (ret, moff, mlen int) {
	hdrs := &sdpHeaders[0]
	if m.fam == packet.IPv6 {
		hdrs = &sdpHeaders[1]
	}
	hdr, thdr := &hdrs[typ], &hdrs[term]
	limit := len(d)
	shift := 0
	for i := off; i < limit; i++ {
		if d[i] != '\r' && d[i] != '\n' {
			continue
		}
		if i++; i >= limit {
			break
		}
		if d[i-1] == '\r' && d[i] == '\n' {
			if i++; i >= limit {
				break
			}
		}
		if term != sdpUnspec && limit-i >= len(thdr.name) && equalFold(d[i:i+len(thdr.name)], thdr.name) {
			break
		}
		if !(limit-i >= len(hdr.name) && equalFold(d[i:i+len(hdr.name)], hdr.name)) {
			continue
		}
		i += len(hdr.name)
		if hdr.search != "" {
			if i = sdpHeaderSearch(d, i, limit, hdr.search); i < 0 {
				return -1, 0, 0
			}
			i += len(hdr.search)
		}
		n := m.matchLen(hdr.match, d, i, limit, &shift)
		if n == 0 {
			return -1, 0, 0
		}
		return 1, i + shift, n
	}
	return 0, 0, 0
}

// parseSDPAddr finds an SDP line's address and reads it
// (ct_sip_parse_sdp_addr).
func (m *sipMsg) parseSDPAddr(d []byte, off, typ, term int) (ret, moff, mlen int, addr [16]byte) {
	ret, moff, mlen = m.getSDPHeader(d, off, typ, term)
	if ret <= 0 {
		return ret, 0, 0, addr
	}
	addr, _, ok := m.sdpParseAddr(d, moff, moff+mlen)
	if !ok {
		return -1, 0, 0, addr
	}
	return 1, moff, mlen, addr
}

// sipHandler is what the helper does with a method's requests and
// responses (struct sip_handler).
type sipHandler struct {
	method   string
	request  func(m *sipMsg, cseq uint32) Verdict
	response func(m *sipMsg, cseq, code uint32) Verdict
}

var sipHandlers []sipHandler

func init() {
	sipHandlers = []sipHandler{
		{"INVITE", processInviteRequest, processMediaResponse},
		{"UPDATE", func(m *sipMsg, _ uint32) Verdict { return m.processSDP() }, processMediaResponse},
		{"ACK", func(m *sipMsg, _ uint32) Verdict { return m.processSDP() }, nil},
		{"PRACK", func(m *sipMsg, _ uint32) Verdict { return m.processSDP() }, processMediaResponse},
		{"BYE", processByeRequest, nil},
		{"REGISTER", processRegisterRequest, processRegisterResponse},
	}
}

// flushExpectations removes the connection's media expectations, or its
// newest signalling one (flush_expectations).
func (m *sipMsg) flushExpectations(media bool) {
	m.c.Table.RemoveExpectations(m.c.CT, func(e *conntrack.Expectation) bool {
		return (e.Class != sipSignalling) == media
	}, media, m.c.Now)
}

// addrEq compares two addresses of the connection's family, as
// nf_inet_addr_cmp compares the whole union.
func addrEq(a, b [16]byte) bool { return a == b }

// setExpectedRTPRTCP expects the RTP and RTCP streams of one media
// description at daddr:port (set_expected_rtp_rtcp).
func (m *sipMsg) setExpectedRTPRTCP(daddr *[16]byte, port uint16, class uint8, mediaoff, medialen int) Verdict {
	c, cfg := m.c, m.h.cfg
	var saddr *[16]byte
	switch {
	case !cfg.SIPIndirectMedia:
		if !addrEq(*daddr, m.this.Src) {
			return accept
		}
		saddr = &m.othr.Src
	case cfg.SIPExternalMedia:
		// No expectation for media reached through the interface the
		// signalling leaves by.
		if c.Routes != nil && c.Out != "" && c.Routes.Route(tupleAddr(m.fam, daddr)) == c.Out {
			return accept
		}
	}
	tuple := conntrack.Tuple{Dst: *daddr, DstPort: port, Family: m.fam, Proto: packet.ProtoUDP, Zone: m.this.Zone}
	if saddr != nil {
		tuple.Src = *saddr
	}
	directRTP, skipExpect := false, false
	for !skipExpect {
		exp, ok := c.Table.FindExpectation(tuple, c.Now)
		if !ok || exp.Master == c.tuple(conntrack.Original) || exp.Helper != conntrack.Helper(m.h) || exp.Class != class {
			break
		}
		if !directRTP && (exp.SavedAddr != exp.Tuple.Dst || exp.SavedPort != exp.Tuple.DstPort) && m.natted {
			// Both calls are NATed: the ends can reach each other
			// directly, at what the other call's expectation saved.
			*daddr = exp.SavedAddr
			tuple.Dst, tuple.DstPort = exp.SavedAddr, exp.SavedPort
			directRTP = true
		} else {
			skipExpect = true
		}
	}
	base := tuple.DstPort &^ 1
	rtpPort, rtcpPort := base, base+1
	if directRTP && !m.natSDPPort(mediaoff, medialen, rtpPort) {
		return drop("cannot add expectation for voice")
	}
	if skipExpect {
		return accept
	}
	mask := conntrack.ExpectAnySrcPort
	if saddr == nil {
		mask |= conntrack.ExpectAnySrcAddr
	}
	rtp := conntrack.Expectation{Tuple: tuple, Mask: mask, Class: class}
	rtp.Tuple.DstPort = rtpPort
	if saddr == nil {
		rtp.Tuple.Src = [16]byte{}
	}
	rtcp := rtp
	rtcp.Tuple.DstPort = rtcpPort
	if m.natted && !directRTP {
		return m.natSDPMedia(&rtp, &rtcp, mediaoff, medialen, daddr)
	}
	// An identical expectation, of another call (two endpoints that
	// get the same call) or another media type, counts as set up.
	err := c.Table.ExpectAnyMaster(c.CT, rtp, c.Now)
	if err == nil || errors.Is(err, conntrack.ErrExpectationExists) {
		errc := c.Table.ExpectAnyMaster(c.CT, rtcp, c.Now)
		if errc == nil || errors.Is(errc, conntrack.ErrExpectationExists) {
			return accept
		}
		if err == nil {
			c.Table.Unexpect(c.CT, rtp, c.Now)
		}
	}
	return drop("cannot add expectation for voice")
}

// sdpMediaTypes are the media a description may announce.
var sdpMediaTypes = []struct {
	name  string
	class uint8
}{{"audio ", sipAudio}, {"video ", sipVideo}, {"image ", sipImage}}

// processSDP reads a message's session description and expects its
// media (process_sdp).
func (m *sipMsg) processSDP() Verdict {
	d := m.data()
	ret, sdpoff, _ := m.getSDPHeader(d, 0, sdpVersion, sdpUnspec)
	if ret <= 0 {
		return accept
	}
	var caddr, rtpAddr [16]byte
	caddrLen := 0
	haveRTPAddr := false
	if r, _, ml, a := m.parseSDPAddr(d, sdpoff, sdpConnection, sdpMedia); r > 0 {
		caddr, caddrLen, rtpAddr, haveRTPAddr = a, ml, a, true
	}
	mediaoff := sdpoff
	for i := 0; i < len(sdpMediaTypes); {
		d = m.data()
		r, moff, mlen := m.getSDPHeader(d, mediaoff, sdpMedia, sdpUnspec)
		if r <= 0 {
			break
		}
		mediaoff = moff
		t := -1
		for k, mt := range sdpMediaTypes {
			if mlen >= len(mt.name) && string(d[moff:moff+len(mt.name)]) == mt.name {
				t = k
				break
			}
		}
		if t < 0 {
			mediaoff += mlen
			continue
		}
		mediaoff += len(sdpMediaTypes[t].name)
		medialen := mlen - len(sdpMediaTypes[t].name)
		port, end := sipStrtouint(d, mediaoff, len(d)-mediaoff)
		if port == 0 || end == mediaoff {
			continue // port 0: an inactive stream
		}
		if port < 1024 || port > 65535 {
			return drop("wrong port %d", port)
		}
		maddrLen := 0
		if r, _, ml, a := m.parseSDPAddr(d, mediaoff, sdpConnection, sdpMedia); r > 0 {
			maddrLen, rtpAddr, haveRTPAddr = ml, a, true
		} else if caddrLen > 0 {
			rtpAddr, haveRTPAddr = caddr, true
		} else {
			return drop("cannot parse SDP message")
		}
		if v := m.setExpectedRTPRTCP(&rtpAddr, uint16(port), sdpMediaTypes[t].class, mediaoff, medialen); v.Drop {
			return drop("cannot add expectation for voice")
		}
		if maddrLen > 0 && m.natted && !m.natSDPAddr(mediaoff, sdpConnection, sdpMedia, &rtpAddr) {
			return drop("cannot mangle SDP")
		}
		i++
	}
	if m.natted && haveRTPAddr && !m.natSDPSession(sdpoff, &rtpAddr) {
		return drop("cannot NAT SIP message")
	}
	return accept
}

// processMediaResponse handles the responses to INVITE, UPDATE and
// PRACK: a provisional or a success carries the answer's SDP; a failure
// of the INVITE being set up takes its media expectations back.
func processMediaResponse(m *sipMsg, cseq, code uint32) Verdict {
	if code >= 100 && code <= 299 {
		return m.processSDP()
	}
	if m.st.inviteCSeq == cseq {
		m.flushExpectations(true)
	}
	return accept
}

func processInviteRequest(m *sipMsg, cseq uint32) Verdict {
	m.flushExpectations(true)
	v := m.processSDP()
	if !v.Drop {
		m.st.inviteCSeq = cseq
	}
	return v
}

func processByeRequest(m *sipMsg, _ uint32) Verdict {
	m.flushExpectations(true)
	return accept
}

// processRegisterRequest expects the registrar's incoming signalling
// connection to the contact a REGISTER gives: a permanent expectation,
// inactive until the registrar accepts (process_register_request).
func processRegisterRequest(m *sipMsg, cseq uint32) Verdict {
	c := m.c
	if c.CT.Status&conntrack.StatusExpected != 0 {
		return accept // an expected connection cannot register again
	}
	d := m.data()
	var expires uint32
	if r, off, _ := m.getHeader(d, 0, hdrExpires); r > 0 {
		expires, _ = sipStrtouint(d, off, len(d)-off)
	}
	ret, moff, mlen, daddr, port := m.parseHeaderURI(d, nil, hdrContact, nil)
	if ret < 0 {
		return drop("cannot parse contact")
	}
	if ret == 0 || !addrEq(m.this.Src, daddr) {
		return accept // no contact, or a third party's registration
	}
	proto, ok := m.parseTransport(d, moff+mlen)
	if !ok {
		return accept
	}
	if r, _, _, v := parseNumericalParam(d, moff+mlen, "expires="); r < 0 {
		return drop("cannot parse expires")
	} else if r > 0 {
		expires = v
	}
	v := accept
	if expires != 0 {
		exp := conntrack.Expectation{Class: sipSignalling, Mask: conntrack.ExpectAnySrcPort | conntrack.ExpectAnySrcAddr,
			Flags: conntrack.ExpectPermanent | conntrack.ExpectInactive, AssignHelper: m.h}
		exp.Tuple = conntrack.Tuple{Dst: daddr, DstPort: port, Family: m.fam, Proto: proto, Zone: m.this.Zone}
		if !m.h.cfg.SIPIndirectSignalling {
			exp.Tuple.Src, exp.Mask = m.othr.Src, conntrack.ExpectAnySrcPort
		}
		if m.natted {
			v = m.natSIPExpect(&exp, moff, mlen)
		} else if c.Table.Expect(c.CT, exp, c.Now) != nil {
			v = drop("cannot add expectation")
		}
	}
	if !v.Drop {
		m.st.registerCSeq = cseq
	}
	return v
}

// processRegisterResponse activates the registration's expectation when
// the registrar accepts it, for as long as it grants, or removes it
// (process_register_response).
func processRegisterResponse(m *sipMsg, cseq, code uint32) Verdict {
	// A late response to an earlier REGISTER is not this one's.
	if m.st.registerCSeq != cseq || code >= 100 && code <= 199 {
		return accept
	}
	if code >= 200 && code <= 299 {
		d := m.data()
		var expires uint32
		if r, off, _ := m.getHeader(d, 0, hdrExpires); r > 0 {
			expires, _ = sipStrtouint(d, off, len(d)-off)
		}
		coff, inContact := 0, false
		for {
			cexpires := expires
			ret, moff, mlen, addr, port := m.parseHeaderURI(d, &coff, hdrContact, &inContact)
			if ret < 0 {
				return drop("cannot parse contact")
			}
			if ret == 0 {
				break
			}
			if !addrEq(m.this.Dst, addr) {
				continue
			}
			proto, ok := m.parseTransport(d, moff+mlen)
			if !ok {
				continue
			}
			r, _, _, v := parseNumericalParam(d, moff+mlen, "expires=")
			if r < 0 {
				return drop("cannot parse expires")
			}
			if r > 0 {
				cexpires = v
			}
			if cexpires == 0 {
				break
			}
			if m.c.Table.RefreshExpectation(m.c.CT, func(e *conntrack.Expectation) bool {
				return e.Class == sipSignalling && e.Tuple.Dst == addr && e.Tuple.Proto == proto && e.Tuple.DstPort == port
			}, time.Duration(cexpires)*time.Second, m.c.Now) {
				return accept
			}
		}
	}
	m.flushExpectations(false)
	return accept
}

// processResponse handles a response (process_sip_response).
func (m *sipMsg) processResponse() Verdict {
	d := m.data()
	if len(d) < len("SIP/2.0 200") {
		return accept
	}
	code, _ := sipStrtouint(d, len("SIP/2.0 "), len(d)-len("SIP/2.0 "))
	if code == 0 {
		return drop("cannot get code")
	}
	r, moff, mlen := m.getHeader(d, 0, hdrCSeq)
	if r <= 0 {
		return drop("cannot parse cseq")
	}
	cseq, end := sipStrtouint(d, moff, len(d)-moff)
	if end == moff {
		return drop("cannot get cseq")
	}
	matchend := moff + mlen + 1
	for _, hd := range sipHandlers {
		if hd.response == nil || len(d) < matchend+len(hd.method) || !equalFold(d[matchend:matchend+len(hd.method)], hd.method) {
			continue
		}
		return hd.response(m, cseq, code)
	}
	return accept
}

// processRequest handles a request (process_sip_request).
func (m *sipMsg) processRequest() Verdict {
	d := m.data()
	// A phone that sends from another port than the one it listens on
	// (Cisco) says where in its Via header: NAT sends the answers there.
	if r, _, _, addr, port := m.parseHeaderURI(d, nil, hdrViaUDP, nil); r > 0 && port != m.this.SrcPort && addrEq(addr, m.this.Src) {
		m.st.forcedDport = port
	}
	for _, hd := range sipHandlers {
		n := len(hd.method)
		if hd.request == nil || len(d) < n+2 || !equalFold(d[:n], hd.method) || d[n] != ' ' || !sipAlpha(d[n+1]) {
			continue
		}
		r, moff, _ := m.getHeader(d, 0, hdrCSeq)
		if r <= 0 {
			return drop("cannot parse cseq")
		}
		cseq, end := sipStrtouint(d, moff, len(d)-moff)
		if end == moff {
			return drop("cannot get cseq")
		}
		return hd.request(m, cseq)
	}
	return accept
}

// processMsg handles one message, and NATs it (process_sip_msg).
func (m *sipMsg) processMsg() Verdict {
	d := m.data()
	var v Verdict
	if !equalFold(d[:min(len(d), 8)], "SIP/2.0 ") {
		v = m.processRequest()
	} else {
		v = m.processResponse()
	}
	if !v.Drop && m.natted && !m.natSIP() {
		v = drop("cannot NAT SIP message")
	}
	return v
}

// sipHelp is the SIP helper's help function (sip_help_udp, sip_help_tcp).
func sipHelp(h *Helper, c *Call) Verdict {
	p := c.Packet
	if p.L4Off == 0 || p.PayloadOff >= p.Length {
		return accept
	}
	tcp := p.Proto == packet.ProtoTCP
	if tcp && !c.established() {
		return accept
	}
	// The signalling connection lives for sip_timeout.
	c.Table.Refresh(c.CT, h.cfg.SIPTimeout, c.Now)
	payload := p.Payload()
	if len(payload) < len("SIP/2.0 200") {
		return accept
	}
	var st sipState
	st.load(c.Data)
	defer st.store(c.Data)
	dir := c.dir()
	m := &sipMsg{h: h, c: c, st: &st, fam: p.Family, proto: p.Proto, dir: dir,
		this: c.tuple(dir), othr: c.tuple(1 - dir), natted: c.natted()}
	if !tcp {
		m.base, m.n = 0, len(payload)
		return m.processMsg()
	}
	// A TCP segment may hold several messages, each framed by its
	// Content-Length.
	seq := p.Seq
	base, datalen, tdiff := 0, len(payload), 0
	v := accept
	for {
		m.base, m.n = base, datalen
		d := m.data()
		r, moff, _ := m.getHeader(d, 0, hdrContentLength)
		if r <= 0 {
			break
		}
		clen, end := sipStrtouint(d, moff, len(d)-moff)
		if end == moff || int(clen) > len(d) {
			break
		}
		term := false
		for ; end+4 <= len(d); end++ {
			if string(d[end:end+4]) == "\r\n\r\n" {
				term = true
				break
			}
		}
		if !term {
			break
		}
		end += 4 + int(clen)
		if end > len(d) {
			return accept
		}
		m.n = end
		v = m.processMsg()
		if v.Drop {
			break
		}
		diff := m.n - end
		tdiff += diff
		base += m.n
		datalen = datalen + diff - m.n
	}
	if !v.Drop && m.natted && tdiff != 0 {
		c.Table.AdjustSeq(c.CT, seq, int32(tdiff), c.Now)
	}
	return v
}
