package filter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// AuditType is -j AUDIT --type (XT_AUDIT_TYPE_*).
type AuditType uint8

// The audit types.
const (
	AuditAccept AuditType = iota
	AuditDrop
	AuditReject
)

// AuditTarget is -j AUDIT (xt_AUDIT.c): it records the packet in the
// audit log, as an EffectLog line in the kernel's NETFILTER_PKT format
// ("mark=0x… saddr=… daddr=… proto=…"), and continues. The kernel no
// longer writes Type into the record; it is kept for saving.
type AuditTarget struct {
	Type AuditType
}

// Name returns "AUDIT".
func (*AuditTarget) Name() string { return "AUDIT" }

// Do emits the record and continues.
func (t *AuditTarget) Do(c *Context) Verdict {
	p := c.Packet
	c.Emit(Effect{Kind: EffectLog, Text: fmt.Sprintf("NETFILTER_PKT mark=%#x saddr=%s daddr=%s proto=%d", c.Mark, p.Src(), p.Dst(), p.Proto)})
	return Verdict{Action: Continue}
}

// TEETarget is -j TEE (xt_TEE.c): a copy of the packet is routed to
// Gateway (out of OIF when set) and the packet itself goes on. The copy
// leaves the engine as an EffectTee (Packet, To's address, Text the
// interface), made as nf_dup_ipv4 and nf_dup_ipv6 make it: an IPv4 copy
// gets the don't-fragment bit, and at PREROUTING and INPUT its TTL (hop
// limit) is one lower, against loops between two hosts. nfgo run sends
// it.
type TEETarget struct {
	Gateway netip.Addr
	OIF     string
}

// Name returns "TEE".
func (*TEETarget) Name() string { return "TEE" }

// Do emits the copy and continues.
func (t *TEETarget) Do(c *Context) Verdict {
	b := append([]byte(nil), c.Packet.Bytes()...)
	lower := c.Hook == Prerouting || c.Hook == Input
	switch {
	case c.Packet.Family == packet.IPv4 && len(b) >= 20:
		b[6] |= 0x40
		if lower {
			b[8]-- // a TTL of 0 wraps, as the kernel's u8 does
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl >= 20 && ihl <= len(b) {
			b[10], b[11] = 0, 0
			binary.BigEndian.PutUint16(b[10:], packet.Checksum(b[:ihl], 0))
		}
	case c.Packet.Family == packet.IPv6 && len(b) >= 40 && lower:
		b[7]--
	}
	c.Emit(Effect{Kind: EffectTee, To: netip.AddrPortFrom(t.Gateway, 0), Text: t.OIF, Packet: b})
	return Verdict{Action: Continue}
}

// IdleTimerTarget is -j IDLETIMER (xt_IDLETIMER.c): every packet that
// reaches it restarts the timer Label, which expires Timeout seconds
// after the last one. The timer is a named object shared by the rules
// naming the label and kept across rulesets; IdleTimers lists them, as
// /sys/class/xt_idletimer/timers does, and the daemon's control socket
// shows them (idletimer). Alarm (--alarm) is kept for saving.
type IdleTimerTarget struct {
	Timeout uint32
	Label   string
	Alarm   bool

	timer *IdleTimer
}

// IdleTimer is one IDLETIMER label: when its last packet was seen. mu
// guards last.
type IdleTimer struct {
	label   string
	alarm   bool
	timeout time.Duration
	mu      sync.Mutex
	last    time.Time
}

// Label returns the timer's label.
func (t *IdleTimer) Label() string { return t.label }

// Left returns the time the timer has left at now (0 once expired).
func (t *IdleTimer) Left(now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return max(0, t.last.Add(t.timeout).Sub(now))
}

// Name returns "IDLETIMER".
func (*IdleTimerTarget) Name() string { return "IDLETIMER" }

// ErrIdleTimerInvalid is CheckRule's error for a zero timeout or an
// empty label (EINVAL).
var ErrIdleTimerInvalid = errors.New("IDLETIMER: the timeout must not be 0 and the label not empty")

// CheckRule refuses what idletimer_tg_checkentry refuses.
func (t *IdleTimerTarget) CheckRule(_ *Rule, _ Site) error {
	if t.Timeout == 0 || t.Label == "" {
		return ErrIdleTimerInvalid
	}
	return nil
}

// Bind finds or creates the label's timer (idletimer_tg_checkentry: the
// first rule's timeout holds).
func (t *IdleTimerTarget) Bind(b *Binding) (any, error) {
	tm := BindSharedObject(b, "idletimer", t.Label, func() *IdleTimer {
		// The kernel arms the timer when the rule is loaded.
		return &IdleTimer{label: t.Label, alarm: t.Alarm, timeout: time.Duration(t.Timeout) * time.Second, last: time.Now()}
	})
	if tm.alarm != t.Alarm {
		return nil, fmt.Errorf("%w: label %q exists with a different timer type", ErrIdleTimerInvalid, t.Label)
	}
	bound := *t
	bound.timer = tm
	return &bound, nil
}

// Do restarts the timer and continues.
func (t *IdleTimerTarget) Do(c *Context) Verdict {
	if tm := t.timer; tm != nil {
		tm.mu.Lock()
		tm.last = c.Now
		tm.mu.Unlock()
	}
	return Verdict{Action: Continue}
}

// IdleTimers returns o's IDLETIMER timers, by label.
func IdleTimers(o *Objects) []*IdleTimer {
	var ts []*IdleTimer
	Each(o, "idletimer", func(_ ObjectKey, t *IdleTimer) { ts = append(ts, t) })
	sort.Slice(ts, func(i, j int) bool { return strings.Compare(ts[i].label, ts[j].label) < 0 })
	return ts
}
