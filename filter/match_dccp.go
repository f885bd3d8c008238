package filter

import (
	"encoding/binary"

	"github.com/nfgo/nfgo/packet"
)

// firstFragmentHeader returns the packet's transport header and what
// follows it, if it has at least n bytes: the prologue of the matches on
// a transport header (xt_sctp, xt_dccp, xt_ipcomp, ip6t_mh). A later
// fragment has no header (ok false, no drop); a header cut short drops
// the packet, as those matches' hotdrop does.
func firstFragmentHeader(c *Context, n int) (h []byte, ok bool) {
	p := c.Packet
	if p.FragOffset != 0 {
		return nil, false
	}
	b := p.Bytes()
	if p.L4Off == 0 || len(b)-p.L4Off < n {
		c.HotDrop = true
		return nil, false
	}
	return b[p.L4Off:], true
}

// IPCompMatch is -m ipcomp --ipcompspi (xt_ipcomp.c): the IPComp
// header's 16-bit CPI within Min..Max. A later fragment never matches; a
// header cut short drops the packet.
type IPCompMatch struct {
	Min, Max uint32
	Invert   bool
}

// Name returns "ipcomp".
func (*IPCompMatch) Name() string { return "ipcomp" }

// RequiredProto binds the match to -p ipcomp.
func (*IPCompMatch) RequiredProto() (uint8, bool) { return 108, false }

// Match tests the CPI.
func (m *IPCompMatch) Match(c *Context) bool {
	h, ok := firstFragmentHeader(c, 4)
	if !ok {
		return false
	}
	cpi := uint32(binary.BigEndian.Uint16(h[2:]))
	return (cpi >= m.Min && cpi <= m.Max) != m.Invert
}

// The DCCP packet types (DCCP_PKT_*).
const (
	DCCPRequest uint8 = iota
	DCCPResponse
	DCCPData
	DCCPAck
	DCCPDataAck
	DCCPCloseReq
	DCCPClose
	DCCPReset
	DCCPSync
	DCCPSyncAck
	DCCPInvalid
)

// DCCPMatch is -m dccp (xt_dccp.c): ports, packet types (a bit per type
// in Types) and an option present in the header.
type DCCPMatch struct {
	SrcPorts, DstPorts   PortRange
	HasSrc, HasDst       bool
	InvertSrc, InvertDst bool
	Types                uint16
	HasTypes, InvertType bool
	Option               uint8
	HasOption, InvertOpt bool
}

// Name returns "dccp".
func (*DCCPMatch) Name() string { return "dccp" }

// RequiredProto binds the match to -p dccp.
func (*DCCPMatch) RequiredProto() (uint8, bool) { return packet.ProtoDCCP, false }

// Match follows dccp_mt.
func (m *DCCPMatch) Match(c *Context) bool {
	h, ok := firstFragmentHeader(c, 12)
	if !ok {
		return false
	}
	sport, dport := binary.BigEndian.Uint16(h), binary.BigEndian.Uint16(h[2:])
	typ := (h[8] >> 1) & 0x0f
	return (!m.HasSrc || (sport >= m.SrcPorts.Min && sport <= m.SrcPorts.Max) != m.InvertSrc) &&
		(!m.HasDst || (dport >= m.DstPorts.Min && dport <= m.DstPorts.Max) != m.InvertDst) &&
		(!m.HasTypes || (m.Types&(1<<typ) != 0) != m.InvertType) &&
		(!m.HasOption || m.findOption(c, h) != m.InvertOpt)
}

// findOption is dccp_find_option: the options between the type's
// header and the data offset.
func (m *DCCPMatch) findOption(c *Context, h []byte) bool {
	hl := 12
	if h[8]&1 != 0 { // X: extended sequence numbers
		hl += 4
	}
	switch typ := (h[8] >> 1) & 0x0f; typ {
	case DCCPData:
	case DCCPDataAck, DCCPAck, DCCPSync, DCCPSyncAck, DCCPClose, DCCPCloseReq:
		hl += 8
	case DCCPRequest:
		hl += 4
	default:
		hl += 12
	}
	doff := int(h[4]) * 4
	if doff < hl {
		c.HotDrop = true
		return false
	}
	if doff == hl {
		return false
	}
	if doff > len(h) {
		c.HotDrop = true
		return false
	}
	op := h[hl:doff]
	for i := 0; i < len(op); {
		if op[i] == m.Option {
			return true
		}
		if op[i] < 2 || i+1 >= len(op) || op[i+1] == 0 {
			i++
		} else {
			i += int(op[i+1])
		}
	}
	return false
}
