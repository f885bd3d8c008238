package filter

import (
	"errors"
	"strings"
)

// DevGroupMatch is -m devgroup (xt_devgroup.c): the input interface's
// group (Src) or the output interface's (Dst), masked, from
// Origin.InGroup and OutGroup.
type DevGroupMatch struct {
	Src, Dst             bool
	SrcGroup, SrcMask    uint32
	DstGroup, DstMask    uint32
	InvertSrc, InvertDst bool
}

// Name returns "devgroup".
func (*DevGroupMatch) Name() string { return "devgroup" }

// ErrDevGroupHook is CheckRule's error for a group test of an interface
// the hook does not have.
var ErrDevGroupHook = errors.New("devgroup: the source group needs an input interface, the destination group an output interface")

// CheckRule refuses --src-group where there is no input interface and
// --dst-group where there is no output interface, as devgroup_mt_check
// does.
func (m *DevGroupMatch) CheckRule(_ *Rule, at Site) error {
	if m.Src && at.Hooks&^Hooks(Prerouting, Input, Forward) != 0 || m.Dst && at.Hooks&^Hooks(Forward, Output, Postrouting) != 0 {
		return ErrDevGroupHook
	}
	return nil
}

// Match tests the groups.
func (m *DevGroupMatch) Match(c *Context) bool {
	o := &c.Origin
	return !(m.Src && (o.InGroup&m.SrcMask == m.SrcGroup) == m.InvertSrc) &&
		!(m.Dst && (o.OutGroup&m.DstMask == m.DstGroup) == m.InvertDst)
}

// RealmMatch is iptables' -m realm (xt_realm.c): the route's realm
// (tclassid), masked. nfgo's routes have no realms: every route's is 0.
type RealmMatch struct {
	ID, Mask uint32
	Invert   bool
}

// Name returns "realm".
func (*RealmMatch) Name() string { return "realm" }

// Allowed is where a packet has a route: not PREROUTING.
func (*RealmMatch) Allowed() (TableMask, HookMask) {
	return 0, Hooks(Input, Forward, Output, Postrouting)
}

// Match compares realm 0.
func (m *RealmMatch) Match(*Context) bool { return (m.ID == 0&m.Mask) != m.Invert }

// CgroupMatch is -m cgroup (xt_cgroup.c): the sending socket's net_cls
// class id (--cgroup) or cgroup v2 path (--path, the cgroup or one
// below it), from Origin.ClassID and CgroupPath; a packet without a
// socket never matches, inverted or not.
type CgroupMatch struct {
	ClassID       uint32
	HasClassID    bool
	InvertClassID bool
	Path          string
	InvertPath    bool
}

// Name returns "cgroup".
func (*CgroupMatch) Name() string { return "cgroup" }

// ErrCgroupBoth is CheckRule's error for --path with --cgroup.
var ErrCgroupBoth = errors.New("cgroup: --path and --cgroup cannot be used together")

// ErrCgroupNeither is CheckRule's error for a cgroup match without
// --path or --cgroup.
var ErrCgroupNeither = errors.New("cgroup: one of --path and --cgroup is needed")

// CheckRule refuses --path with --cgroup, and neither, as
// cgroup_mt_check_v1 does.
func (m *CgroupMatch) CheckRule(_ *Rule, _ Site) error {
	if m.HasClassID && m.Path != "" {
		return ErrCgroupBoth
	}
	if !m.HasClassID && m.Path == "" {
		return ErrCgroupNeither
	}
	return nil
}

// Match tests the socket's cgroup.
func (m *CgroupMatch) Match(c *Context) bool {
	o := &c.Origin
	if !o.HasSocket {
		return false
	}
	if m.HasClassID {
		return (o.ClassID == m.ClassID) != m.InvertClassID
	}
	// The cgroup or one below it: the path, then a slash or the end.
	base := strings.TrimSuffix(m.Path, "/")
	in := o.CgroupPath == m.Path || m.Path == "/" && o.CgroupPath != "" ||
		strings.HasPrefix(o.CgroupPath, base) && len(o.CgroupPath) > len(base) && o.CgroupPath[len(base)] == '/'
	return in != m.InvertPath
}
