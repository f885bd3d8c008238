package helpers

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/nat"
	"github.com/nfgo/nfgo/packet"
)

// The NAT side of SIP (nf_nat_sip.c): rewriting the addresses and ports
// a message names that belong to the connection or to its media, and
// the expectfn that NATs an expected media stream or signalling
// connection when it arrives.

// ExpectSIP is the name of the kernel's nf_nat_sip_expected, for
// conntrack.Expectation.Fn.
const ExpectSIP = "sip"

// mangle replaces n bytes at offset off of the message with rep
// (mangle_packet): TCP's sequence numbers are adjusted once for the
// whole segment, after all its messages.
func (m *sipMsg) mangle(off, n int, rep []byte) bool {
	if !m.c.Packet.ReplacePayload(m.base+off, n, rep) {
		return false
	}
	m.n += len(rep) - n
	return true
}

// tupleAddr returns a tuple-laid-out address as a netip.Addr.
func tupleAddr(f packet.Family, a *[16]byte) netip.Addr {
	if f == packet.IPv4 {
		return netip.AddrFrom4([4]byte(a[:4]))
	}
	return netip.AddrFrom16(*a)
}

// appendAddr writes an address as the kernel's %pI4 or %pI6c do; with
// brackets for IPv6 when delim is set (sip_sprintf_addr).
func appendAddr(b []byte, f packet.Family, a *[16]byte, delim bool) []byte {
	if f == packet.IPv4 {
		return netip.AddrFrom4([4]byte(a[:4])).AppendTo(b)
	}
	if delim {
		b = append(b, '[')
	}
	b = appendIPv6Compressed(b, a)
	if delim {
		b = append(b, ']')
	}
	return b
}

// appendAddrPort writes "addr:port", IPv6 in brackets
// (sip_sprintf_addr_port).
func appendAddrPort(b []byte, f packet.Family, a *[16]byte, port uint16) []byte {
	b = appendAddr(b, f, a, true)
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(port), 10)
}

// appendIPv6Compressed writes an IPv6 address as the kernel's %pI6c
// does (ip6_compressed_string): the longest run of two or more zero
// words as "::", and an IPv4-mapped or ISATAP address's last four bytes
// dotted.
func appendIPv6Compressed(b []byte, a *[16]byte) []byte {
	const hex = "0123456789abcdef"
	v4mapped := binary.BigEndian.Uint64(a[:8]) == 0 && binary.BigEndian.Uint32(a[8:12]) == 0xffff
	isatap := (binary.BigEndian.Uint32(a[8:12]) | 0x02000000) == 0x02005efe
	useV4 := v4mapped || isatap
	words := 8
	if useV4 {
		words = 6
	}
	var zeros [8]int
	for i := range words {
		for j := i; j < words && a[2*j] == 0 && a[2*j+1] == 0; j++ {
			zeros[i]++
		}
	}
	longest, colonpos := 1, -1
	for i := range words {
		if zeros[i] > longest {
			longest, colonpos = zeros[i], i
		}
	}
	needColon := false
	for i := 0; i < words; i++ {
		if i == colonpos {
			if needColon || i == 0 {
				b = append(b, ':')
			}
			b = append(b, ':')
			needColon = false
			i += longest - 1
			continue
		}
		if needColon {
			b = append(b, ':')
		}
		hi, lo := a[2*i], a[2*i+1]
		switch {
		case hi > 0x0f:
			b = append(b, hex[hi>>4], hex[hi&0xf], hex[lo>>4], hex[lo&0xf])
		case hi != 0:
			b = append(b, hex[hi], hex[lo>>4], hex[lo&0xf])
		case lo > 0x0f:
			b = append(b, hex[lo>>4], hex[lo&0xf])
		default:
			b = append(b, hex[lo])
		}
		needColon = true
	}
	if useV4 {
		if needColon {
			b = append(b, ':')
		}
		b = netip.AddrFrom4([4]byte(a[12:16])).AppendTo(b)
	}
	return b
}

// mapAddr rewrites an address and port a message names that are the
// connection's own, in either position, to what the other side sees
// (map_addr).
func (m *sipMsg) mapAddr(off, n int, addr [16]byte, port uint16) bool {
	var na [16]byte
	var np uint16
	switch {
	case addrEq(m.this.Src, addr) && m.this.SrcPort == port:
		na, np = m.othr.Dst, m.othr.DstPort
	case addrEq(m.this.Dst, addr) && m.this.DstPort == port:
		na, np = m.othr.Src, m.othr.SrcPort
		if m.st.forcedDport != 0 {
			np = m.st.forcedDport
		}
	default:
		return true
	}
	if addrEq(na, addr) && np == port {
		return true
	}
	return m.mangle(off, n, appendAddrPort(nil, m.fam, &na, np))
}

// mapSIPAddr rewrites a header's URI (map_sip_addr).
func (m *sipMsg) mapSIPAddr(typ int) bool {
	r, off, n, addr, port := m.parseHeaderURI(m.data(), nil, typ, nil)
	if r <= 0 {
		return true
	}
	return m.mapAddr(off, n, addr, port)
}

// natSIP rewrites a message's request URI, topmost Via with its
// maddr, received and rport parameters, Contacts, From and To, and for
// a phone that listens on another port than it sends from, the
// destination port of what goes to it (nf_nat_sip).
func (m *sipMsg) natSIP() bool {
	request := false
	if d := m.data(); !equalFold(d[:min(len(d), 7)], "SIP/2.0") {
		if r, off, n, addr, port := m.parseRequest(d); r > 0 && !m.mapAddr(off, n, addr, port) {
			return false
		}
		request = true
	}
	via := hdrViaUDP
	if m.proto == packet.ProtoTCP {
		via = hdrViaTCP
	}
	if r, off, n, addr, port := m.parseHeaderURI(m.data(), nil, via, nil); r > 0 {
		// Only the Via of this connection's end is its business.
		ours := addrEq(addr, m.this.Src) && port == m.this.SrcPort
		if !request {
			ours = addrEq(addr, m.this.Dst) && port == m.this.DstPort
		}
		if ours && !m.natVia(off, n, addr, port) {
			return false
		}
	}
	coff, inHeader := 0, false
	for {
		r, off, n, addr, port := m.parseHeaderURI(m.data(), &coff, hdrContact, &inHeader)
		if r <= 0 {
			break
		}
		before := m.n
		if !m.mapAddr(off, n, addr, port) {
			return false
		}
		coff += m.n - before
	}
	if !m.mapSIPAddr(hdrFrom) || !m.mapSIPAddr(hdrTo) {
		return false
	}
	if m.dir == conntrack.Reply && m.st.forcedDport != 0 {
		if m.proto != packet.ProtoUDP {
			return false
		}
		// The new port, and every checksum recomputed as a rewrite of
		// nothing leaves them (nf_nat_mangle_udp_packet).
		p := m.c.Packet
		binary.BigEndian.PutUint16(p.L4()[2:4], m.st.forcedDport)
		if !p.ReplacePayload(0, 0, nil) {
			return false
		}
	}
	return true
}

// natVia rewrites the topmost Via and its parameters.
func (m *sipMsg) natVia(off, n int, addr [16]byte, port uint16) bool {
	olen := m.n
	if !m.mapAddr(off, n, addr, port) {
		return false
	}
	matchend := off + n + m.n - olen
	// maddr= (RFC 3261) says where to send the reply.
	if ok, poff, plen, a := m.parseAddressParam(m.data(), matchend, "maddr=", true); ok &&
		addrEq(a, m.this.Src) && !addrEq(a, m.othr.Dst) {
		if !m.mangle(poff, plen, appendAddr(nil, m.fam, &m.othr.Dst, true)) {
			return false
		}
	}
	// received= is the address the server got the request from.
	if ok, poff, plen, a := m.parseAddressParam(m.data(), matchend, "received=", false); ok &&
		addrEq(a, m.this.Dst) && !addrEq(a, m.othr.Src) {
		if !m.mangle(poff, plen, appendAddr(nil, m.fam, &m.othr.Src, false)) {
			return false
		}
	}
	// rport= (RFC 3581) is the port it got it from.
	if r, poff, plen, v := parseNumericalParam(m.data(), matchend, "rport="); r > 0 &&
		v >= 1024 && v <= 65535 && uint16(v) == m.this.DstPort && uint16(v) != m.othr.SrcPort {
		if !m.mangle(poff, plen, strconv.AppendUint(nil, uint64(m.othr.SrcPort), 10)) {
			return false
		}
	}
	return true
}

// natSIPExpect NATs a REGISTER's signalling expectation and rewrites
// the Contact to where it is expected (nf_nat_sip_expect).
func (m *sipMsg) natSIPExpect(exp *conntrack.Expectation, moff, mlen int) Verdict {
	c := m.c
	newAddr := m.othr.Dst
	if addrEq(m.this.Src, m.othr.Dst) {
		newAddr = exp.Tuple.Dst // the connection will come from the reply
	}
	srcport := m.this.SrcPort
	if m.st.forcedDport != 0 {
		srcport = m.st.forcedDport
	}
	port := exp.Tuple.DstPort
	if exp.Tuple.DstPort == srcport {
		port = m.othr.DstPort
	}
	exp.SavedAddr, exp.SavedPort = exp.Tuple.Dst, exp.Tuple.DstPort
	exp.Tuple.Dst = newAddr
	exp.Dir = 1 - m.dir
	exp.Fn = ExpectSIP
	if port = m.h.expectPort(c, exp, port); port == 0 {
		return drop("all ports in use for SIP")
	}
	if exp.Tuple.Dst != exp.SavedAddr || exp.Tuple.DstPort != exp.SavedPort {
		if !m.mangle(moff, mlen, appendAddrPort(nil, m.fam, &newAddr, port)) {
			c.Table.Unexpect(c.CT, *exp, c.Now)
			return drop("cannot mangle packet")
		}
	}
	return accept
}

// mangleContentLen sets Content-Length to the session description's
// length (mangle_content_len).
func (m *sipMsg) mangleContentLen() bool {
	d := m.data()
	r, off, _ := m.getSDPHeader(d, 0, sdpVersion, sdpUnspec)
	if r <= 0 {
		return false
	}
	clen := len(d) - off + len("v=")
	r, off, n := m.getHeader(d, 0, hdrContentLength)
	if r <= 0 {
		return false
	}
	return m.mangle(off, n, strconv.AppendUint(nil, uint64(clen), 10))
}

// mangleSDP rewrites the address of an SDP line (mangle_sdp_packet):
// 0, errNoLine if the line is not there, errMangle if the rewrite
// failed.
func (m *sipMsg) mangleSDP(sdpoff, typ, term int, rep []byte) int {
	r, off, n := m.getSDPHeader(m.data(), sdpoff, typ, term)
	if r <= 0 {
		return errNoLine
	}
	if !m.mangle(off, n, rep) {
		return errMangle
	}
	return 0
}

const (
	errNoLine = -1 // -ENOENT
	errMangle = -2 // -EINVAL
)

// natSDPAddr rewrites a media description's connection address
// (nf_nat_sdp_addr).
func (m *sipMsg) natSDPAddr(mediaoff, typ, term int, addr *[16]byte) bool {
	if m.mangleSDP(mediaoff, typ, term, appendAddr(nil, m.fam, addr, false)) != 0 {
		return false
	}
	return m.mangleContentLen()
}

// natSDPPort rewrites a media description's port (nf_nat_sdp_port).
func (m *sipMsg) natSDPPort(mediaoff, medialen int, port uint16) bool {
	if !m.mangle(mediaoff, medialen, strconv.AppendUint(nil, uint64(port), 10)) {
		return false
	}
	return m.mangleContentLen()
}

// natSDPSession rewrites the session's owner and connection addresses
// (nf_nat_sdp_session); a session without a connection line is fine
// (RFC 2327: not required if every media description has one).
func (m *sipMsg) natSDPSession(sdpoff int, addr *[16]byte) bool {
	rep := appendAddr(nil, m.fam, addr, false)
	if m.mangleSDP(sdpoff, sdpOwner, sdpMedia, rep) != 0 {
		return false
	}
	if r := m.mangleSDP(sdpoff, sdpConnection, sdpMedia, rep); r != 0 && r != errNoLine {
		return false
	}
	return m.mangleContentLen()
}

// natSDPMedia NATs a media description's RTP and RTCP expectations, on
// the first pair of ports from the one named up that is free, and
// rewrites the port (nf_nat_sdp_media). rtpAddr becomes the address
// the media are expected at.
func (m *sipMsg) natSDPMedia(rtp, rtcp *conntrack.Expectation, mediaoff, medialen int, rtpAddr *[16]byte) Verdict {
	c := m.c
	if addrEq(m.this.Src, m.othr.Dst) {
		*rtpAddr = rtp.Tuple.Dst
	} else {
		*rtpAddr = m.othr.Dst
	}
	for _, e := range []*conntrack.Expectation{rtp, rtcp} {
		e.SavedAddr, e.SavedPort = e.Tuple.Dst, e.Tuple.DstPort
		e.Tuple.Dst = *rtpAddr
		e.Dir = 1 - m.dir
		e.Fn = ExpectSIP
	}
	port := rtp.Tuple.DstPort
	for ; port != 0; port += 2 {
		rtp.Tuple.DstPort, rtcp.Tuple.DstPort = port, port+1
		err := c.Table.ExpectPair(c.CT, [2]conntrack.Expectation{*rtp, *rtcp}, c.Now, true)
		if err == nil {
			break
		}
		if !errors.Is(err, conntrack.ErrExpectationClash) {
			port = 0
			break
		}
	}
	if port == 0 {
		return drop("all ports in use for SDP media")
	}
	if rtp.Tuple.DstPort != rtp.SavedPort && !m.natSDPPort(mediaoff, medialen, port) {
		c.Table.Unexpect(c.CT, *rtp, c.Now)
		c.Table.Unexpect(c.CT, *rtcp, c.Now)
		return drop("cannot mangle SDP message")
	}
	return accept
}

// sipExpected is nf_nat_sip_expected: an expected media stream or
// signalling connection is sent on to where the payload said, and a
// media stream's source is NATed as its pair's destination was (or, if
// it comes from the master's own end, as the master's).
func sipExpected(exp *conntrack.Expectation, ct *conntrack.Result, tb *conntrack.Table, n NATSetup, now time.Time) bool {
	if !n.SetupNAT(single(exp.SavedAddr, exp.SavedPort, true), nat.ManipDst) {
		return false
	}
	orig := ct.Tuple(conntrack.Original)
	var snat *[16]byte
	var sport uint16
	withPort := false
	if exp.Class != sipSignalling {
		pairs := tb.MasterExpectations(exp.Master, now)
		for i := len(pairs) - 1; i >= 0; i-- { // the master's list, newest first
			p := &pairs[i]
			if p.Tuple.Family == orig.Family && p.Tuple.Proto == orig.Proto && orig.Src == p.SavedAddr && orig.SrcPort == p.SavedPort {
				snat, sport, withPort = &p.Tuple.Dst, p.Tuple.DstPort, true
				break
			}
		}
	}
	if snat == nil && orig.Src == masterTuple(exp, exp.Dir).Src {
		snat = &masterTuple(exp, 1-exp.Dir).Dst
	}
	if snat == nil {
		return true
	}
	return n.SetupNAT(single(*snat, sport, withPort), nat.ManipSrc)
}
