//lint:file-ignore ST1005 the messages are the original tool's, word for word

package ipset

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/nfgo/nfgo/packet"
)

// Save writes every set in ipset save's format: a create line for each
// set, then its elements, sets in creation order with the list:set ones
// last (so that restoring finds their members), as ipset save prints
// them. A hash type's elements are in the order they were added, where
// the kernel prints them in its hash table's order.
func (ss *Sets) Save(w io.Writer) error {
	ss.mu.Lock()
	refs := append([]*Ref(nil), ss.order...)
	ss.mu.Unlock()
	bw := bufio.NewWriter(w)
	now := ss.now()
	for pass := 0; pass < 2; pass++ {
		for _, r := range refs {
			s := r.Set()
			if (s.typ.storage == listStorage) != (pass == 1) {
				continue
			}
			s.save(bw, r.Name(), now)
		}
	}
	return bw.Flush()
}

// SaveSet writes the set called name, as ipset save NAME does.
func (ss *Sets) SaveSet(w io.Writer, name string) error {
	r := ss.Ref(name)
	if r == nil {
		return ErrNoSet
	}
	bw := bufio.NewWriter(w)
	r.Set().save(bw, name, ss.now())
	return bw.Flush()
}

func (s *Set) save(w *bufio.Writer, name string, now int64) {
	w.WriteString("create " + name + " " + s.typ.name + s.header() + "\n")
	var b strings.Builder
	for _, e := range s.liveEntries(now) {
		b.Reset()
		b.WriteString("add ")
		b.WriteString(name)
		b.WriteByte(' ')
		s.formatElement(&b, e)
		s.formatExt(&b, e, now)
		b.WriteByte('\n')
		w.WriteString(b.String())
	}
}

// liveEntries returns the set's elements in the order save prints them.
func (s *Set) liveEntries(now int64) []*entry {
	if s.typ.storage == listStorage {
		return s.liveMembers(now)
	}
	return s.entries(now)
}

// List writes the set called name, or every set with name "", as ipset
// list prints them. "Size in memory" is nfgo's estimate of what the set
// takes, not the kernel's figure.
func (ss *Sets) List(w io.Writer, name string) error {
	var refs []*Ref
	if name != "" {
		r := ss.Ref(name)
		if r == nil {
			return ErrNoSet
		}
		refs = []*Ref{r}
	} else {
		ss.mu.Lock()
		refs = append(refs, ss.order...)
		ss.mu.Unlock()
	}
	bw := bufio.NewWriter(w)
	now := ss.now()
	for i, r := range refs {
		if i > 0 {
			bw.WriteString("\n")
		}
		s := r.Set()
		entries := s.liveEntries(now)
		fmt.Fprintf(bw, "Name: %s\nType: %s\nRevision: %d\nHeader:%s\nSize in memory: %d\nReferences: %d\nNumber of entries: %d\nMembers:\n",
			r.Name(), s.typ.name, s.typ.revision, s.header(), s.memory(), r.refs.Load(), len(entries))
		var b strings.Builder
		for _, e := range entries {
			b.Reset()
			s.formatElement(&b, e)
			s.formatExt(&b, e, now)
			bw.WriteString(b.String() + "\n")
		}
	}
	return bw.Flush()
}

// memory estimates the bytes the set takes: its header and, per
// element, the entry, its map slot and its comment.
func (s *Set) memory() int {
	const perElement = int(unsafe.Sizeof(entry{})) + 2*int(unsafe.Sizeof(key{})) + 16
	n := 0
	for _, e := range s.liveEntries(0) {
		n += perElement + len(e.comment)
	}
	return int(unsafe.Sizeof(Set{})) + n
}

// header is the create line's options, in the order ipset prints them.
func (s *Set) header() string {
	o := &s.opts
	var b strings.Builder
	switch s.typ.storage {
	case hashStorage:
		if s.typ.addressed() {
			b.WriteString(" family " + familyName(o.Family))
		}
		fmt.Fprintf(&b, " hashsize %d maxelem %d", o.HashSize, o.MaxElem)
		if o.Netmask != 0 && int(o.Netmask) != s.maxPrefix() {
			fmt.Fprintf(&b, " netmask %d", o.Netmask)
		}
		if s.typ.has(dimMark) {
			fmt.Fprintf(&b, " markmask 0x%08x", o.markMask())
		}
	case bitmapStorage:
		if s.typ.has(dimPort) {
			fmt.Fprintf(&b, " range %d-%d", binary.BigEndian.Uint16(o.RangeFrom[14:]), binary.BigEndian.Uint16(o.RangeTo[14:]))
		} else {
			fmt.Fprintf(&b, " range %s-%s", netip.AddrFrom4([4]byte(o.RangeFrom[:4])), netip.AddrFrom4([4]byte(o.RangeTo[:4])))
			if o.Netmask != 0 && o.Netmask != 32 {
				fmt.Fprintf(&b, " netmask %d", o.Netmask)
			}
		}
	case listStorage:
		fmt.Fprintf(&b, " size %d", o.Size)
	}
	if o.HasTimeout {
		fmt.Fprintf(&b, " timeout %d", o.Timeout)
	}
	if o.Counters {
		b.WriteString(" counters")
	}
	if o.Comment {
		b.WriteString(" comment")
	}
	if o.SkbInfo {
		b.WriteString(" skbinfo")
	}
	if s.typ.storage == hashStorage {
		fmt.Fprintf(&b, " bucketsize %d initval 0x%08x", o.BucketSize, o.InitVal)
	}
	return b.String()
}

// formatExt writes an element's extensions as ipset prints them.
func (s *Set) formatExt(b *strings.Builder, e *entry, now int64) {
	if s.opts.HasTimeout {
		left := int64(0)
		if e.deadline != 0 {
			left = (e.deadline - now) / int64(time.Second)
		}
		fmt.Fprintf(b, " timeout %d", left)
	}
	if e.nomatch {
		b.WriteString(" nomatch")
	}
	if e.k.iface.wildcard {
		b.WriteString(" wildcard")
	}
	if s.opts.Counters {
		fmt.Fprintf(b, " packets %d bytes %d", e.packets.Load(), e.bytes.Load())
	}
	if s.opts.Comment && e.comment != "" {
		b.WriteString(` comment "` + e.comment + `"`)
	}
	if s.opts.SkbInfo {
		k := &e.skb
		if k.HasMark && (k.Mark != 0 || k.MarkMask != 0xffffffff) {
			fmt.Fprintf(b, " skbmark 0x%x", k.Mark)
			if k.MarkMask != 0xffffffff {
				fmt.Fprintf(b, "/0x%x", k.MarkMask)
			}
		}
		if k.HasPrio && k.Prio != 0 {
			fmt.Fprintf(b, " skbprio %x:%x", k.Prio>>16, k.Prio&0xffff)
		}
		if k.HasQueue && k.Queue != 0 {
			fmt.Fprintf(b, " skbqueue %d", k.Queue)
		}
	}
}

// RestoreError is a restore file's first bad line: its number and what
// was wrong, as ipset restore reports it ("Error in line 3: ...").
type RestoreError struct {
	Line int
	Err  error
}

func (e *RestoreError) Error() string { return fmt.Sprintf("Error in line %d: %v", e.Line, e.Err) }

// Unwrap returns the line's error.
func (e *RestoreError) Unwrap() error { return e.Err }

// Restore runs the commands of an ipset save file (create, add, del,
// flush, destroy, rename, swap; blank lines and comments skipped) on
// ss, as ipset restore does: it stops at the first bad line, which the
// *RestoreError names, leaving the lines before it done. With exist,
// creating a set that exists with the same options, adding an element
// that is there and deleting one that is not are no errors (-exist).
func (ss *Sets) Restore(r io.Reader, exist bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		if err := ss.Exec(text, exist); err != nil {
			return &RestoreError{Line: line, Err: err}
		}
	}
	if err := sc.Err(); err != nil {
		return &RestoreError{Line: line + 1, Err: err}
	}
	return nil
}

// ParseSets reads an ipset save file into a new Sets.
func ParseSets(r io.Reader) (*Sets, error) {
	ss := &Sets{}
	if err := ss.Restore(r, false); err != nil {
		return nil, err
	}
	return ss, nil
}

// Exec runs one ipset command line, as ipset restore reads it ("add
// blocked 10.0.0.1 timeout 60"); exist is -exist.
func (ss *Sets) Exec(line string, exist bool) error {
	args, err := splitArgs(line)
	if err != nil {
		return err
	}
	// -exist (or -!) may come anywhere: fail2ban and firewalld put it
	// last.
	kept := args[:0]
	for _, a := range args {
		if a == "-exist" || a == "-!" {
			exist = true
		} else {
			kept = append(kept, a)
		}
	}
	args = kept
	if len(args) == 0 || len(args) == 1 && args[0] == "COMMIT" {
		// COMMIT ends a restore transaction (Calico writes one); lines
		// take effect as they are read, as in ipset.
		return nil
	}
	cmd, args := args[0], args[1:]
	need := func(n int, what string) error {
		if len(args) < n {
			return fmt.Errorf("Invalid %s command: missing %s", what, []string{"setname", "setname", "element"}[min(len(args), 2)])
		}
		return nil
	}
	switch cmd {
	case "create", "c", "n", "-N", "-n":
		if len(args) < 2 {
			return fmt.Errorf("%w: missing settype", ErrSyntax)
		}
		opts, err := parseCreateOptions(args[1], args[2:])
		if err != nil {
			return err
		}
		return ss.Create(args[0], args[1], opts, exist)
	case "add", "a", "-A":
		if err := need(2, "add"); err != nil {
			return err
		}
		s, err := ss.set(args[0])
		if err != nil {
			return err
		}
		ext, err := parseExt(s, args[2:])
		if err != nil {
			return err
		}
		return ss.Add(args[0], args[1], ext, exist)
	case "del", "d", "-D":
		if err := need(2, "del"); err != nil {
			return err
		}
		return ss.Del(args[0], args[1], exist)
	case "test", "t", "-T":
		if err := need(2, "test"); err != nil {
			return err
		}
		ok, err := ss.Test(args[0], args[1])
		if err == nil && !ok {
			err = fmt.Errorf("%s is NOT in set %s.", args[1], args[0])
		}
		return err
	case "flush", "f", "-F":
		name := ""
		if len(args) > 0 {
			name = args[0]
		}
		return ss.Flush(name)
	case "destroy", "x", "-X":
		name := ""
		if len(args) > 0 {
			name = args[0]
		}
		return ss.Destroy(name)
	case "rename", "e", "-E":
		if len(args) != 2 {
			return fmt.Errorf("%w: rename takes two set names", ErrSyntax)
		}
		return ss.Rename(args[0], args[1])
	case "swap", "w", "-W":
		if len(args) != 2 {
			return fmt.Errorf("%w: swap takes two set names", ErrSyntax)
		}
		return ss.Swap(args[0], args[1])
	}
	return fmt.Errorf("%w: unknown command '%s'", ErrSyntax, cmd)
}

// splitArgs splits a line into words, a double-quoted word (a comment)
// being one.
func splitArgs(line string) ([]string, error) {
	var out []string
	for {
		line = strings.TrimLeft(line, " \t")
		if line == "" {
			return out, nil
		}
		if line[0] == '"' {
			end := strings.IndexByte(line[1:], '"')
			if end < 0 || 2+end < len(line) && line[2+end] != ' ' && line[2+end] != '\t' {
				// A quoted word must end at a space: ipset then finds
				// the option before it without its argument.
				opt := "comment"
				if len(out) > 0 {
					opt = out[len(out)-1]
				}
				return nil, fmt.Errorf("Missing mandatory argument of option `%s'", opt)
			}
			out = append(out, line[1:1+end])
			line = line[2+end:]
			continue
		}
		end := strings.IndexAny(line, " \t")
		if end < 0 {
			end = len(line)
		}
		out = append(out, line[:end])
		line = line[end:]
	}
}

func unknownArg(a string) error {
	return fmt.Errorf("Unknown argument: `%s'", a)
}

// maxTimeout is the largest timeout in seconds (UINT_MAX/1000/2).
const maxTimeout = 2147483

func parseTimeout(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: '%s' is invalid as number", ErrSyntax, s)
	}
	if n > maxTimeout {
		return 0, fmt.Errorf("%w: '%s' is out of range 0-%d", ErrSyntax, s, maxTimeout)
	}
	return uint32(n), nil
}

// parseCreateOptions parses create's options for type typ.
func parseCreateOptions(typ string, args []string) (Options, error) {
	var o Options
	t, err := typeNamed(typ)
	if err != nil {
		return o, fmt.Errorf("%w: typename '%s' is unknown", ErrSyntax, typ)
	}
	val := func(i int) (string, error) {
		if i+1 >= len(args) {
			return "", fmt.Errorf("%w: option '%s' requires an argument", ErrSyntax, args[i])
		}
		return args[i+1], nil
	}
	var rangeText string
	for i := 0; i < len(args); i++ {
		a := args[i]
		takesValue := true
		var v string
		switch a {
		case "counters", "comment", "skbinfo", "forceadd":
			takesValue = false
		}
		if takesValue {
			if v, err = val(i); err != nil {
				return o, err
			}
			i++
		}
		number := func(bits int) (uint64, error) { return parseNumber(v, bits) }
		switch {
		case a == "family" && t.addressed():
			f, ok := parseFamily(v)
			if !ok {
				return o, fmt.Errorf("%w: unknown family %s", ErrSyntax, v)
			}
			o.Family = f
		case a == "hashsize" && t.storage == hashStorage:
			n, err := number(32)
			if err != nil {
				return o, err
			}
			o.HashSize = uint32(n)
		case a == "maxelem" && t.storage == hashStorage:
			n, err := number(32)
			if err != nil {
				return o, err
			}
			o.MaxElem = uint32(n)
		case a == "bucketsize" && t.storage == hashStorage:
			n, err := number(8)
			if err != nil {
				return o, err
			}
			o.BucketSize = uint8(n)
		case a == "initval" && t.storage == hashStorage:
			n, err := number(32)
			if err != nil {
				return o, err
			}
			o.InitVal = uint32(n)
			o.hasInitVal = true
		case a == "netmask" && (t.name == "hash:ip" || t.name == "bitmap:ip"):
			n, err := parseCIDR(v, 128)
			if err != nil {
				return o, err
			}
			o.Netmask = n
		case a == "markmask" && t.has(dimMark):
			n, err := number(32)
			if err != nil {
				return o, err
			}
			if n == 0 {
				return o, fmt.Errorf("%w: markmask 0 is invalid", ErrSyntax)
			}
			o.MarkMask = uint32(n)
		case a == "range" && t.storage == bitmapStorage:
			rangeText = v
		case a == "size" && t.storage == listStorage:
			n, err := number(32)
			if err != nil {
				return o, err
			}
			o.Size = uint32(n)
		case a == "timeout":
			n, err := parseTimeout(v)
			if err != nil {
				return o, err
			}
			o.HasTimeout, o.Timeout = true, n
		case a == "counters":
			o.Counters = true
		case a == "comment":
			o.Comment = true
		case a == "skbinfo":
			o.SkbInfo = true
		case a == "forceadd" && t.storage == hashStorage:
			o.ForceAdd = true
		default:
			return o, unknownArg(a)
		}
	}
	if t.storage == bitmapStorage {
		if rangeText == "" {
			return o, fmt.Errorf("%w: Argument `range' is missing", ErrSyntax)
		}
		if err := parseBitmapRange(t, &o, rangeText); err != nil {
			return o, err
		}
	}
	return o, nil
}

// parseBitmapRange parses a bitmap's range: ports "a-b", or IPv4
// "a-b" or "a/cidr".
func parseBitmapRange(t *setType, o *Options, text string) error {
	if t.has(dimPort) {
		a, b, ok := strings.Cut(text, "-")
		from, err := parsePort(a, "tcp")
		if err != nil {
			return err
		}
		to := from
		if ok {
			if to, err = parsePort(b, "tcp"); err != nil {
				return err
			}
		}
		if from > to {
			from, to = to, from
		}
		binary.BigEndian.PutUint16(o.RangeFrom[14:], from)
		binary.BigEndian.PutUint16(o.RangeTo[14:], to)
		return nil
	}
	tmp := &Set{typ: t, opts: Options{Family: packet.IPv4}}
	from, to, err := tmp.parseV4Span(text)
	if err != nil {
		return err
	}
	binary.BigEndian.PutUint32(o.RangeFrom[:], from)
	binary.BigEndian.PutUint32(o.RangeTo[:], to)
	return nil
}

// resolveHash finishes a hash type's options: the hash size rounded up
// to a power of two of at least 64, the bucket size made even in 2..12,
// and a random seed unless one was given.
func resolveHash(o *Options) {
	if o.HashSize < 64 {
		o.HashSize = 64
	}
	if o.HashSize&(o.HashSize-1) != 0 {
		o.HashSize = 1 << bits.Len32(o.HashSize)
	}
	if o.BucketSize < 2 {
		o.BucketSize = 2
	}
	if o.BucketSize > 12 {
		o.BucketSize = 12
	}
	if o.BucketSize&1 != 0 {
		o.BucketSize++
	}
	if !o.hasInitVal {
		var b [4]byte
		rand.Read(b[:])
		o.InitVal = binary.LittleEndian.Uint32(b[:])
		o.hasInitVal = true
	}
}

// parseExt parses add's options for set s.
func parseExt(s *Set, args []string) (Ext, error) {
	var e Ext
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "nomatch" {
			if !s.typ.nomatch {
				return e, errNoNomatch
			}
			e.Nomatch = true
			continue
		}
		if a == "wildcard" && s.typ.has(dimIface) {
			e.Wildcard = true
			continue
		}
		if i+1 >= len(args) {
			return e, fmt.Errorf("%w: option '%s' requires an argument", ErrSyntax, a)
		}
		i++
		v := args[i]
		var err error
		switch a {
		case "timeout":
			e.HasTimeout = true
			e.Timeout, err = parseTimeout(v)
		case "packets", "bytes":
			var n uint64
			n, err = parseNumber(v, 64)
			e.HasCounters = true
			if a == "packets" {
				e.Packets = n
			} else {
				e.Bytes = n
			}
		case "comment":
			e.Comment = v
		case "skbmark":
			err = parseSkbMark(v, &e.Skb)
		case "skbprio":
			err = parseSkbPrio(v, &e.Skb)
		case "skbqueue":
			var n uint64
			n, err = parseNumber(v, 16)
			e.Skb.Queue, e.Skb.HasQueue = uint16(n), true
		case "before", "after":
			if s.typ.storage != listStorage {
				return e, unknownArg(a)
			}
			if a == "before" {
				e.Before = v
			} else {
				e.After = v
			}
		default:
			return e, unknownArg(a)
		}
		if err != nil {
			return e, err
		}
	}
	return e, nil
}

var errSkbMark = fmt.Errorf("%w: Invalid skbmark format, it should be:  MARK/MASK or MARK (see manpage)", ErrSyntax)

// parseSkbMark parses "0xMARK[/0xMASK]": ipset takes hexadecimal only.
func parseSkbMark(v string, k *SkbInfo) error {
	hex := func(s string) (uint32, bool) {
		h, ok := strings.CutPrefix(strings.ToLower(s), "0x")
		n, err := strconv.ParseUint(h, 16, 32)
		return uint32(n), ok && err == nil
	}
	m, mk, hasMask := strings.Cut(v, "/")
	mark, ok := hex(m)
	if !ok {
		return errSkbMark
	}
	markMask := uint32(0xffffffff)
	if hasMask {
		if markMask, ok = hex(mk); !ok {
			return errSkbMark
		}
	}
	k.Mark, k.MarkMask, k.HasMark = mark, markMask, true
	return nil
}

// parseSkbPrio parses a tc class "MAJOR:MINOR", both hexadecimal.
func parseSkbPrio(v string, k *SkbInfo) error {
	a, b, ok := strings.Cut(v, ":")
	maj, err1 := strconv.ParseUint(a, 16, 16)
	mn, err2 := strconv.ParseUint(b, 16, 16)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("%w: Invalid skbprio format, it should be:MAJOR:MINOR (see manpage)", ErrSyntax)
	}
	k.Prio, k.HasPrio = uint32(maj)<<16|uint32(mn), true
	return nil
}
