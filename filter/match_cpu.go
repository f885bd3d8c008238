package filter

// CPUMatch is -m cpu --cpu (xt_cpu.c): the CPU the packet is handled
// on, from Origin.CPU. A packet whose CPU the caller does not give
// (Origin.HasCPU false) never matches, inverted or not: nfgo cannot
// tell, and NFQUEUE does not say which CPU queued a packet.
type CPUMatch struct {
	CPU    uint32
	Invert bool
}

// Name returns "cpu".
func (*CPUMatch) Name() string { return "cpu" }

// Match compares the packet's CPU.
func (m *CPUMatch) Match(c *Context) bool {
	if !c.Origin.HasCPU {
		return false
	}
	return (c.Origin.CPU == m.CPU) != m.Invert
}
