package filter

import (
	"errors"

	"github.com/nfgo/nfgo/helpers"
)

// CTEvents is a set of conntrack event types (IPCT_*), for CT --ctevents.
type CTEvents uint32

// The conntrack events, with the kernel's IPCT_* bit numbers.
const (
	CTEventNew CTEvents = 1 << iota
	CTEventRelated
	CTEventDestroy
	CTEventReply
	CTEventAssured
	CTEventProtoinfo
	CTEventHelper
	CTEventMark
	CTEventSeqadj
	CTEventSecmark
	CTEventLabel
	CTEventSynproxy
)

// CTEventNatseqinfo is the old name iptables still prints for
// CTEventSeqadj.
const CTEventNatseqinfo = CTEventSeqadj

// ExpEventNew is the only expectation event (IPEXP_NEW), for --expevents.
const ExpEventNew CTEvents = 1

// CTFlags are the CT target's flags (XT_CT_*).
type CTFlags uint16

// The CT flags, with the kernel's values.
const (
	CTNotrack    CTFlags = 1 << 0
	CTNotrackOld CTFlags = 1 << 1 // NOTRACK target's marker in iptables' save
	CTZoneOrig   CTFlags = 1 << 2
	CTZoneReply  CTFlags = 1 << 3
	CTZoneMark   CTFlags = 1 << 4
)

// CTTarget is -j CT (xt_CT.c, revision 2): it attaches a template to the
// packet's future connection before conntrack sees it — no tracking at all
// (--notrack), a zone, a helper, an event mask, a timeout policy. The
// zone and the helper take effect (the engine runs conntrack after the
// raw table, and attaches the helper to a new connection); the event
// mask and the timeout policy are parsed, validated and saved.
type CTTarget struct {
	Flags CTFlags
	// Zone is the conntrack zone (--zone, --zone-orig, --zone-reply;
	// which directions Flags says).
	Zone uint16
	// Helper is the helper to attach (--helper), "" for none.
	Helper string
	// Timeout is the name of a timeout policy (--timeout), "" for none.
	Timeout string
	// CTEvents and ExpEvents restrict the events generated
	// (--ctevents, --expevents); 0 means all.
	CTEvents, ExpEvents CTEvents
	// HasCTEvents and HasExpEvents record that the options were given.
	HasCTEvents, HasExpEvents bool
}

// Name returns "CT".
func (*CTTarget) Name() string { return "CT" }

// Allowed restricts CT to the raw table, as xt_CT does: the template must
// be attached before conntrack runs (priority −200, raw −300).
func (*CTTarget) Allowed() (TableMask, HookMask) { return Tables(Raw), 0 }

// NeedsConntrack reports true.
func (*CTTarget) NeedsConntrack() bool { return true }

// Do marks the packet untracked (--notrack), or gives it the template's
// zone (--zone) and helper (--helper), unless an earlier CT or NOTRACK
// rule did (xt_ct_target leaves a packet that has a template alone).
func (t *CTTarget) Do(c *Context) Verdict {
	if c.Templated {
		return Verdict{Action: Continue}
	}
	c.Templated = true
	if t.Flags&CTNotrack != 0 {
		c.Notrack = true
		return Verdict{Action: Continue}
	}
	c.Zone, c.Helper = t.Zone, t.Helper
	return Verdict{Action: Continue}
}

// ErrCTHelperProto is CheckRule's error for CT --helper in a rule that
// does not name its transport protocol (xt_ct_set_helper), in the
// kernel's words.
//
//lint:ignore ST1005 the kernel's message, word for word
var ErrCTHelperProto = errors.New("You must specify a L4 protocol and not use inversions on it")

// CheckRule refuses CT --helper where the kernel's xt_ct_tg_check does:
// in a rule without a (non-inverted) protocol, or naming a helper the
// kernel has no instance of for the rule's family and protocol (No such
// helper "NAME"). A helper the kernel has and nfgo does not implement
// is refused too, saying so.
func (t *CTTarget) CheckRule(r *Rule, at Site) error {
	if t.Helper == "" || t.Flags&CTNotrack != 0 {
		return nil
	}
	if r.Proto == 0 || r.ProtoInvert {
		return ErrCTHelperProto
	}
	return helpers.Check(t.Helper, at.Family, r.Proto)
}

// NotrackTarget is -j NOTRACK, the old name for CT --notrack: the packet
// and its connection are not tracked (its state is UNTRACKED).
type NotrackTarget struct{}

// Name returns "NOTRACK".
func (*NotrackTarget) Name() string { return "NOTRACK" }

// Allowed restricts NOTRACK to the raw table, like CT.
func (*NotrackTarget) Allowed() (TableMask, HookMask) { return Tables(Raw), 0 }

// NeedsConntrack reports true.
func (*NotrackTarget) NeedsConntrack() bool { return true }

// Do marks the packet untracked, unless an earlier CT rule gave it a
// template.
func (*NotrackTarget) Do(c *Context) Verdict {
	if !c.Templated {
		c.Templated, c.Notrack = true, true
	}
	return Verdict{Action: Continue}
}
