package ctsync

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// Attr is a conntrack attribute id (enum nta_attr in network.h).
type Attr uint8

// The attribute ids. Each is fixed in size except AttrHelperName and
// AttrLabels.
const (
	AttrIPv4          Attr = 0  // original source and destination
	AttrIPv6          Attr = 1  // the same for IPv6
	AttrL4Proto       Attr = 2  // layer-4 protocol
	AttrPort          Attr = 3  // original source and destination ports
	AttrTCPState      Attr = 4  // TCP_CONNTRACK_* number
	AttrStatus        Attr = 5  // IPS_* bits
	AttrTimeout       Attr = 6  // seconds left
	AttrMark          Attr = 7  // connection mark
	AttrMasterIPv4    Attr = 8  // master's original addresses
	AttrMasterIPv6    Attr = 9  // the same for IPv6
	AttrMasterL4Proto Attr = 10 // master's protocol
	AttrMasterPort    Attr = 11 // master's original ports
	AttrSNATIPv4      Attr = 12 // reply destination after SNAT
	AttrDNATIPv4      Attr = 13 // reply source after DNAT
	AttrSNATPort      Attr = 14 // reply destination port after SNAT (host order)
	AttrDNATPort      Attr = 15 // reply source port after DNAT (host order)
	AttrNATSeqAdj     Attr = 16 // sequence adjustment, both directions
	AttrSCTPState     Attr = 17
	AttrSCTPVTagOrig  Attr = 18 // host order, like the NAT ports
	AttrSCTPVTagReply Attr = 19
	AttrDCCPState     Attr = 20
	AttrDCCPRole      Attr = 21
	AttrICMPType      Attr = 22
	AttrICMPCode      Attr = 23
	AttrICMPID        Attr = 24 // host order, like the NAT ports
	AttrTCPWScaleOrig Attr = 25 // only with TCPWindowTracking
	AttrTCPWScaleRepl Attr = 26
	AttrHelperName    Attr = 27 // NUL-terminated
	AttrLabels        Attr = 28 // big-endian words, bit i of word w is label 32w+i
	AttrSNATIPv6      Attr = 29
	AttrDNATIPv6      Attr = 30
	AttrSynproxy      Attr = 31 // ISN, ITS, TSOff
	AttrZone          Attr = 32
	attrCount         Attr = 33
)

// attrSize is each attribute's data size; 0 for the variable ones.
var attrSize = [attrCount]uint8{
	AttrIPv4: 8, AttrIPv6: 32, AttrL4Proto: 1, AttrPort: 4, AttrTCPState: 1,
	AttrStatus: 4, AttrTimeout: 4, AttrMark: 4, AttrMasterIPv4: 8, AttrMasterIPv6: 32,
	AttrMasterL4Proto: 1, AttrMasterPort: 4, AttrSNATIPv4: 4, AttrDNATIPv4: 4,
	AttrSNATPort: 2, AttrDNATPort: 2, AttrNATSeqAdj: 24, AttrSCTPState: 1,
	AttrSCTPVTagOrig: 4, AttrSCTPVTagReply: 4, AttrDCCPState: 1, AttrDCCPRole: 1,
	AttrICMPType: 1, AttrICMPCode: 1, AttrICMPID: 2, AttrTCPWScaleOrig: 1,
	AttrTCPWScaleRepl: 1, AttrSNATIPv6: 16, AttrDNATIPv6: 16, AttrSynproxy: 12, AttrZone: 2,
}

const (
	tlvHeader = 4
	// maxHelperTLV is the largest helper-name attribute conntrackd takes,
	// header included (NFCT_HELPER_NAME_MAX).
	maxHelperTLV = 16
	// maxLabelsTLV is the largest labels attribute it takes
	// (NTA_LABELS_MAX_SIZE, 4096 labels, plus the header).
	maxLabelsTLV = tlvHeader + 1024
	// labelWords is how many words a label set is sent in: the kernel
	// has 128 labels, so libnetfilter_conntrack's bitmask has 128 bits.
	labelWords = 4
)

// AttrSet is a set of attributes.
type AttrSet uint64

// Has reports whether a is in the set.
func (s AttrSet) Has(a Attr) bool { return s&(1<<a) != 0 }

func (s *AttrSet) add(a Attr) { *s |= 1 << a }

// Release is a conntrack-tools release. A peer drops a whole message
// that carries an attribute newer than its release, so an encoder leaves
// out what the peer does not know ([Release.Knows]).
type Release struct{ Major, Minor, Patch uint8 }

// Latest is the release whose protocol this package speaks.
var Latest = Release{1, 4, 7}

// attrSince is the release that introduced each attribute newer than
// 1.4.0.
var attrSince = map[Attr]Release{
	AttrLabels:   {1, 4, 2},
	AttrSNATIPv6: {1, 4, 4},
	AttrDNATIPv6: {1, 4, 4},
	AttrSynproxy: {1, 4, 5},
	AttrZone:     {1, 4, 7},
}

func (r Release) less(o Release) bool {
	if r.Major != o.Major {
		return r.Major < o.Major
	}
	if r.Minor != o.Minor {
		return r.Minor < o.Minor
	}
	return r.Patch < o.Patch
}

// Knows reports whether conntrackd of release r understands attribute a.
func (r Release) Knows(a Attr) bool {
	since, newer := attrSince[a]
	return a < attrCount && (!newer || !r.less(since))
}

// String formats the release as 1.4.7.
func (r Release) String() string { return fmt.Sprintf("%d.%d.%d", r.Major, r.Minor, r.Patch) }

// Conn is one connection as a data message carries it. Each field is
// valid when Attrs has the attribute named in its comment.
type Conn struct {
	// Orig is the original tuple (AttrIPv4 or AttrIPv6, AttrL4Proto,
	// AttrPort or the ICMP attributes, AttrZone). For ICMP, as in
	// conntrack.Tuple, SrcPort is the id and DstPort type<<8 | code.
	Orig conntrack.Tuple
	// Status holds the IPS_* bits (AttrStatus).
	Status conntrack.Status
	// TCPState is the TCP state (AttrTCPState).
	TCPState conntrack.TCPState
	// WScale is each direction's window scale (AttrTCPWScaleOrig,
	// AttrTCPWScaleRepl).
	WScale [2]uint8
	// SCTPState and VTag are SCTP's state and each direction's
	// verification tag (AttrSCTPState, AttrSCTPVTagOrig,
	// AttrSCTPVTagReply). FromConn leaves the tags zero: conntrack.Conn
	// does not carry them.
	SCTPState conntrack.SCTPState
	VTag      [2]uint32
	// DCCPState and DCCPRole are DCCP's (AttrDCCPState, AttrDCCPRole).
	// nfgo tracks DCCP with the generic tracker and keeps neither.
	DCCPState, DCCPRole uint8
	// Timeout is the time left, in seconds (AttrTimeout).
	Timeout uint32
	// Mark is the connection mark (AttrMark).
	Mark uint32
	// Master is the original tuple of the connection this one is
	// expected by (AttrMasterIPv4 or AttrMasterIPv6, AttrMasterL4Proto,
	// AttrMasterPort). Its zone is Orig's.
	Master conntrack.Tuple
	// SNATAddr and DNATAddr are the reply tuple's destination after
	// source NAT and its source after destination NAT (AttrSNATIPv4 or
	// AttrSNATIPv6; AttrDNATIPv4 or AttrDNATIPv6).
	SNATAddr, DNATAddr netip.Addr
	// SNATPort and DNATPort are the reply tuple's destination port after
	// source NAT and its source port after destination NAT (AttrSNATPort,
	// AttrDNATPort).
	SNATPort, DNATPort uint16
	// SeqAdj is the sequence adjustment by direction (AttrNATSeqAdj).
	SeqAdj [2]conntrack.SeqAdj
	// Helper is the helper's name (AttrHelperName).
	Helper string
	// Labels are the connection labels, labels[n/64] bit n%64 for label
	// n (AttrLabels).
	Labels [2]uint64
	// Synproxy is SYNPROXY's state (AttrSynproxy).
	Synproxy conntrack.Synproxy
	// Attrs says which attributes the message carries.
	Attrs AttrSet
}

// DecodeConn reads a connection's data message (CT_NEW, CT_UPD or CT_DEL),
// header included, as conntrackd's msg2ct does: every attribute must be
// known and of its size, or the whole message is refused. It also
// refuses what conntrackd would take but could not apply: a message
// without addresses or protocol, two address families, or labels beyond
// the kernel's 128.
func DecodeConn(msg []byte) (Header, Conn, error) {
	var c Conn
	h, err := ParseHeader(msg)
	if err != nil {
		return h, c, err
	}
	if h.Type > TypeDelete {
		return h, c, fmt.Errorf("%w: %v is not a connection message", ErrMalformed, h.Type)
	}
	b := msg[HeaderLen:h.Len]
	var masterProto uint8
	for len(b) > tlvHeader {
		n := int(binary.BigEndian.Uint16(b))
		a := Attr(binary.BigEndian.Uint16(b[2:]))
		if n > len(b) || n < tlvHeader {
			return h, c, fmt.Errorf("%w: attribute %d: length %d, %d bytes left", ErrMalformed, a, n, len(b))
		}
		if binary.BigEndian.Uint16(b[2:]) >= uint16(attrCount) {
			return h, c, fmt.Errorf("%w: unknown attribute %d", ErrMalformed, binary.BigEndian.Uint16(b[2:]))
		}
		d := b[tlvHeader:n]
		switch size := int(attrSize[a]); {
		case size != 0 && len(d) != size:
			return h, c, fmt.Errorf("%w: attribute %d: %d bytes, want %d", ErrMalformed, a, len(d), size)
		case a == AttrHelperName && n > maxHelperTLV, a == AttrLabels && n > maxLabelsTLV:
			return h, c, fmt.Errorf("%w: attribute %d: length %d too long", ErrMalformed, a, n)
		}
		if err := c.set(a, d, &masterProto); err != nil {
			return h, c, err
		}
		c.Attrs.add(a)
		if pad := (n + 3) &^ 3; pad < len(b) {
			b = b[pad:]
		} else {
			b = nil
		}
	}
	if err := c.complete(masterProto); err != nil {
		return h, c, err
	}
	return h, c, nil
}

// set stores one attribute's data.
func (c *Conn) set(a Attr, d []byte, masterProto *uint8) error {
	be := binary.BigEndian
	switch a {
	case AttrIPv4, AttrIPv6:
		n := len(d) / 2
		copy(c.Orig.Src[:], d[:n])
		copy(c.Orig.Dst[:], d[n:])
	case AttrL4Proto:
		c.Orig.Proto = d[0]
	case AttrPort:
		c.Orig.SrcPort, c.Orig.DstPort = be.Uint16(d), be.Uint16(d[2:])
	case AttrTCPState:
		c.TCPState = conntrack.TCPState(d[0])
	case AttrStatus:
		c.Status = conntrack.Status(be.Uint32(d))
	case AttrTimeout:
		c.Timeout = be.Uint32(d)
	case AttrMark:
		c.Mark = be.Uint32(d)
	case AttrMasterIPv4, AttrMasterIPv6:
		n := len(d) / 2
		copy(c.Master.Src[:], d[:n])
		copy(c.Master.Dst[:], d[n:])
	case AttrMasterL4Proto:
		*masterProto = d[0]
	case AttrMasterPort:
		c.Master.SrcPort, c.Master.DstPort = be.Uint16(d), be.Uint16(d[2:])
	case AttrSNATIPv4, AttrSNATIPv6:
		c.SNATAddr = addrOf(d)
	case AttrDNATIPv4, AttrDNATIPv6:
		c.DNATAddr = addrOf(d)
	case AttrSNATPort:
		c.SNATPort = binary.LittleEndian.Uint16(d)
	case AttrDNATPort:
		c.DNATPort = binary.LittleEndian.Uint16(d)
	case AttrNATSeqAdj:
		for dir := range c.SeqAdj {
			w := d[dir*12:]
			c.SeqAdj[dir] = conntrack.SeqAdj{CorrectionPos: be.Uint32(w), OffsetBefore: int32(be.Uint32(w[4:])), OffsetAfter: int32(be.Uint32(w[8:]))}
		}
	case AttrSCTPState:
		c.SCTPState = conntrack.SCTPState(d[0])
	case AttrSCTPVTagOrig:
		c.VTag[0] = binary.LittleEndian.Uint32(d)
	case AttrSCTPVTagReply:
		c.VTag[1] = binary.LittleEndian.Uint32(d)
	case AttrDCCPState:
		c.DCCPState = d[0]
	case AttrDCCPRole:
		c.DCCPRole = d[0]
	case AttrICMPType:
		c.Orig.DstPort = uint16(d[0])<<8 | c.Orig.DstPort&0xff
	case AttrICMPCode:
		c.Orig.DstPort = c.Orig.DstPort&0xff00 | uint16(d[0])
	case AttrICMPID:
		c.Orig.SrcPort = binary.LittleEndian.Uint16(d)
	case AttrTCPWScaleOrig:
		c.WScale[0] = d[0]
	case AttrTCPWScaleRepl:
		c.WScale[1] = d[0]
	case AttrHelperName:
		if i := bytes.IndexByte(d, 0); i >= 0 {
			d = d[:i]
		}
		c.Helper = string(d)
	case AttrLabels:
		// conntrackd ignores a labels attribute that is empty or not
		// whole words; so does this.
		if len(d) == 0 || len(d)%4 != 0 {
			return nil
		}
		for w := 0; w < len(d)/4; w++ {
			word := be.Uint32(d[w*4:])
			if word == 0 {
				continue
			}
			if w >= labelWords {
				return fmt.Errorf("%w: label %d set, beyond the kernel's 128", ErrMalformed, 32*w+bits.TrailingZeros32(word))
			}
			c.Labels[w/2] |= uint64(word) << (32 * (w % 2))
		}
	case AttrSynproxy:
		c.Synproxy = conntrack.Synproxy{ISN: be.Uint32(d), ITS: be.Uint32(d[4:]), TSOff: be.Uint32(d[8:])}
	case AttrZone:
		c.Orig.Zone = be.Uint16(d)
	}
	return nil
}

func addrOf(d []byte) netip.Addr {
	if len(d) == 4 {
		return netip.AddrFrom4([4]byte(d))
	}
	return netip.AddrFrom16([16]byte(d))
}

// complete checks that the message names a connection and fills in what
// follows from the attributes: the families and the master's protocol
// and zone.
func (c *Conn) complete(masterProto uint8) error {
	switch {
	case c.Attrs.Has(AttrIPv4) && c.Attrs.Has(AttrIPv6):
		return fmt.Errorf("%w: both IPv4 and IPv6 addresses", ErrMalformed)
	case c.Attrs.Has(AttrIPv4):
		c.Orig.Family = packet.IPv4
	case c.Attrs.Has(AttrIPv6):
		c.Orig.Family = packet.IPv6
	default:
		return fmt.Errorf("%w: no addresses", ErrMalformed)
	}
	if !c.Attrs.Has(AttrL4Proto) {
		return fmt.Errorf("%w: no layer-4 protocol", ErrMalformed)
	}
	for _, a := range [...]Attr{AttrSNATIPv4, AttrDNATIPv4, AttrSNATIPv6, AttrDNATIPv6, AttrMasterIPv4, AttrMasterIPv6} {
		v6 := a == AttrSNATIPv6 || a == AttrDNATIPv6 || a == AttrMasterIPv6
		if c.Attrs.Has(a) && v6 != (c.Orig.Family == packet.IPv6) {
			return fmt.Errorf("%w: attribute %d is of the other family", ErrMalformed, a)
		}
	}
	if c.Attrs.Has(AttrMasterIPv4) || c.Attrs.Has(AttrMasterIPv6) {
		c.Master.Family, c.Master.Proto, c.Master.Zone = c.Orig.Family, masterProto, c.Orig.Zone
	}
	return nil
}

// Reply returns the reply tuple, as conntrackd's receiver builds it:
// the original tuple inverted, with the NAT attributes applied. ok is
// false for an ICMP type that has no reply. For ICMP the NAT port
// attributes are not applied: conntrackd fills them from the reply's
// type and code, not from an id.
func (c *Conn) Reply() (conntrack.Tuple, bool) {
	r, ok := c.Orig.Invert()
	if !ok {
		return r, false
	}
	if c.Attrs.Has(AttrSNATIPv4) || c.Attrs.Has(AttrSNATIPv6) {
		r.Dst = addr16(c.SNATAddr)
	}
	if c.Attrs.Has(AttrDNATIPv4) || c.Attrs.Has(AttrDNATIPv6) {
		r.Src = addr16(c.DNATAddr)
	}
	if !isICMP(c.Orig.Proto) {
		if c.Attrs.Has(AttrSNATPort) {
			r.DstPort = c.SNATPort
		}
		if c.Attrs.Has(AttrDNATPort) {
			r.SrcPort = c.DNATPort
		}
	}
	return r, true
}

func addr16(a netip.Addr) [16]byte {
	var b [16]byte
	if a.Is4() {
		v := a.As4()
		copy(b[:], v[:])
		return b
	}
	return a.As16()
}

func isICMP(proto uint8) bool { return proto == packet.ProtoICMP || proto == packet.ProtoICMPv6 }

// FromConn builds the message conntrackd would send for the connection:
// the attributes ct2msg writes for an entry as the kernel dumps it.
// Counters and TCP windows are not carried; the window scales only when
// wscale is true (conntrackd's TCPWindowTracking), with the values
// given. master is the original tuple of the connection's master, zero
// for none.
func FromConn(k *conntrack.Conn, master conntrack.Tuple, seqadj [2]conntrack.SeqAdj, wscale bool, ws [2]uint8) Conn {
	c := Conn{Orig: k.Orig, Status: k.Status, Timeout: uint32(k.Timeout.Seconds()), Mark: k.Mark, Labels: k.Labels}
	// Bits that describe this node's handling, not the connection: the
	// peer's kernel refuses them on create.
	c.Status &= 0xffff &^ (conntrack.StatusDying | conntrack.StatusTemplate | conntrack.StatusUntracked |
		conntrack.StatusOffload | conntrack.StatusHWOffload)
	if k.Orig.Family == packet.IPv6 {
		c.Attrs.add(AttrIPv6)
	} else {
		c.Attrs.add(AttrIPv4)
	}
	c.Attrs |= 1<<AttrStatus | 1<<AttrL4Proto | 1<<AttrTimeout | 1<<AttrMark
	switch k.Orig.Proto {
	case packet.ProtoTCP:
		c.TCPState = k.TCPState
		c.Attrs |= 1<<AttrPort | 1<<AttrTCPState
		if wscale {
			c.WScale = ws
			c.Attrs |= 1<<AttrTCPWScaleOrig | 1<<AttrTCPWScaleRepl
		}
	case packet.ProtoSCTP:
		c.SCTPState = k.SCTPState
		c.Attrs |= 1<<AttrPort | 1<<AttrSCTPState | 1<<AttrSCTPVTagOrig | 1<<AttrSCTPVTagReply
	case packet.ProtoUDP:
		c.Attrs.add(AttrPort)
	case packet.ProtoICMP, packet.ProtoICMPv6:
		c.Attrs |= 1<<AttrICMPType | 1<<AttrICMPCode | 1<<AttrICMPID
	}
	if master.Family != 0 {
		c.Master = master
		if master.Family == packet.IPv6 {
			c.Attrs.add(AttrMasterIPv6)
		} else {
			c.Attrs.add(AttrMasterIPv4)
		}
		c.Attrs.add(AttrMasterL4Proto)
		switch master.Proto {
		case packet.ProtoTCP, packet.ProtoUDP, packet.ProtoSCTP, packet.ProtoUDPLite:
			c.Attrs.add(AttrMasterPort)
		}
	}
	// NFCT_GOPT_IS_SNAT and its kin: the status bit, and a reply tuple
	// that differs from the inverted original.
	v6 := k.Orig.Family == packet.IPv6
	if k.Status&conntrack.StatusSrcNAT != 0 {
		if k.Orig.Src != k.Reply.Dst {
			c.SNATAddr = k.Reply.DstAddr()
			c.Attrs.add(pick(v6, AttrSNATIPv6, AttrSNATIPv4))
		}
		if k.Orig.SrcPort != k.Reply.DstPort {
			c.SNATPort = k.Reply.DstPort
			c.Attrs.add(AttrSNATPort)
		}
	}
	if k.Status&conntrack.StatusDstNAT != 0 {
		if k.Orig.Dst != k.Reply.Src {
			c.DNATAddr = k.Reply.SrcAddr()
			c.Attrs.add(pick(v6, AttrDNATIPv6, AttrDNATIPv4))
		}
		if k.Orig.DstPort != k.Reply.SrcPort {
			c.DNATPort = k.Reply.SrcPort
			c.Attrs.add(AttrDNATPort)
		}
	}
	if seqadj != ([2]conntrack.SeqAdj{}) {
		c.SeqAdj = seqadj
		c.Attrs.add(AttrNATSeqAdj)
	}
	if k.Helper != nil {
		c.Helper = k.Helper.Name()
		c.Attrs.add(AttrHelperName)
	}
	if k.Labels != ([2]uint64{}) {
		c.Attrs.add(AttrLabels)
	}
	if k.Orig.Zone != 0 {
		c.Attrs.add(AttrZone)
	}
	return c
}

func pick(v6 bool, a6, a4 Attr) Attr {
	if v6 {
		return a6
	}
	return a4
}

// buildOrder is the order ct2msg writes attributes in.
var buildOrder = [...]Attr{
	AttrIPv4, AttrIPv6, AttrStatus, AttrL4Proto,
	AttrPort, AttrTCPState, AttrTCPWScaleOrig, AttrTCPWScaleRepl,
	AttrSCTPState, AttrSCTPVTagOrig, AttrSCTPVTagReply,
	AttrDCCPState, AttrDCCPRole,
	AttrICMPType, AttrICMPCode, AttrICMPID,
	AttrTimeout, AttrMark,
	AttrMasterIPv4, AttrMasterIPv6, AttrMasterL4Proto, AttrMasterPort,
	AttrSNATIPv4, AttrDNATIPv4, AttrSNATIPv6, AttrDNATIPv6, AttrSNATPort, AttrDNATPort,
	AttrNATSeqAdj, AttrHelperName, AttrLabels, AttrSynproxy, AttrZone,
}

// Unsent returns the attributes of c that a peer of release r does not
// know, which AppendConn leaves out.
func (c *Conn) Unsent(r Release) AttrSet {
	var s AttrSet
	for a := range attrCount {
		if c.Attrs.Has(a) && !r.Knows(a) {
			s.add(a)
		}
	}
	return s
}

// AppendConn appends a data message of type typ about c, with the given
// flags and sequence number, as conntrackd writes it, leaving out the
// attributes peer does not know (Unsent).
func AppendConn(b []byte, typ MsgType, flags Flags, seq uint32, c *Conn, peer Release) []byte {
	start := len(b)
	h := Header{Type: typ, Flags: flags, Seq: seq}
	b = h.append(b)
	be := binary.BigEndian
	for _, a := range buildOrder {
		if !c.Attrs.Has(a) || !peer.Knows(a) {
			continue
		}
		at := len(b)
		b = append(b, 0, 0, 0, byte(a))
		switch a {
		case AttrIPv4, AttrIPv6, AttrMasterIPv4, AttrMasterIPv6:
			t := &c.Orig
			if a == AttrMasterIPv4 || a == AttrMasterIPv6 {
				t = &c.Master
			}
			n := 4
			if a == AttrIPv6 || a == AttrMasterIPv6 {
				n = 16
			}
			b = append(append(b, t.Src[:n]...), t.Dst[:n]...)
		case AttrL4Proto:
			b = append(b, c.Orig.Proto)
		case AttrPort:
			b = be.AppendUint16(be.AppendUint16(b, c.Orig.SrcPort), c.Orig.DstPort)
		case AttrTCPState:
			b = append(b, uint8(c.TCPState))
		case AttrTCPWScaleOrig, AttrTCPWScaleRepl:
			b = append(b, c.WScale[a-AttrTCPWScaleOrig])
		case AttrSCTPState:
			b = append(b, uint8(c.SCTPState))
		case AttrSCTPVTagOrig, AttrSCTPVTagReply:
			b = binary.LittleEndian.AppendUint32(b, c.VTag[a-AttrSCTPVTagOrig])
		case AttrDCCPState:
			b = append(b, c.DCCPState)
		case AttrDCCPRole:
			b = append(b, c.DCCPRole)
		case AttrICMPType:
			b = append(b, byte(c.Orig.DstPort>>8))
		case AttrICMPCode:
			b = append(b, byte(c.Orig.DstPort))
		case AttrICMPID:
			b = binary.LittleEndian.AppendUint16(b, c.Orig.SrcPort)
		case AttrStatus:
			b = be.AppendUint32(b, uint32(c.Status))
		case AttrTimeout:
			b = be.AppendUint32(b, c.Timeout)
		case AttrMark:
			b = be.AppendUint32(b, c.Mark)
		case AttrMasterL4Proto:
			b = append(b, c.Master.Proto)
		case AttrMasterPort:
			b = be.AppendUint16(be.AppendUint16(b, c.Master.SrcPort), c.Master.DstPort)
		case AttrSNATIPv4, AttrSNATIPv6:
			b = append(b, c.SNATAddr.AsSlice()...)
		case AttrDNATIPv4, AttrDNATIPv6:
			b = append(b, c.DNATAddr.AsSlice()...)
		case AttrSNATPort:
			b = binary.LittleEndian.AppendUint16(b, c.SNATPort)
		case AttrDNATPort:
			b = binary.LittleEndian.AppendUint16(b, c.DNATPort)
		case AttrNATSeqAdj:
			for _, s := range c.SeqAdj {
				b = be.AppendUint32(b, s.CorrectionPos)
				b = be.AppendUint32(b, uint32(s.OffsetBefore))
				b = be.AppendUint32(b, uint32(s.OffsetAfter))
			}
		case AttrHelperName:
			name := c.Helper
			if len(name) > maxHelperTLV-tlvHeader-1 {
				name = name[:maxHelperTLV-tlvHeader-1]
			}
			b = append(append(b, name...), 0)
		case AttrLabels:
			for w := range labelWords {
				b = be.AppendUint32(b, uint32(c.Labels[w/2]>>(32*(w%2))))
			}
		case AttrSynproxy:
			b = be.AppendUint32(b, c.Synproxy.ISN)
			b = be.AppendUint32(b, c.Synproxy.ITS)
			b = be.AppendUint32(b, c.Synproxy.TSOff)
		case AttrZone:
			b = be.AppendUint16(b, c.Orig.Zone)
		}
		be.PutUint16(b[at:], uint16(len(b)-at))
		for (len(b)-at)%4 != 0 {
			b = append(b, 0)
		}
	}
	be.PutUint16(b[start+2:], uint16(len(b)-start))
	return b
}
