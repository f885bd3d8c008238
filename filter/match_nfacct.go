//lint:file-ignore ST1005 the errors are the kernel's, as the nfacct tool prints them

package filter

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
)

// NFAcctNameLen is NFACCT_NAME_MAX: a name has fewer bytes.
const NFAcctNameLen = 32

// Errors of the nfacct objects, as the nfacct tool reports them.
var (
	// ErrNFAcctExists: an object of that name exists (EEXIST).
	ErrNFAcctExists = errors.New("File exists")
	// ErrNFAcctNotFound: no object of that name (ENOENT).
	ErrNFAcctNotFound = errors.New("No such file or directory")
	// ErrNFAcctBusy: a rule uses the object (EBUSY).
	ErrNFAcctBusy = errors.New("Device or resource busy")
)

// NFAcct is one extended accounting object (nfnetlink_acct): a packet
// and byte count that rules naming it add to.
type NFAcct struct {
	name           string
	packets, bytes atomic.Uint64
	refs           atomic.Int32 // programs' rules that hold it
}

// Name returns the object's name.
func (a *NFAcct) Name() string { return a.name }

// Counters returns the packets and bytes counted.
func (a *NFAcct) Counters() (packets, bytes uint64) { return a.packets.Load(), a.bytes.Load() }

// Reset sets the counters to zero and returns what they were (nfacct
// get NAME reset).
func (a *NFAcct) Reset() (packets, bytes uint64) { return a.packets.Swap(0), a.bytes.Swap(0) }

// NFAcctTable is the host's nfacct objects, in the order they were
// added, as the nfacct tool manages them. It is safe for concurrent
// use; mu guards the list, and the counters are atomic.
type NFAcctTable struct {
	mu   sync.Mutex
	list []*NFAcct
}

// Add creates an object (nfacct add NAME).
func (t *NFAcctTable) Add(name string) error {
	if name == "" || len(name) >= NFAcctNameLen {
		return fmt.Errorf("nfacct: bad name %q (1 to %d bytes)", name, NFAcctNameLen-1)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range t.list {
		if a.name == name {
			return ErrNFAcctExists
		}
	}
	t.list = append(t.list, &NFAcct{name: name})
	return nil
}

// Get returns the object of that name.
func (t *NFAcctTable) Get(name string) (*NFAcct, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range t.list {
		if a.name == name {
			return a, true
		}
	}
	return nil, false
}

// Delete removes an object no rule uses (nfacct delete NAME).
func (t *NFAcctTable) Delete(name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, a := range t.list {
		if a.name == name {
			if a.refs.Load() > 0 {
				return ErrNFAcctBusy
			}
			t.list = append(t.list[:i], t.list[i+1:]...)
			return nil
		}
	}
	return ErrNFAcctNotFound
}

// Flush removes every object no rule uses (nfacct flush), and reports
// ErrNFAcctBusy if some remain.
func (t *NFAcctTable) Flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	kept := t.list[:0]
	for _, a := range t.list {
		if a.refs.Load() > 0 {
			kept = append(kept, a)
		}
	}
	clear(t.list[len(kept):])
	t.list = kept
	if len(kept) > 0 {
		return ErrNFAcctBusy
	}
	return nil
}

// Objects returns the objects in the order they were added.
func (t *NFAcctTable) Objects() []*NFAcct {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]*NFAcct(nil), t.list...)
}

// WriteTo prints the objects as nfacct list does.
func (t *NFAcctTable) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	for _, a := range t.Objects() {
		FormatNFAcct(&b, a)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// FormatNFAcct writes one object's line as nfacct list and get print it.
func FormatNFAcct(b *strings.Builder, a *NFAcct) {
	p, by := a.Counters()
	fmt.Fprintf(b, "{ pkts = %020d, bytes = %020d } = %s;\n", p, by, a.name)
}

// NFAcctMatch is -m nfacct --nfacct-name (xt_nfacct.c): it always
// matches and counts the packet (its IP length) in the named object,
// which must exist when the rule is loaded (the Objects' NFAcct table)
// and cannot be deleted while the rule is.
type NFAcctMatch struct {
	ObjectName string

	acct *NFAcct
}

// Name returns "nfacct".
func (*NFAcctMatch) Name() string { return "nfacct" }

// NoNFAcctError is Bind's error for a rule naming an object that does not
// exist: the kernel's ENOENT.
type NoNFAcctError struct{ Name string }

func (e *NoNFAcctError) Error() string {
	return fmt.Sprintf("nfacct: no object %q (No such file or directory); create it with nfacct add", e.Name)
}

// Is makes the error match ErrNFAcctNotFound.
func (e *NoNFAcctError) Is(target error) bool { return target == ErrNFAcctNotFound }

// Bind finds the object and holds it for the program.
func (m *NFAcctMatch) Bind(b *Binding) (any, error) {
	var a *NFAcct
	if t := b.objs.NFAcct; t != nil {
		a, _ = t.Get(m.ObjectName)
	}
	if a == nil {
		return nil, &NoNFAcctError{Name: m.ObjectName}
	}
	a.refs.Add(1)
	b.Hold(func() { a.refs.Add(-1) })
	bound := *m
	bound.acct = a
	return &bound, nil
}

// Match counts the packet.
func (m *NFAcctMatch) Match(c *Context) bool {
	if a := m.acct; a != nil {
		a.packets.Add(1)
		a.bytes.Add(uint64(c.Packet.WireLength))
	}
	return true
}
