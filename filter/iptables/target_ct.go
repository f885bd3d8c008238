package iptables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -j CT (libxt_CT.c, revision 2): --notrack, --helper NAME,
// --timeout NAME, --ctevents LIST, --expevents LIST, --zone N,
// --zone-orig N, --zone-reply N (N may be "mark"). And -j NOTRACK, which
// takes no options.
func init() {
	register(&extension{
		name:   "CT",
		target: true,
		parser: func(*ruleContext) extParser { return &ctParser{seen: tgSeen{}} },
		save:   saveCT,
		owns:   ownedBy[filter.CTTarget](),
	})
	register(&extension{
		name:   "NOTRACK",
		target: true,
		parser: func(*ruleContext) extParser { return noOptions{x: &filter.NotrackTarget{}} },
		save:   func(*saver, any) {},
		owns:   ownedBy[filter.NotrackTarget](),
	})
}

// ctEvents are the --ctevents names in the order iptables prints them.
var ctEvents = []struct {
	name string
	ev   filter.CTEvents
}{
	{"new", filter.CTEventNew},
	{"related", filter.CTEventRelated},
	{"destroy", filter.CTEventDestroy},
	{"reply", filter.CTEventReply},
	{"assured", filter.CTEventAssured},
	{"protoinfo", filter.CTEventProtoinfo},
	{"helper", filter.CTEventHelper},
	{"mark", filter.CTEventMark},
	{"natseqinfo", filter.CTEventNatseqinfo},
	{"secmark", filter.CTEventSecmark},
}

var expEvents = []struct {
	name string
	ev   filter.CTEvents
}{{"new", filter.ExpEventNew}}

type ctParser struct {
	t    filter.CTTarget
	seen tgSeen
}

func (p *ctParser) option(name string, invert bool, a *args) error {
	name, err := tgOption(name, "notrack", "helper", "timeout", "ctevents", "expevents", "zone", "zone-orig", "zone-reply")
	if err != nil {
		return err
	}
	if invert {
		return tgInvertErr("CT", name)
	}
	if err := p.seen.once("CT", name); err != nil {
		return err
	}
	if name == "notrack" {
		p.t.Flags |= filter.CTNotrack
		return nil
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	switch name {
	case "helper":
		if len(v) > 15 {
			return fmt.Errorf("%w: CT: helper name too long", ErrBadArgument)
		}
		p.t.Helper = v
	case "timeout":
		if len(v) > 31 {
			return fmt.Errorf("%w: CT: timeout name too long", ErrBadArgument)
		}
		p.t.Timeout = v
	case "ctevents", "expevents":
		tbl := ctEvents
		if name == "expevents" {
			tbl = expEvents
		}
		var mask filter.CTEvents
		for _, w := range strings.Split(v, ",") {
			found := false
			for _, e := range tbl {
				if e.name == w {
					mask |= e.ev
					found = true
				}
			}
			if !found {
				return fmt.Errorf("%w: Unknown event type \"%s\"", ErrBadArgument, w)
			}
		}
		if name == "ctevents" {
			p.t.CTEvents, p.t.HasCTEvents = mask, true
		} else {
			p.t.ExpEvents, p.t.HasExpEvents = mask, true
		}
	default: // the zone options
		switch name {
		case "zone-orig":
			p.t.Flags |= filter.CTZoneOrig
		case "zone-reply":
			p.t.Flags |= filter.CTZoneReply
		}
		if v == "mark" {
			p.t.Flags |= filter.CTZoneMark
			p.t.Zone = 0
			return nil
		}
		n, ok := strtoui(v, 0, 0xFFFF)
		if !ok {
			return fmt.Errorf("%w: Cannot parse %s as a zone ID", ErrBadArgument, v)
		}
		p.t.Flags &^= filter.CTZoneMark
		p.t.Zone = uint16(n)
	}
	return nil
}

func (p *ctParser) done() (any, error) {
	t := p.t
	return &t, nil
}

// saveCT prints what ct_save_v1 prints, in its order.
func saveCT(w *saver, x any) {
	t := x.(*filter.CTTarget)
	if t.Flags&filter.CTNotrack != 0 {
		w.opt(false, "notrack", "")
	}
	if t.Helper != "" {
		w.opt(false, "helper", t.Helper)
	}
	if t.Timeout != "" {
		w.opt(false, "timeout", t.Timeout)
	}
	events := func(opt string, tbl []struct {
		name string
		ev   filter.CTEvents
	}, mask filter.CTEvents) {
		var names []string
		for _, e := range tbl {
			if mask&e.ev != 0 {
				names = append(names, e.name)
			}
		}
		w.opt(false, opt, strings.Join(names, ","))
	}
	if t.CTEvents != 0 {
		events("ctevents", ctEvents, t.CTEvents)
	}
	if t.ExpEvents != 0 {
		events("expevents", expEvents, t.ExpEvents)
	}
	if t.Flags&filter.CTZoneMark != 0 || t.Zone != 0 {
		opt := "zone"
		switch t.Flags & (filter.CTZoneOrig | filter.CTZoneReply) {
		case filter.CTZoneOrig:
			opt = "zone-orig"
		case filter.CTZoneReply:
			opt = "zone-reply"
		}
		v := strconv.Itoa(int(t.Zone))
		if t.Flags&filter.CTZoneMark != 0 {
			v = "mark"
		}
		w.opt(false, opt, v)
	}
}

// noOptions parses a target that takes no options.
type noOptions struct{ x any }

func (noOptions) option(string, bool, *args) error { return errNotMine }

func (n noOptions) done() (any, error) { return n.x, nil }
