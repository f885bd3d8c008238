package filter

import (
	"sync"

	"github.com/nfgo/nfgo/packet"
	"github.com/nfgo/nfgo/synproxy"
)

// Objects holds the named state that rules share and that outlives a
// ruleset: hashlimit tables, recent lists and IDLETIMER timers (named
// objects kept here), and the ipsets and nfacct objects, which the
// caller owns and Sets and NFAcct name. In the kernel such an object is
// found by its name when a rule is loaded, so that every rule naming it
// shares it, and a table replacement that keeps a rule naming it keeps
// its state. nfgo does the same: Compile binds each rule's extensions to
// their objects once (Binder), and the packet path uses the object it
// was given and never looks a name up.
//
// An object lives while a program that binds it lives in an engine:
// Retain and Release count the programs, and the last Release forgets
// it, as the kernel frees a hashlimit table with its last rule. A
// program compiled with its own Objects (Compile) owns them alone.
//
// Objects is safe for concurrent use; mu is a leaf lock, taken by
// compilation and release only.
type Objects struct {
	// Sets finds the ipsets that -m set and -j SET name; nil means
	// there are none, and a rule naming a set is refused.
	Sets SetResolver
	// NFAcct holds the nfacct objects -m nfacct names; nil means there
	// are none, and a rule naming one is refused.
	NFAcct *NFAcctTable
	// OSF holds the fingerprints -m osf compares SYNs with; nil means
	// there are none, and -m osf matches nothing (rules naming it still
	// load, as in a kernel where nfnl_osf has not run).
	OSF *OSFingerprints
	// SYNProxy is the host's SYNPROXY (its cookie keys and counters),
	// shared by every SYNPROXY rule of both families; nil means one is
	// made when a rule first needs it.
	SYNProxy *synproxy.Proxy
	// RecentListSize is how many addresses a recent list remembers (the
	// kernel's ip_list_tot module parameter); 0 means its default, 100.
	// It holds for lists created after it is set.
	RecentListSize int

	mu sync.Mutex
	m  map[ObjectKey]*object
}

// ObjectKey names an object: its kind ("hashlimit"), its family (0 for
// objects shared by IPv4 and IPv6) and its name.
type ObjectKey struct {
	Kind   string
	Family packet.Family
	Name   string
}

type object struct {
	v    any
	refs int // programs that hold it
}

// Object returns the object k names, creating it with create if there
// is none. A program binding it must hold it (Binding.Object does).
func Object[T any](o *Objects, k ObjectKey, create func() T) T {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e, ok := o.m[k]; ok {
		if v, ok := e.v.(T); ok {
			return v
		}
	}
	v := create()
	if o.m == nil {
		o.m = map[ObjectKey]*object{}
	}
	o.m[k] = &object{v: v}
	return v
}

// synProxy returns o.SYNProxy, making it if need be.
func (o *Objects) synProxy() *synproxy.Proxy {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.SYNProxy == nil {
		o.SYNProxy = synproxy.NewProxy()
	}
	return o.SYNProxy
}

// retain counts one more holder of each object named.
func (o *Objects) retain(keys []ObjectKey) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, k := range keys {
		if e, ok := o.m[k]; ok {
			e.refs++
		}
	}
}

// release counts one holder fewer of each object named, and forgets
// those nobody holds any more.
func (o *Objects) release(keys []ObjectKey) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, k := range keys {
		if e, ok := o.m[k]; ok {
			if e.refs--; e.refs <= 0 {
				delete(o.m, k)
			}
		}
	}
}

// dropUnheld forgets the objects named that no program holds: those a
// compilation that failed created.
func (o *Objects) dropUnheld(keys []ObjectKey) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, k := range keys {
		if e, ok := o.m[k]; ok && e.refs <= 0 {
			delete(o.m, k)
		}
	}
}

// Len returns how many objects are held.
func (o *Objects) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.m)
}

// Binding is one compilation's access to the objects: what Binder.Bind
// gets.
type Binding struct {
	objs   *Objects
	family packet.Family
	held   []ObjectKey
	// releases give up what the program's rules hold beyond Objects
	// (ipsets, nfacct objects), run when the program is released.
	releases []func()
}

// Hold records that the program being compiled holds something outside
// Objects, which release gives up when the program is released (or its
// compilation fails).
func (b *Binding) Hold(release func()) { b.releases = append(b.releases, release) }

// Family returns the family of the ruleset being compiled.
func (b *Binding) Family() packet.Family { return b.family }

// BindObject returns the object of kind and name for the ruleset's
// family, creating it with create if there is none, and records that the
// program holds it.
func BindObject[T any](b *Binding, kind, name string, create func() T) T {
	k := ObjectKey{Kind: kind, Family: b.family, Name: name}
	v := Object(b.objs, k, create)
	b.held = append(b.held, k)
	return v
}

// Binder is implemented by a match or target that uses named state
// (Objects). Compile calls Bind once per rule and runs the extension it
// returns, bound to its objects; the ruleset keeps the unbound one, so
// one ruleset can be compiled again, for another engine or after an
// edit, and each program gets the objects of its own Objects.
type Binder interface {
	Bind(b *Binding) (any, error)
}

// Retain makes p's objects live as long as p: an engine calls it when it
// starts running p.
func (p *Program) Retain() {
	if p.objs != nil {
		p.objs.retain(p.held)
	}
}

// Release gives up p's hold on its objects: an engine calls it once it
// has replaced p. Packets still running through p keep what they use.
func (p *Program) Release() {
	if p.objs != nil {
		p.objs.release(p.held)
	}
	for _, release := range p.releases {
		release()
	}
	p.releases = nil
}

// BindSharedObject is BindObject for an object both families share (a
// recent list): its key has no family.
func BindSharedObject[T any](b *Binding, kind, name string, create func() T) T {
	k := ObjectKey{Kind: kind, Name: name}
	v := Object(b.objs, k, create)
	b.held = append(b.held, k)
	return v
}

// Lookup returns the object k names, if there is one of type T.
func Lookup[T any](o *Objects, k ObjectKey) (T, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e, ok := o.m[k]; ok {
		v, ok := e.v.(T)
		return v, ok
	}
	var zero T
	return zero, false
}

// Each calls fn for every object of the kind, in no particular order.
func Each[T any](o *Objects, kind string, fn func(k ObjectKey, v T)) {
	o.mu.Lock()
	var keys []ObjectKey
	var vals []T
	for k, e := range o.m {
		if v, ok := e.v.(T); ok && k.Kind == kind {
			keys, vals = append(keys, k), append(vals, v)
		}
	}
	o.mu.Unlock()
	for i := range keys {
		fn(keys[i], vals[i])
	}
}
