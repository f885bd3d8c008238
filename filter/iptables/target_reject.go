package iptables

import (
	"fmt"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// -j REJECT [--reject-with TYPE] (libipt_REJECT.c, libip6t_REJECT.c).
func init() {
	for _, f := range []packet.Family{packet.IPv4, packet.IPv6} {
		register(&extension{
			name:   "REJECT",
			family: f,
			target: true,
			parser: func(*ruleContext) extParser { return &rejectParser{family: f, seen: tgSeen{}} },
			save: func(w *saver, x any) {
				w.opt(false, "reject-with", x.(*filter.RejectTarget).With.String())
			},
			owns: ownedBy[filter.RejectTarget](),
		})
	}
}

// rejectTypes are the --reject-with names in iptables' table order, each
// with its alias. iptables takes the first entry whose name or alias
// starts with the argument, ignoring case, so "icmp-h" is
// icmp-host-unreachable and "" is the first entry.
var rejectTypes = map[packet.Family][]struct {
	name, alias string
	t           filter.RejectType
}{
	packet.IPv4: {
		{"icmp-net-unreachable", "net-unreach", filter.RejectICMPNetUnreachable},
		{"icmp-host-unreachable", "host-unreach", filter.RejectICMPHostUnreachable},
		{"icmp-proto-unreachable", "proto-unreach", filter.RejectICMPProtoUnreachable},
		{"icmp-port-unreachable", "port-unreach", filter.RejectICMPPortUnreachable},
		{"icmp-net-prohibited", "net-prohib", filter.RejectICMPNetProhibited},
		{"icmp-host-prohibited", "host-prohib", filter.RejectICMPHostProhibited},
		{"tcp-reset", "tcp-rst", filter.RejectTCPReset},
		{"icmp-admin-prohibited", "admin-prohib", filter.RejectICMPAdminProhibited},
	},
	packet.IPv6: {
		{"icmp6-no-route", "no-route", filter.RejectICMP6NoRoute},
		{"icmp6-adm-prohibited", "adm-prohibited", filter.RejectICMP6AdmProhibited},
		{"icmp6-addr-unreachable", "addr-unreach", filter.RejectICMP6AddrUnreachable},
		{"icmp6-port-unreachable", "port-unreach", filter.RejectICMP6PortUnreachable},
		{"tcp-reset", "tcp-reset", filter.RejectTCPReset},
		{"icmp6-policy-fail", "policy-fail", filter.RejectICMP6PolicyFail},
		{"icmp6-reject-route", "reject-route", filter.RejectICMP6RejectRoute},
	},
}

type rejectParser struct {
	family packet.Family
	with   filter.RejectType
	set    bool
	seen   tgSeen
}

func (p *rejectParser) option(name string, invert bool, a *args) error {
	name, err := tgOption(name, "reject-with")
	if err != nil {
		return err
	}
	if invert {
		return tgInvertErr("REJECT", name)
	}
	if err := p.seen.once("REJECT", name); err != nil {
		return err
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	// strncasecmp(entry, arg, strlen(arg)): arg must be a prefix.
	lv := strings.ToLower(v)
	for _, e := range rejectTypes[p.family] {
		if strings.HasPrefix(e.name, lv) || strings.HasPrefix(e.alias, lv) {
			p.with, p.set = e.t, true
			return nil
		}
	}
	return fmt.Errorf("%w: unknown reject type \"%s\"", ErrBadArgument, v)
}

func (p *rejectParser) done() (any, error) {
	t := &filter.RejectTarget{With: p.with}
	if !p.set {
		t.With = filter.RejectICMPPortUnreachable
		if p.family == packet.IPv6 {
			t.With = filter.RejectICMP6PortUnreachable
		}
	}
	return t, nil
}
