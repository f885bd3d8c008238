//lint:file-ignore ST1005 the messages are the original tool's, word for word

package ipset

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// Options are a set's create options, as ipset create takes them. Zero
// fields take ipset's defaults.
type Options struct {
	// Family is inet or inet6 (IPv4 default) for a type with addresses.
	Family packet.Family
	// HashSize is the initial hash size (1024), MaxElem the most
	// elements the set may hold (65536); nfgo's hash grows as it needs,
	// so HashSize is kept only to be saved.
	HashSize, MaxElem uint32
	// Netmask (hash:ip, bitmap:ip) stores addresses masked to that
	// prefix length; 0 is none.
	Netmask uint8
	// HasTimeout says elements have timeouts, Timeout being the default
	// in seconds (0: an element without one never expires).
	HasTimeout bool
	Timeout    uint32
	// Counters, Comment and SkbInfo give every element packet and byte
	// counters, a comment, skbinfo. ForceAdd makes a full set evict a
	// random element for a new one.
	Counters, Comment, SkbInfo, ForceAdd bool
	// BucketSize and InitVal are the hash's bucket size (12) and seed,
	// kept to be saved as ipset saves them.
	BucketSize uint8
	InitVal    uint32
	hasInitVal bool
	// RangeFrom and RangeTo bound a bitmap's elements: addresses
	// (bitmap:ip, bitmap:ip,mac) or ports (bitmap:port, in the last two
	// bytes).
	RangeFrom, RangeTo [16]byte
	// Size is a list:set's capacity (8).
	Size uint32
	// MarkMask (hash:ip,mark) is ANDed with the marks of elements and
	// packets; 0 means all bits (0xffffffff).
	MarkMask uint32
}

func (o *Options) markMask() uint32 {
	if o.MarkMask == 0 {
		return ^uint32(0)
	}
	return o.MarkMask
}

// Ref is a set by name, as a rule holds it: swap exchanges what two
// names hold, and a rule naming one sees the other's elements from the
// next packet on, as in the kernel, whose rules hold a set's index.
type Ref struct {
	name string
	set  atomic.Pointer[Set]
	// refs counts the rules and list:set entries that hold the set,
	// which may then not be destroyed.
	refs atomic.Int32
}

// Name returns the set's name.
func (r *Ref) Name() string { return r.name }

// Set returns what the name holds now.
func (r *Ref) Set() *Set { return r.set.Load() }

// Hold counts one more holder (a rule); Release one fewer.
func (r *Ref) Hold()    { r.refs.Add(1) }
func (r *Ref) Release() { r.refs.Add(-1) }

// Sets is a collection of named sets, as the kernel keeps them per
// network namespace: what ipset create, destroy, rename, swap, add, del,
// test, flush, save and restore work on. It is safe for concurrent use;
// mu guards the names, and each set guards its elements.
type Sets struct {
	// Clock is the time element timeouts are measured by; nil is
	// time.Now. Packets bring their own (filter.Context.Now).
	Clock func() time.Time

	mu     sync.Mutex
	byName map[string]*Ref
	order  []*Ref // creation order, which save and list follow
}

// maxBitmapElems is the most elements a bitmap holds (IPSET_BITMAP_MAX_RANGE + 1).
const maxBitmapElems = 1 << 16

// maxSetName is IPSET_MAXNAMELEN - 1.
const maxSetName = 31

// Ref returns the set called name, nil if there is none.
func (ss *Sets) Ref(name string) *Ref {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.byName[name]
}

// Names returns the sets' names in creation order.
func (ss *Sets) Names() []string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	out := make([]string, len(ss.order))
	for i, r := range ss.order {
		out[i] = r.name
	}
	return out
}

// Create makes a set of the named type with opts. With exist, creating
// a set that exists with the same type and options is no error.
func (ss *Sets) Create(name, typ string, opts Options, exist bool) error {
	if name == "" || len(name) > maxSetName {
		return fmt.Errorf("%w: setname %q is longer than %d characters", ErrSyntax, name, maxSetName)
	}
	t, err := typeNamed(typ)
	if err != nil {
		return err
	}
	seeded := opts.InitVal != 0 || opts.hasInitVal
	opts, err = t.resolve(opts)
	if err != nil {
		return err
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if r, ok := ss.byName[name]; ok {
		s := r.Set()
		if !seeded {
			opts.InitVal = s.opts.InitVal
		}
		if exist && s.typ == t && s.opts == opts {
			return nil
		}
		return ErrSetExists
	}
	r := &Ref{name: name}
	r.set.Store(&Set{typ: t, opts: opts})
	if ss.byName == nil {
		ss.byName = map[string]*Ref{}
	}
	ss.byName[name] = r
	ss.order = append(ss.order, r)
	return nil
}

// resolve fills in the defaults of opts for type t and checks them.
func (t *setType) resolve(o Options) (Options, error) {
	if o.Family == 0 {
		o.Family = packet.IPv4
	}
	if t.v4Only && o.Family != packet.IPv4 {
		return o, fmt.Errorf("%w: %s type does not support family %s", ErrSyntax, t.name, familyName(o.Family))
	}
	switch t.storage {
	case hashStorage:
		if o.HashSize == 0 {
			o.HashSize = 1024
		}
		if o.MaxElem == 0 {
			o.MaxElem = 65536
		}
		if o.BucketSize == 0 {
			o.BucketSize = 12
		}
		if o.InitVal != 0 {
			o.hasInitVal = true
		}
		if o.HashSize > 1<<31 {
			// The kernel cannot allocate such a table.
			return o, fmt.Errorf("Kernel error received: Cannot allocate memory (hashsize %d)", o.HashSize)
		}
		resolveHash(&o)
	case bitmapStorage:
		if t.has(dimPort) {
			break
		}
		from := binary.BigEndian.Uint32(o.RangeFrom[:])
		to := binary.BigEndian.Uint32(o.RangeTo[:])
		if from > to {
			return o, fmt.Errorf("%w: range is empty", ErrSyntax)
		}
		nm := o.Netmask
		if nm == 0 {
			nm = 32
		}
		if nm > 32 {
			return o, fmt.Errorf("%w: netmask %d is out of range 1-32", ErrSyntax, nm)
		}
		if (uint64(to)-uint64(from))>>(32-nm) >= maxBitmapElems {
			return o, errRange
		}
	case listStorage:
		// The kernel makes a list at least 4 long (IP_SET_LIST_MIN_SIZE)
		// and, in the kernels nfgo follows, does not refuse a member
		// beyond its size.
		if o.Size == 0 {
			o.Size = 8
		}
		o.Size = max(o.Size, 4)
	}
	return o, nil
}

// Destroy removes the set called name, or every set with name "", unless
// a rule or a list:set holds it.
func (ss *Sets) Destroy(name string) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if name == "" {
		for _, r := range ss.order {
			if r.refs.Load() > 0 {
				return fmt.Errorf("%s: %w", r.name, ErrInUse)
			}
		}
		ss.byName, ss.order = nil, nil
		return nil
	}
	r, ok := ss.byName[name]
	if !ok {
		return ErrNoSet
	}
	if r.refs.Load() > 0 {
		return ErrInUse
	}
	delete(ss.byName, name)
	for i, o := range ss.order {
		if o == r {
			ss.order = append(ss.order[:i:i], ss.order[i+1:]...)
			break
		}
	}
	if s := r.Set(); s.typ.storage == listStorage {
		for _, e := range s.members {
			e.member.Release()
		}
	}
	return nil
}

// Rename gives the set called from the name to; rules holding it keep
// it.
func (ss *Sets) Rename(from, to string) error {
	if to == "" || len(to) > maxSetName {
		return fmt.Errorf("%w: setname %q is longer than %d characters", ErrSyntax, to, maxSetName)
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	r, ok := ss.byName[from]
	if !ok {
		return ErrNoSet
	}
	if _, taken := ss.byName[to]; taken {
		return fmt.Errorf("%w: a set with the new name already exists", ErrSetExists)
	}
	delete(ss.byName, from)
	r.name = to
	ss.byName[to] = r
	return nil
}

// Swap exchanges the contents of two sets of the same type: what rules
// naming either see changes from the next lookup.
func (ss *Sets) Swap(a, b string) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ra, ok := ss.byName[a]
	rb, ok2 := ss.byName[b]
	if !ok || !ok2 {
		return ErrNoSet
	}
	sa, sb := ra.Set(), rb.Set()
	if sa.typ != sb.typ || sa.family() != sb.family() {
		return ErrIncompatible
	}
	ra.set.Store(sb)
	rb.set.Store(sa)
	return nil
}

// Flush removes every element of the set called name, or of every set
// with name "".
func (ss *Sets) Flush(name string) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if name == "" {
		for _, r := range ss.order {
			r.Set().flush()
		}
		return nil
	}
	r, ok := ss.byName[name]
	if !ok {
		return ErrNoSet
	}
	r.Set().flush()
	return nil
}

// set returns the set called name.
func (ss *Sets) set(name string) (*Set, error) {
	if r := ss.Ref(name); r != nil {
		return r.Set(), nil
	}
	return nil, ErrNoSet
}

// Collect removes the expired elements of every set.
func (ss *Sets) Collect(now time.Time) {
	ss.mu.Lock()
	refs := append([]*Ref(nil), ss.order...)
	ss.mu.Unlock()
	for _, r := range refs {
		r.Set().Collect(now)
	}
}
