package filter

import "github.com/nfgo/nfgo/packet"

// ESPMatch is -m esp --espspi (xt_esp.c): the ESP header's SPI within
// Min..Max. A non-first fragment never matches; a packet too short for
// the SPI is dropped (hotdrop), as the kernel drops it.
type ESPMatch struct {
	Min, Max uint32
	Invert   bool
}

// Name returns "esp".
func (*ESPMatch) Name() string { return "esp" }

// RequiredProto binds the match to -p esp (xt_esp's .proto).
func (*ESPMatch) RequiredProto() (uint8, bool) { return packet.ProtoESP, false }

// Match tests the SPI.
func (m *ESPMatch) Match(c *Context) bool {
	return spiMatch(c, m.Min, m.Max, m.Invert)
}

// AHMatch is iptables' -m ah --ahspi (ipt_ah.c): the IPv4 AH header's
// SPI within Min..Max, as ESPMatch.
type AHMatch struct {
	Min, Max uint32
	Invert   bool
}

// Name returns "ah".
func (*AHMatch) Name() string { return "ah" }

// RequiredProto binds the match to -p ah (ipt_ah's .proto).
func (*AHMatch) RequiredProto() (uint8, bool) { return packet.ProtoAH, false }

// Match tests the SPI.
func (m *AHMatch) Match(c *Context) bool {
	return spiMatch(c, m.Min, m.Max, m.Invert)
}

// spiMatch is the kernel's spi_match over the packet's SPI: ESP's and
// AH's both sit in their header's first eight bytes.
func spiMatch(c *Context, lo, hi uint32, invert bool) bool {
	p := c.Packet
	if p.FragOffset != 0 {
		return false
	}
	if len(p.TransportHeader()) < 8 {
		c.HotDrop = true
		return false
	}
	return (p.SPI >= lo && p.SPI <= hi) != invert
}
