package filter

import "github.com/nfgo/nfgo/packet"

// TCPMSSMatch is -m tcpmss --mss (xt_tcpmss.c): the value of the TCP
// header's MSS option within Min..Max. A packet without the option
// matches only inverted; one whose header or options are cut short is
// dropped (hotdrop). The options are walked as the kernel walks them,
// past an end-of-list option.
type TCPMSSMatch struct {
	Min, Max uint16
	Invert   bool
}

// Name returns "tcpmss".
func (*TCPMSSMatch) Name() string { return "tcpmss" }

// RequiredProto binds the match to -p tcp.
func (*TCPMSSMatch) RequiredProto() (uint8, bool) { return packet.ProtoTCP, false }

// Match finds the MSS option.
func (m *TCPMSSMatch) Match(c *Context) bool {
	th := c.Packet.TransportHeader()
	if len(th) < 20 {
		c.HotDrop = true
		return false
	}
	doff := int(th[12]>>4) * 4
	if doff < 20 {
		c.HotDrop = true
		return false
	}
	if doff == 20 {
		return m.Invert
	}
	if len(th) < doff {
		c.HotDrop = true
		return false
	}
	op := th[20:doff]
	for i := 0; i < len(op); {
		if op[i] == packet.TCPOptionMSS && len(op)-i >= 4 && op[i+1] == 4 {
			mss := uint16(op[i+2])<<8 | uint16(op[i+3])
			return (mss >= m.Min && mss <= m.Max) != m.Invert
		}
		if op[i] < 2 || i+1 >= len(op) || op[i+1] == 0 {
			i++
		} else {
			i += int(op[i+1])
		}
	}
	return m.Invert
}
