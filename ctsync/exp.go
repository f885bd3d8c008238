package ctsync

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// ExpAttr is an expectation message's attribute id (enum nta_exp_attr).
type ExpAttr uint8

// The expectation attributes.
const (
	ExpAttrMasterIPv4 ExpAttr = iota
	ExpAttrMasterIPv6
	ExpAttrMasterL4Proto
	ExpAttrMasterPort
	ExpAttrExpectIPv4
	ExpAttrExpectIPv6
	ExpAttrExpectL4Proto
	ExpAttrExpectPort
	ExpAttrMaskIPv4
	ExpAttrMaskIPv6
	ExpAttrMaskL4Proto
	ExpAttrMaskPort
	ExpAttrTimeout
	ExpAttrFlags
	ExpAttrClass
	ExpAttrNATIPv4
	ExpAttrNATPort
	ExpAttrNATL4Proto
	ExpAttrNATDir
	ExpAttrHelperName
	ExpAttrFn
	expAttrCount
)

// expAttrSize is each attribute's payload size, 0 for a string.
var expAttrSize = [expAttrCount]uint8{8, 32, 1, 4, 8, 32, 1, 4, 8, 32, 1, 4, 4, 4, 4, 8, 4, 1, 4, 0, 0}

// The longest strings conntrackd takes, TLV header included.
const (
	maxExpHelperTLV = 16
	maxExpFnTLV     = 32
)

// Exp is one expectation as a data message carries it (EXP_NEW, EXP_UPD,
// EXP_DEL). Each field is valid when Attrs has its attribute.
type Exp struct {
	// Master is the master connection's original tuple
	// (ExpAttrMasterIPv4 or IPv6, L4Proto, Port).
	Master conntrack.Tuple
	// Tuple is the expected connection's original tuple (ExpAttrExpect*).
	Tuple conntrack.Tuple
	// Mask is the tuple's mask: the bits of the addresses and ports
	// that must match (ExpAttrMask*).
	Mask conntrack.Tuple
	// Timeout is the time left, in seconds (ExpAttrTimeout).
	Timeout uint32
	// Flags are the NF_CT_EXPECT_* flags (ExpAttrFlags); Class the
	// expectation class (ExpAttrClass).
	Flags, Class uint32
	// NATAddr and NATPort are where a NAT helper wants the expected
	// connection to reach, and NATDir the master's direction it follows
	// (ExpAttrNATIPv4, NATPort, NATL4Proto, NATDir); NATProto is the
	// NAT tuple's protocol.
	NATAddr  netip.Addr
	NATPort  uint16
	NATProto uint8
	NATDir   uint32
	// Helper is the master's helper name (ExpAttrHelperName), Fn the
	// expectation's function (ExpAttrFn: "nat-follow-master", "sip").
	Helper, Fn string
	// Attrs says which attributes the message carries.
	Attrs uint32
}

func (x *Exp) has(a ExpAttr) bool { return x.Attrs&(1<<a) != 0 }
func (x *Exp) add(a ExpAttr)      { x.Attrs |= 1 << a }

// expPorts reports whether conntrackd writes the port attributes of an
// expectation whose master has protocol proto.
func expPorts(proto uint8) bool {
	switch proto {
	case packet.ProtoTCP, packet.ProtoUDP, packet.ProtoSCTP, packet.ProtoDCCP:
		return true
	}
	return false
}

// DecodeExp reads an expectation's data message, header included, as
// conntrackd's msg2exp does: every attribute must be known and of its
// size, or the whole message is refused; and, beyond conntrackd, the
// master and expected tuples must be there.
func DecodeExp(msg []byte) (Header, Exp, error) {
	var x Exp
	h, err := ParseHeader(msg)
	if err != nil {
		return h, x, err
	}
	if h.Type < TypeExpNew || h.Type > TypeExpDelete {
		return h, x, fmt.Errorf("%w: %v is not an expectation message", ErrMalformed, h.Type)
	}
	be := binary.BigEndian
	b := msg[HeaderLen:h.Len]
	for len(b) > tlvHeader {
		n := int(be.Uint16(b))
		id := be.Uint16(b[2:])
		if n > len(b) || n < tlvHeader {
			return h, x, fmt.Errorf("%w: expectation attribute %d: length %d, %d bytes left", ErrMalformed, id, n, len(b))
		}
		if id >= uint16(expAttrCount) {
			return h, x, fmt.Errorf("%w: unknown expectation attribute %d", ErrMalformed, id)
		}
		a := ExpAttr(id)
		d := b[tlvHeader:n]
		switch size := int(expAttrSize[a]); {
		case size != 0 && len(d) != size:
			return h, x, fmt.Errorf("%w: expectation attribute %d: %d bytes, want %d", ErrMalformed, a, len(d), size)
		case a == ExpAttrHelperName && n > maxExpHelperTLV, a == ExpAttrFn && n > maxExpFnTLV:
			return h, x, fmt.Errorf("%w: expectation attribute %d: length %d too long", ErrMalformed, a, n)
		}
		x.set(a, d)
		x.add(a)
		if pad := (n + 3) &^ 3; pad < len(b) {
			b = b[pad:]
		} else {
			b = nil
		}
	}
	if !(x.has(ExpAttrMasterIPv4) || x.has(ExpAttrMasterIPv6)) || !(x.has(ExpAttrExpectIPv4) || x.has(ExpAttrExpectIPv6)) {
		return h, x, fmt.Errorf("%w: an expectation without its master or expected tuple", ErrMalformed)
	}
	return h, x, nil
}

func (x *Exp) set(a ExpAttr, d []byte) {
	be := binary.BigEndian
	tuple := func(t *conntrack.Tuple, f packet.Family) {
		n := len(d) / 2
		copy(t.Src[:], d[:n])
		copy(t.Dst[:], d[n:])
		t.Family = f
	}
	switch a {
	case ExpAttrMasterIPv4:
		tuple(&x.Master, packet.IPv4)
	case ExpAttrMasterIPv6:
		tuple(&x.Master, packet.IPv6)
	case ExpAttrExpectIPv4:
		tuple(&x.Tuple, packet.IPv4)
	case ExpAttrExpectIPv6:
		tuple(&x.Tuple, packet.IPv6)
	case ExpAttrMaskIPv4:
		tuple(&x.Mask, packet.IPv4)
	case ExpAttrMaskIPv6:
		tuple(&x.Mask, packet.IPv6)
	case ExpAttrMasterL4Proto:
		x.Master.Proto = d[0]
	case ExpAttrExpectL4Proto:
		x.Tuple.Proto = d[0]
	case ExpAttrMaskL4Proto:
		x.Mask.Proto = d[0]
	case ExpAttrMasterPort:
		x.Master.SrcPort, x.Master.DstPort = be.Uint16(d), be.Uint16(d[2:])
	case ExpAttrExpectPort:
		x.Tuple.SrcPort, x.Tuple.DstPort = be.Uint16(d), be.Uint16(d[2:])
	case ExpAttrMaskPort:
		x.Mask.SrcPort, x.Mask.DstPort = be.Uint16(d), be.Uint16(d[2:])
	case ExpAttrTimeout:
		x.Timeout = be.Uint32(d)
	case ExpAttrFlags:
		x.Flags = be.Uint32(d)
	case ExpAttrClass:
		x.Class = be.Uint32(d)
	case ExpAttrNATIPv4:
		x.NATAddr = netip.AddrFrom4([4]byte(d[:4]))
	case ExpAttrNATPort:
		x.NATPort = be.Uint16(d)
	case ExpAttrNATL4Proto:
		x.NATProto = d[0]
	case ExpAttrNATDir:
		x.NATDir = be.Uint32(d)
	case ExpAttrHelperName:
		x.Helper = cString(string(d))
	case ExpAttrFn:
		x.Fn = cString(string(d))
	}
}

// AppendExp appends a data message of type typ (TypeExpNew, TypeExpUpdate,
// TypeExpDelete) about x, in the order conntrackd's exp2msg writes it.
func AppendExp(b []byte, typ MsgType, flags Flags, seq uint32, x *Exp) []byte {
	start := len(b)
	h := Header{Type: typ, Flags: flags, Seq: seq}
	b = h.append(b)
	be := binary.BigEndian
	for _, a := range expBuildOrder {
		if !x.has(a) {
			continue
		}
		at := len(b)
		b = append(b, 0, 0, 0, byte(a))
		group := func(t *conntrack.Tuple) {
			n := 4
			if t.Family == packet.IPv6 {
				n = 16
			}
			b = append(append(b, t.Src[:n]...), t.Dst[:n]...)
		}
		ports := func(t *conntrack.Tuple) { b = be.AppendUint16(be.AppendUint16(b, t.SrcPort), t.DstPort) }
		switch a {
		case ExpAttrMasterIPv4, ExpAttrMasterIPv6:
			group(&x.Master)
		case ExpAttrExpectIPv4, ExpAttrExpectIPv6:
			group(&x.Tuple)
		case ExpAttrMaskIPv4, ExpAttrMaskIPv6:
			group(&x.Mask)
		case ExpAttrMasterL4Proto:
			b = append(b, x.Master.Proto)
		case ExpAttrExpectL4Proto:
			b = append(b, x.Tuple.Proto)
		case ExpAttrMaskL4Proto:
			b = append(b, x.Mask.Proto)
		case ExpAttrMasterPort:
			ports(&x.Master)
		case ExpAttrExpectPort:
			ports(&x.Tuple)
		case ExpAttrMaskPort:
			ports(&x.Mask)
		case ExpAttrTimeout:
			b = be.AppendUint32(b, x.Timeout)
		case ExpAttrFlags:
			b = be.AppendUint32(b, x.Flags)
		case ExpAttrClass:
			b = be.AppendUint32(b, x.Class)
		case ExpAttrNATIPv4:
			a4 := x.NATAddr.As4()
			b = append(append(b, a4[:]...), 0, 0, 0, 0)
		case ExpAttrNATPort:
			b = be.AppendUint16(be.AppendUint16(b, x.NATPort), 0)
		case ExpAttrNATL4Proto:
			b = append(b, x.NATProto)
		case ExpAttrNATDir:
			b = be.AppendUint32(b, x.NATDir)
		case ExpAttrHelperName, ExpAttrFn:
			s, limit := x.Helper, maxExpHelperTLV
			if a == ExpAttrFn {
				s, limit = x.Fn, maxExpFnTLV
			}
			if len(s) > limit-tlvHeader-1 {
				s = s[:limit-tlvHeader-1]
			}
			b = append(append(b, s...), 0)
		}
		be.PutUint16(b[at:], uint16(len(b)-at))
		for (len(b)-at)%4 != 0 {
			b = append(b, 0)
		}
	}
	be.PutUint16(b[start+2:], uint16(len(b)-start))
	return b
}

// expBuildOrder is exp2msg's order: the NAT protocol before its port.
var expBuildOrder = [...]ExpAttr{
	ExpAttrMasterIPv4, ExpAttrMasterIPv6, ExpAttrMasterL4Proto, ExpAttrMasterPort,
	ExpAttrExpectIPv4, ExpAttrExpectIPv6, ExpAttrExpectL4Proto, ExpAttrExpectPort,
	ExpAttrMaskIPv4, ExpAttrMaskIPv6, ExpAttrMaskL4Proto, ExpAttrMaskPort,
	ExpAttrTimeout, ExpAttrFlags, ExpAttrClass,
	ExpAttrNATIPv4, ExpAttrNATL4Proto, ExpAttrNATPort, ExpAttrNATDir,
	ExpAttrHelperName, ExpAttrFn,
}

// FromExpectation builds the message conntrackd would send for an
// expectation (exp2msg of the kernel's dump of it).
func FromExpectation(e *conntrack.Expectation) Exp {
	x := Exp{Master: e.Master, Tuple: e.Tuple, Timeout: uint32(max(e.Timeout, 0) / time.Second), Flags: uint32(e.Flags), Class: uint32(e.Class)}
	x.Tuple.Zone, x.Master.Zone = 0, 0
	v6 := e.Tuple.Family == packet.IPv6
	// The mask: the kernel's, from nfgo's wildcards.
	// The kernel dumps the mask with the tuple's protocol, not an
	// all-ones one, and refuses to create one with another.
	x.Mask.Family = e.Tuple.Family
	x.Mask.Proto = e.Tuple.Proto
	src, srcPort := e.KernelMask()
	n := 4
	if v6 {
		n = 16
	}
	copy(x.Mask.Src[:n], src[:n])
	for i := range n {
		x.Mask.Dst[i] = 0xff
	}
	x.Mask.SrcPort, x.Mask.DstPort = srcPort, 0xffff
	x.add(pick6(v6, ExpAttrMasterIPv6, ExpAttrMasterIPv4))
	x.add(ExpAttrMasterL4Proto)
	ports := expPorts(e.Master.Proto)
	if ports {
		x.add(ExpAttrMasterPort)
	}
	x.add(pick6(v6, ExpAttrExpectIPv6, ExpAttrExpectIPv4))
	x.add(ExpAttrExpectL4Proto)
	x.add(pick6(v6, ExpAttrMaskIPv6, ExpAttrMaskIPv4))
	x.add(ExpAttrMaskL4Proto)
	if ports {
		x.add(ExpAttrExpectPort)
		x.add(ExpAttrMaskPort)
	}
	x.Attrs |= 1<<ExpAttrTimeout | 1<<ExpAttrFlags | 1<<ExpAttrClass
	// The kernel dumps the NAT part when either is kept: FTP's NAT
	// keeps only the port the connection must reach.
	if e.SavedAddr != ([16]byte{}) || e.SavedPort != 0 {
		if !v6 {
			x.NATAddr = netip.AddrFrom4([4]byte(e.SavedAddr[:4]))
			x.add(ExpAttrNATIPv4)
		}
		x.NATPort, x.NATProto, x.NATDir = e.SavedPort, e.Master.Proto, uint32(e.Dir)
		x.add(ExpAttrNATL4Proto)
		if ports {
			x.add(ExpAttrNATPort)
		}
		x.add(ExpAttrNATDir)
	}
	if e.Helper != nil {
		x.Helper = e.Helper.Name()
		x.add(ExpAttrHelperName)
	}
	if e.Fn != "" {
		x.Fn = e.Fn
		x.add(ExpAttrFn)
	}
	return x
}

func pick6(v6 bool, a6, a4 ExpAttr) ExpAttr {
	if v6 {
		return a6
	}
	return a4
}

// ToExpectation returns the expectation as the table holds it; helper
// resolves the helper's name (nil: none is set). The master's reply
// tuple is the table's business (Table.AdoptExpectation).
func (x *Exp) ToExpectation(helper func(string) (conntrack.Helper, bool)) conntrack.Expectation {
	e := conntrack.Expectation{Tuple: x.Tuple, Master: x.Master, Timeout: time.Duration(x.Timeout) * time.Second,
		Flags: conntrack.ExpectFlags(x.Flags), Class: uint8(x.Class), Fn: x.Fn}
	if x.has(ExpAttrMaskIPv4) || x.has(ExpAttrMaskIPv6) {
		port := uint16(0xffff)
		if x.has(ExpAttrMaskPort) {
			port = x.Mask.SrcPort
		}
		e.SetKernelMask(x.Mask.Src, port)
	}
	if x.has(ExpAttrNATDir) {
		e.Dir = conntrack.Dir(x.NATDir & 1)
		if x.NATAddr.IsValid() {
			e.SavedAddr = addr16(x.NATAddr)
		}
		e.SavedPort = x.NATPort
	}
	if x.Helper != "" && helper != nil {
		e.Helper, _ = helper(x.Helper)
	}
	return e
}
