package filter

import "github.com/nfgo/nfgo/packet"

// ChecksumTarget is -j CHECKSUM --checksum-fill (xt_CHECKSUM.c), for the
// mangle table: a packet whose transport checksum is left for the
// network card to compute (packet.Packet.PartialChecksum, the kernel's
// CHECKSUM_PARTIAL) gets it computed now, for a guest or a DHCP client
// that would not accept it otherwise. Any other packet is left alone.
type ChecksumTarget struct{}

// Name returns "CHECKSUM".
func (*ChecksumTarget) Name() string { return "CHECKSUM" }

// Allowed restricts the target to the mangle table.
func (*ChecksumTarget) Allowed() (TableMask, HookMask) { return Tables(Mangle), 0 }

// Do completes a partial checksum and continues.
func (*ChecksumTarget) Do(c *Context) Verdict {
	if p := c.Packet; p != nil && p.PartialChecksum && p.Invalid == packet.OK {
		p.CompleteChecksum()
	}
	return Verdict{Action: Continue}
}
