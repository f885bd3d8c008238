package iptables

import (
	"fmt"

	"github.com/nfgo/nfgo/filter"
)

// -j CONNMARK (libxt_CONNMARK.c, revision 2):
//
//	--set-xmark v[/m] | --set-mark v[/m] | --and-mark v | --or-mark v | --xor-mark v
//	--save-mark [--nfmask m] [--ctmask m] | [--mask m]
//	--restore-mark [--nfmask m] [--ctmask m] | [--mask m]
//	[--left-shift-mark n | --right-shift-mark n]
//
// Options apply in order, as xtopt applies them: --mask sets both masks,
// and the last shift option sets the one direction and bit count.
func init() {
	register(&extension{
		name:   "CONNMARK",
		target: true,
		parser: func(*ruleContext) extParser {
			return &connmarkParser{t: filter.ConnmarkTarget{CTMask: 0xFFFFFFFF, NFMask: 0xFFFFFFFF}, seen: tgSeen{}}
		},
		save: saveConnmark,
		owns: ownedBy[filter.ConnmarkTarget](),
	})
}

var connmarkOps = []string{"set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark", "save-mark", "restore-mark"}

type connmarkParser struct {
	t    filter.ConnmarkTarget
	seen tgSeen
}

func (p *connmarkParser) option(name string, invert bool, a *args) error {
	name, err := tgOption(name, append(connmarkOps, "mask", "nfmask", "ctmask", "left-shift-mark", "right-shift-mark")...)
	if err != nil {
		return err
	}
	if invert {
		return tgInvertErr("CONNMARK", name)
	}
	if err := p.seen.once("CONNMARK", name); err != nil {
		return err
	}
	for _, group := range [][]string{connmarkOps, {"mask", "nfmask"}, {"mask", "ctmask"}} {
		for _, g := range group {
			if g == name {
				if err := p.seen.excl("CONNMARK", name, group...); err != nil {
					return err
				}
			}
		}
	}
	switch name {
	case "save-mark":
		p.t.Mode = filter.ConnmarkSave
		return nil
	case "restore-mark":
		p.t.Mode = filter.ConnmarkRestore
		return nil
	}
	v, err := a.value(name)
	if err != nil {
		return err
	}
	switch name {
	case "set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark":
		m, err := parseXmark("CONNMARK", name, v)
		if err != nil {
			return err
		}
		p.t.Mode, p.t.CTMark, p.t.CTMask = filter.ConnmarkSet, m.Mark, m.Mask
	case "mask", "nfmask", "ctmask":
		n, err := optUint("CONNMARK", name, v, 0, 0xFFFFFFFF)
		if err != nil {
			return err
		}
		if name != "ctmask" {
			p.t.NFMask = uint32(n)
		}
		if name != "nfmask" {
			p.t.CTMask = uint32(n)
		}
	case "left-shift-mark", "right-shift-mark":
		n, err := optUint("CONNMARK", name, v, 0, 31)
		if err != nil {
			return err
		}
		p.t.ShiftBits, p.t.ShiftDir = uint8(n), filter.ShiftLeft
		if name == "right-shift-mark" {
			p.t.ShiftDir = filter.ShiftRight
		}
	}
	return nil
}

func (p *connmarkParser) done() (any, error) {
	op := false
	for _, o := range connmarkOps {
		op = op || p.seen[o]
	}
	if !op {
		return nil, fmt.Errorf("%w: CONNMARK target: No operation specified", ErrSyntax)
	}
	t := p.t
	return &t, nil
}

// saveConnmark prints what connmark_tg_save_v2 prints.
func saveConnmark(w *saver, x any) {
	t := x.(*filter.ConnmarkTarget)
	switch t.Mode {
	case filter.ConnmarkSet:
		w.opt(false, "set-xmark", fmt.Sprintf("0x%x/0x%x", t.CTMark, t.CTMask))
	case filter.ConnmarkSave, filter.ConnmarkRestore:
		op := "save-mark"
		if t.Mode == filter.ConnmarkRestore {
			op = "restore-mark"
		}
		w.opt(false, op, "")
		w.opt(false, "nfmask", fmt.Sprintf("0x%x", t.NFMask))
		w.opt(false, "ctmask", fmt.Sprintf("0x%x", t.CTMask))
	}
	if t.ShiftBits != 0 {
		dir := "left-shift-mark"
		if t.ShiftDir == filter.ShiftRight {
			dir = "right-shift-mark"
		}
		w.opt(false, dir, fmt.Sprint(t.ShiftBits))
	}
}
