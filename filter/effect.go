package filter

import "net/netip"

// EffectKind says what an Effect asks for.
type EffectKind uint8

// The effects.
const (
	// EffectSend asks for Packet to be sent from the host, as the kernel
	// sends REJECT's answer and its own ICMP errors.
	EffectSend EffectKind = iota + 1
	// EffectLog is a log line (LOG, TRACE) in Text, as the kernel writes
	// it to its log.
	EffectLog
	// EffectTProxy hands the packet to the transparent socket at To
	// (TPROXY): the embedding program delivers it there.
	EffectTProxy
	// EffectNFLog is a copy of the packet (Packet) for logging group
	// Group with prefix Text (NFLOG).
	EffectNFLog
	// EffectTee is a copy of the packet (Packet) to route to the gateway
	// To, out of interface Text when it is set (TEE).
	EffectTee
)

// Effect is something a target or the engine asks to have done beyond
// the verdict: a packet to send, a line to log. Everything a packet
// causes outside itself leaves the engine this one way, in the order it
// happened (nfgo.Verdict.Effects), so a new kind of effect needs a kind
// here and a case in whatever carries it out, and nothing else.
type Effect struct {
	Kind EffectKind
	// Packet is the packet to send (EffectSend). In a Context it may be
	// the Context's own storage, valid until Reset; a Verdict holds a
	// copy.
	Packet []byte
	// Text is the line to log (EffectLog), or the prefix (EffectNFLog).
	Text string
	// To is where the packet goes (EffectTProxy).
	To netip.AddrPort
	// Group is the logging group (EffectNFLog).
	Group uint16
	// Routed, for EffectSend, says the packet has already passed the
	// host's OUTPUT and POSTROUTING in the engine (SYNPROXY's, sent
	// through Context.Local): whoever sends it must not have it judged
	// again (nfgo run accepts it as it is when the kernel queues it).
	Routed bool
}

// Emit records an effect of the packet.
func (c *Context) Emit(e Effect) { c.Effects = append(c.Effects, e) }

// Response returns the packet the last EffectSend asks to send, nil if
// none does.
func (c *Context) Response() []byte { return lastSend(c.Effects) }

// Logs returns the lines the EffectLog effects hold, nil if none.
func (c *Context) Logs() []string { return logLines(c.Effects) }

func lastSend(es []Effect) []byte {
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Kind == EffectSend {
			return es[i].Packet
		}
	}
	return nil
}

func logLines(es []Effect) []string {
	var out []string
	for _, e := range es {
		if e.Kind == EffectLog {
			out = append(out, e.Text)
		}
	}
	return out
}

// Effects is a packet's effects, as a verdict carries them.
type Effects []Effect

// Response returns the packet the last EffectSend asks to send, nil if
// none does.
func (es Effects) Response() []byte { return lastSend(es) }

// Logs returns the EffectLog lines, nil if none.
func (es Effects) Logs() []string { return logLines(es) }

// Clone returns a copy that owns its packets.
func (es Effects) Clone() Effects {
	if len(es) == 0 {
		return nil
	}
	out := make(Effects, len(es))
	for i, e := range es {
		out[i] = e
		if e.Packet != nil {
			out[i].Packet = append([]byte(nil), e.Packet...)
		}
	}
	return out
}
