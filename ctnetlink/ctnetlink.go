// Package ctnetlink moves connections between the kernel's connection
// tracking table and nfgo's, over netlink (ctnetlink): it dumps the
// kernel's table and follows its events, so that nfgo can adopt the
// connections of a box that switches from the kernel firewall to nfgo,
// and it creates connections in the kernel, with their NAT bindings, so
// that nfgo can hand them back.
//
// A connection is created as conntrackd creates the ones it commits:
// the reply tuple given is the inverse of the original, the NAT
// bindings come as CTA_NAT_SRC and CTA_NAT_DST (one address and port
// each), from which the kernel computes the reply tuple and goes on
// translating, and TCP is be-liberal in both directions, so that the
// kernel learns the windows from the next packets. A literal NATed reply
// tuple would list the same in conntrack -L, but the kernel would
// translate nothing.
//
// nfgo speaks ctnetlink itself, like NFQUEUE (package nfq), rather than
// through github.com/ti-mo/conntrack: that library cannot create an
// entry with CTA_NAT_SRC or CTA_NAT_DST, and handing NAT back is the
// point; what is needed here is a few attributes each way.
package ctnetlink

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// netlink and nfnetlink framing.
const (
	nlmsgHdrLen = 16
	nfgenHdrLen = 4
	nlaHdrLen   = 4
	nlaNested   = 0x8000
	nlaTypeMask = 0x3fff

	subsysCT   = 1 // NFNL_SUBSYS_CTNETLINK
	msgNew     = 0 // IPCTNL_MSG_CT_NEW
	msgGet     = 1 // IPCTNL_MSG_CT_GET
	msgDelete  = 2 // IPCTNL_MSG_CT_DELETE
	nfnetlinkV = 0
)

// The CTA_* attributes nfgo reads or writes.
const (
	ctaTupleOrig   = 1
	ctaTupleReply  = 2
	ctaStatus      = 3
	ctaProtoinfo   = 4
	ctaNATSrc      = 6
	ctaTimeout     = 7
	ctaMark        = 8
	ctaNATDst      = 13
	ctaZone        = 18
	ctaLabels      = 22
	ctaHelp        = 5
	ctaHelpName    = 1
	ctaTupleIP     = 1
	ctaTupleProto  = 2
	ctaTupleZone   = 3
	ctaIPv4Src     = 1
	ctaIPv4Dst     = 2
	ctaIPv6Src     = 3
	ctaIPv6Dst     = 4
	ctaProtoNum    = 1
	ctaProtoSrc    = 2
	ctaProtoDst    = 3
	ctaICMPID      = 4
	ctaICMPType    = 5
	ctaICMPCode    = 6
	ctaICMPv6ID    = 7
	ctaICMPv6Type  = 8
	ctaICMPv6Code  = 9
	ctaInfoTCP     = 1
	ctaInfoSCTP    = 3
	ctaTCPState    = 1
	ctaTCPFlagsOrg = 4
	ctaTCPFlagsRep = 5
	ctaSCTPState   = 1
	ctaNATv4Min    = 1
	ctaNATv4Max    = 2
	ctaNATProto    = 3
	ctaNATv6Min    = 4
	ctaNATv6Max    = 5
	ctaNATPortMin  = 1
	ctaNATPortMax  = 2

	tcpBeLiberal = 0x08 // IP_CT_TCP_FLAG_BE_LIBERAL
)

// ErrMalformed is wrapped by Decode's errors.
var ErrMalformed = errors.New("ctnetlink: malformed conntrack message")

// attrs iterates over a block of attributes.
type attrs []byte

// next splits the first attribute off a; ok is false at the end, and
// err is set for a malformed attribute.
func (a *attrs) next() (typ uint16, data []byte, ok bool, err error) {
	b := *a
	if len(b) == 0 {
		return 0, nil, false, nil
	}
	if len(b) < nlaHdrLen {
		return 0, nil, false, fmt.Errorf("%w: %d bytes of an attribute", ErrMalformed, len(b))
	}
	n := int(binary.NativeEndian.Uint16(b))
	if n < nlaHdrLen || n > len(b) {
		return 0, nil, false, fmt.Errorf("%w: attribute length %d of %d", ErrMalformed, n, len(b))
	}
	typ = binary.NativeEndian.Uint16(b[2:]) & nlaTypeMask
	data = b[nlaHdrLen:n]
	if al := (n + 3) &^ 3; al < len(b) {
		*a = b[al:]
	} else {
		*a = nil
	}
	return typ, data, true, nil
}

// each calls fn for every attribute of b.
func each(b []byte, fn func(typ uint16, data []byte) error) error {
	a := attrs(b)
	for {
		typ, data, ok, err := a.next()
		if err != nil || !ok {
			return err
		}
		if err := fn(typ, data); err != nil {
			return err
		}
	}
}

func be16(d []byte) (uint16, error) {
	if len(d) < 2 {
		return 0, fmt.Errorf("%w: %d-byte 16-bit attribute", ErrMalformed, len(d))
	}
	return binary.BigEndian.Uint16(d), nil
}

func be32(d []byte) (uint32, error) {
	if len(d) < 4 {
		return 0, fmt.Errorf("%w: %d-byte 32-bit attribute", ErrMalformed, len(d))
	}
	return binary.BigEndian.Uint32(d), nil
}

func u8(d []byte) (uint8, error) {
	if len(d) < 1 {
		return 0, fmt.Errorf("%w: empty 8-bit attribute", ErrMalformed)
	}
	return d[0], nil
}

// Entry is a connection as the kernel lists it: the connection, and the
// name of its helper (CTA_HELP, "" for none), which Adopt resolves with
// conntrack.Table.HelperNamed.
type Entry struct {
	Conn   conntrack.Conn
	Helper string
}

// Decode reads a conntrack message's body (after the netlink header):
// the nfgenmsg and the CTA_* attributes, into the connection the table
// would hold. Counters and the windows are not read.
func Decode(body []byte) (Entry, error) {
	var en Entry
	c := &en.Conn
	if len(body) < nfgenHdrLen {
		return en, fmt.Errorf("%w: %d bytes", ErrMalformed, len(body))
	}
	var zone uint16
	err := each(body[nfgenHdrLen:], func(typ uint16, d []byte) error {
		var err error
		switch typ {
		case ctaTupleOrig:
			c.Orig, err = decodeTuple(d)
		case ctaTupleReply:
			c.Reply, err = decodeTuple(d)
		case ctaStatus:
			var s uint32
			s, err = be32(d)
			c.Status = conntrack.Status(s)
		case ctaTimeout:
			var s uint32
			s, err = be32(d)
			c.Timeout = secs(s)
		case ctaMark:
			c.Mark, err = be32(d)
		case ctaZone:
			zone, err = be16(d)
		case ctaLabels:
			if len(d) >= 16 {
				c.Labels = [2]uint64{binary.NativeEndian.Uint64(d), binary.NativeEndian.Uint64(d[8:])}
			}
		case ctaProtoinfo:
			err = decodeProtoinfo(d, c)
		case ctaHelp:
			err = each(d, func(typ uint16, d []byte) error {
				if typ == ctaHelpName {
					en.Helper = cString(d)
				}
				return nil
			})
		}
		return err
	})
	if err != nil {
		return en, err
	}
	if c.Orig.Family == 0 || c.Reply.Family != c.Orig.Family {
		return en, fmt.Errorf("%w: no tuples", ErrMalformed)
	}
	if c.Orig.Zone == 0 {
		c.Orig.Zone, c.Reply.Zone = zone, zone
	}
	return en, nil
}

// cString returns a NUL-terminated string attribute's text.
func cString(d []byte) string {
	if i := bytes.IndexByte(d, 0); i >= 0 {
		d = d[:i]
	}
	return string(d)
}

func decodeProtoinfo(b []byte, c *conntrack.Conn) error {
	return each(b, func(typ uint16, d []byte) error {
		switch typ {
		case ctaInfoTCP:
			return each(d, func(typ uint16, d []byte) error {
				if typ != ctaTCPState {
					return nil
				}
				s, err := u8(d)
				c.TCPState = conntrack.TCPState(s)
				return err
			})
		case ctaInfoSCTP:
			return each(d, func(typ uint16, d []byte) error {
				if typ != ctaSCTPState {
					return nil
				}
				s, err := u8(d)
				c.SCTPState = conntrack.SCTPState(s)
				return err
			})
		}
		return nil
	})
}

func decodeTuple(b []byte) (conntrack.Tuple, error) {
	var t conntrack.Tuple
	var icmpType, icmpCode uint8
	err := each(b, func(typ uint16, d []byte) error {
		switch typ {
		case ctaTupleIP:
			return each(d, func(typ uint16, d []byte) error {
				switch typ {
				case ctaIPv4Src, ctaIPv4Dst:
					if len(d) != 4 {
						return fmt.Errorf("%w: %d-byte IPv4 address", ErrMalformed, len(d))
					}
					t.Family = packet.IPv4
					copy(addrOf(&t, typ == ctaIPv4Src)[:], d)
				case ctaIPv6Src, ctaIPv6Dst:
					if len(d) != 16 {
						return fmt.Errorf("%w: %d-byte IPv6 address", ErrMalformed, len(d))
					}
					t.Family = packet.IPv6
					copy(addrOf(&t, typ == ctaIPv6Src)[:], d)
				}
				return nil
			})
		case ctaTupleProto:
			return each(d, func(typ uint16, d []byte) error {
				var err error
				switch typ {
				case ctaProtoNum:
					t.Proto, err = u8(d)
				case ctaProtoSrc, ctaICMPID, ctaICMPv6ID:
					t.SrcPort, err = be16(d)
				case ctaProtoDst:
					t.DstPort, err = be16(d)
				case ctaICMPType, ctaICMPv6Type:
					icmpType, err = u8(d)
				case ctaICMPCode, ctaICMPv6Code:
					icmpCode, err = u8(d)
				}
				return err
			})
		case ctaTupleZone:
			var err error
			t.Zone, err = be16(d)
			return err
		}
		return nil
	})
	if t.Proto == packet.ProtoICMP || t.Proto == packet.ProtoICMPv6 {
		t.DstPort = uint16(icmpType)<<8 | uint16(icmpCode)
	}
	return t, err
}

func addrOf(t *conntrack.Tuple, src bool) *[16]byte {
	if src {
		return &t.Src
	}
	return &t.Dst
}

// builder appends netlink messages.
type builder struct {
	b     []byte
	nests []int
}

func (w *builder) begin(typ, flags uint16, seq uint32, family uint8) {
	w.beginIn(subsysCT, typ, flags, seq, family)
}

// beginIn starts a request of message type typ of an nfnetlink
// subsystem.
func (w *builder) beginIn(subsys uint8, typ, flags uint16, seq uint32, family uint8) {
	var h [nlmsgHdrLen + nfgenHdrLen]byte
	binary.NativeEndian.PutUint16(h[4:], uint16(subsys)<<8|typ)
	binary.NativeEndian.PutUint16(h[6:], flags|unix.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(h[8:], seq)
	h[16] = family
	h[17] = nfnetlinkV
	w.b = append(w.b[:0], h[:]...)
}

func (w *builder) end() []byte {
	binary.NativeEndian.PutUint32(w.b, uint32(len(w.b)))
	return w.b
}

func (w *builder) attr(typ uint16, data []byte) {
	var h [nlaHdrLen]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(nlaHdrLen+len(data)))
	binary.NativeEndian.PutUint16(h[2:], typ)
	w.b = append(w.b, h[:]...)
	w.b = append(w.b, data...)
	for len(w.b)%4 != 0 {
		w.b = append(w.b, 0)
	}
}

func (w *builder) be16(typ, v uint16) { w.attr(typ, binary.BigEndian.AppendUint16(nil, v)) }
func (w *builder) be32(typ uint16, v uint32) {
	w.attr(typ, binary.BigEndian.AppendUint32(nil, v))
}

func (w *builder) open(typ uint16) {
	w.nests = append(w.nests, len(w.b))
	w.attr(typ|nlaNested, nil)
}

func (w *builder) close() {
	at := w.nests[len(w.nests)-1]
	w.nests = w.nests[:len(w.nests)-1]
	binary.NativeEndian.PutUint16(w.b[at:], uint16(len(w.b)-at))
}

func (w *builder) tuple(typ uint16, t *conntrack.Tuple) {
	w.open(typ)
	w.open(ctaTupleIP)
	if t.Family == packet.IPv4 {
		w.attr(ctaIPv4Src, t.Src[:4])
		w.attr(ctaIPv4Dst, t.Dst[:4])
	} else {
		w.attr(ctaIPv6Src, t.Src[:])
		w.attr(ctaIPv6Dst, t.Dst[:])
	}
	w.close()
	w.open(ctaTupleProto)
	w.attr(ctaProtoNum, []byte{t.Proto})
	switch t.Proto {
	case packet.ProtoICMP:
		w.be16(ctaICMPID, t.SrcPort)
		w.attr(ctaICMPType, []byte{byte(t.DstPort >> 8)})
		w.attr(ctaICMPCode, []byte{byte(t.DstPort)})
	case packet.ProtoICMPv6:
		w.be16(ctaICMPv6ID, t.SrcPort)
		w.attr(ctaICMPv6Type, []byte{byte(t.DstPort >> 8)})
		w.attr(ctaICMPv6Code, []byte{byte(t.DstPort)})
	default:
		if hasPorts(t.Proto) {
			w.be16(ctaProtoSrc, t.SrcPort)
			w.be16(ctaProtoDst, t.DstPort)
		}
	}
	w.close()
	// The zone goes in CTA_ZONE: the kernel refuses CTA_TUPLE_ZONE in
	// the tuples of a new entry.
	w.close()
}

func hasPorts(proto uint8) bool {
	switch proto {
	case packet.ProtoTCP, packet.ProtoUDP, packet.ProtoUDPLite, packet.ProtoSCTP, packet.ProtoGRE:
		return true
	}
	return false
}

// nat appends a CTA_NAT_SRC or CTA_NAT_DST binding to addr and port.
func (w *builder) nat(typ uint16, addr netip.Addr, port uint16, ports bool) {
	w.open(typ)
	if addr.Is4() {
		a := addr.As4()
		w.attr(ctaNATv4Min, a[:])
		w.attr(ctaNATv4Max, a[:])
	} else {
		a := addr.As16()
		w.attr(ctaNATv6Min, a[:])
		w.attr(ctaNATv6Max, a[:])
	}
	if ports {
		w.open(ctaNATProto)
		w.be16(ctaNATPortMin, port)
		w.be16(ctaNATPortMax, port)
		w.close()
	}
	w.close()
}

// Bindings returns the NAT bindings a connection's tuples imply: the
// source it is translated to (SNAT: where the reply is sent) and the
// destination (DNAT: where the reply comes from), each valid only if
// that direction is translated.
func Bindings(c *conntrack.Conn) (snat, dnat netip.AddrPort) {
	o, r := &c.Orig, &c.Reply
	ports := hasPorts(o.Proto)
	if r.Dst != o.Src || ports && r.DstPort != o.SrcPort {
		snat = netip.AddrPortFrom(r.DstAddr(), r.DstPort)
	}
	if r.Src != o.Dst || ports && r.SrcPort != o.DstPort {
		dnat = netip.AddrPortFrom(r.SrcAddr(), r.SrcPort)
	}
	return snat, dnat
}

// AppendCreate appends the IPCTNL_MSG_CT_NEW request that creates c in
// the kernel (see the package comment), asking for an acknowledgement.
func AppendCreate(b []byte, seq uint32, c *conntrack.Conn) ([]byte, error) {
	inv, ok := c.Orig.Invert()
	if !ok {
		return b, fmt.Errorf("ctnetlink: %v has no reply direction", c.Orig)
	}
	w := builder{b: b}
	w.begin(msgNew, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK, seq, uint8(familyAF(c.Orig.Family)))
	w.tuple(ctaTupleOrig, &c.Orig)
	w.tuple(ctaTupleReply, &inv)
	// The kernel refuses a new entry without CONFIRMED (EBUSY), sets
	// the NAT bits itself from the bindings, and an EXPECTED entry
	// would need its master.
	status := c.Status&^(conntrack.StatusSrcNAT|conntrack.StatusDstNAT|conntrack.StatusSrcNATDone|
		conntrack.StatusDstNATDone|conntrack.StatusExpected|conntrack.StatusHelper|conntrack.StatusSeqAdjust|
		conntrack.StatusDying|conntrack.StatusOffload|conntrack.StatusHWOffload) | conntrack.StatusConfirmed
	w.be32(ctaStatus, uint32(status))
	w.be32(ctaTimeout, uint32(max(1, (c.Timeout+time.Second-1)/time.Second)))
	if c.Mark != 0 {
		w.be32(ctaMark, c.Mark)
	}
	if c.Orig.Zone != 0 {
		w.be16(ctaZone, c.Orig.Zone)
	}
	if c.Helper != nil {
		// The kernel attaches its helper of that name, which must be
		// loaded (nf_conntrack_ftp), and refuses the entry otherwise.
		w.open(ctaHelp)
		w.attr(ctaHelpName, append([]byte(c.Helper.Name()), 0))
		w.close()
	}
	if c.Orig.Proto == packet.ProtoTCP {
		w.open(ctaProtoinfo)
		w.open(ctaInfoTCP)
		w.attr(ctaTCPState, []byte{uint8(c.TCPState)})
		w.attr(ctaTCPFlagsOrg, []byte{tcpBeLiberal, tcpBeLiberal})
		w.attr(ctaTCPFlagsRep, []byte{tcpBeLiberal, tcpBeLiberal})
		w.close()
		w.close()
	}
	snat, dnat := Bindings(c)
	ports := hasPorts(c.Orig.Proto) && c.Orig.Proto != packet.ProtoGRE
	if snat.IsValid() {
		w.nat(ctaNATSrc, snat.Addr(), snat.Port(), ports)
	}
	if dnat.IsValid() {
		w.nat(ctaNATDst, dnat.Addr(), dnat.Port(), ports)
	}
	return w.end(), nil
}

// AppendDelete appends the IPCTNL_MSG_CT_DELETE request for the
// connection whose original tuple is orig.
func AppendDelete(b []byte, seq uint32, orig *conntrack.Tuple) []byte {
	w := builder{b: b}
	w.begin(msgDelete, unix.NLM_F_ACK, seq, uint8(familyAF(orig.Family)))
	w.tuple(ctaTupleOrig, orig)
	if orig.Zone != 0 {
		w.be16(ctaZone, orig.Zone)
	}
	return w.end()
}

func familyAF(f packet.Family) int {
	if f == packet.IPv6 {
		return unix.AF_INET6
	}
	return unix.AF_INET
}

func secs(s uint32) time.Duration { return time.Duration(s) * time.Second }
