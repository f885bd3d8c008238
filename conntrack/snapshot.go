package conntrack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"

	"github.com/nfgo/nfgo/packet"
)

// A snapshot is the table written out by Save and read back by Load, so
// that a restarted nfgo (or a standby taking over, as with conntrackd's
// commit) keeps its connections: without them every established TCP
// connection would be INVALID or picked up loosely after a restart, and
// a firewall that admits only NEW SYNs would cut them.
//
// # Format, version 1
//
// Fixed-width integers are big-endian; uvarint and varint are
// encoding/binary's.
//
//	header   "nfgoct" | version u8 = 1 | flags u8 | saved-at i64 (Unix ns) | count u32
//	           flags bit 0: the expectations follow the entries
//	           flags bit 1: the GRE keymap follows them
//	entry    × count: length uvarint, then that many bytes:
//	           orig tuple | reply tuple
//	           status u32 | mark u32
//	           timeout varint   ns left (deadline − now at Save); ≤ 0: expired
//	           age uvarint      ns since the connection started
//	           orig packets, orig bytes, reply packets, reply bytes: uvarint
//	           parts u8         bit 0: labels follow; bit 1: TCP state follows;
//	                            bit 2: sequence adjustment follows;
//	                            bit 3: helper follows; bit 4: master's helper follows;
//	                            bit 5: SCTP state follows; bit 6: SYNPROXY state follows
//	           labels           2 × u64 (bit 0 of parts)
//	           tcp              length u8, then tcpTrack (bit 1, see tcp_snapshot.go)
//	           seqadj           2 × (correction pos u32, offset before i32,
//	                            offset after i32), original direction first (bit 2)
//	           helper           name, then its state: HelpDataSize bytes (bit 3)
//	           master           the master's helper's name, then its
//	                            original tuple (bit 4)
//	           sctp             state u8 | flags u8 (bits 0, 1: INIT seen in the original,
//	                            reply direction; bit 2: heartbeat tag failed; bit 3: it
//	                            failed in the reply direction) | vtag original u32 |
//	                            vtag reply u32 (bit 5; every SCTP connection has it)
//	           synproxy         isn u32 | its u32 | tsoff u32 (bit 6)
//	expectations (flags bit 0): count u32, then × count: length uvarint, then:
//	           tuple | mask u8 | source bits u8 | master tuple | master reply tuple
//	           timeout varint (ns left) | class u8 | flags u8
//	           helper name | assign-helper name | fn name
//	           dir u8 | saved addr 16 bytes | saved port u16
//	GRE keymap (flags bit 1): count u32, then × count: length uvarint, then:
//	           master's original tuple | dir u8 | tuple
//	trailer  CRC-32 (IEEE) of everything before it, u32
//	name     length u8, then the bytes ("" for none)
//	tuple    family u8 (4|6) | proto u8 | zone u16 | src, dst (4 or 16 bytes each) | sport u16 | dport u16
//
// Timeouts are kept as the time left, and resume at Load's now: time
// that passes between Save and Load does not count, as when conntrackd
// commits its cache to a new kernel. saved-at is for information.
// Readers refuse a higher version; a new field means a new version. An
// optional part may be added without one: readers refuse parts they do
// not know, so a file never loses one silently.

// ErrBadSnapshot is wrapped by the errors Load returns for a file that is
// not a snapshot, or is truncated or corrupt.
var ErrBadSnapshot = errors.New("conntrack: bad snapshot")

const (
	snapshotMagic   = "nfgoct"
	snapshotVersion = 1
	snapshotHeader  = len(snapshotMagic) + 1 + 1 + 8 + 4
	snapshotTrailer = 4

	partLabels   = 1 << 0
	partTCP      = 1 << 1
	partSeqAdj   = 1 << 2
	partHelper   = 1 << 3
	partMaster   = 1 << 4
	partSCTP     = 1 << 5
	partSynproxy = 1 << 6
	knownParts   = partLabels | partTCP | partSeqAdj | partHelper | partMaster | partSCTP | partSynproxy

	flagExpectations = 1 << 0
	flagGREKeys      = 1 << 1
	knownFlags       = flagExpectations | flagGREKeys

	// maxSnapshotDuration bounds a timeout or an age read from a file,
	// so that adding it to a clock cannot overflow (about 146 years).
	maxSnapshotDuration = 1 << 62
)

// Save writes every live connection to w at time now, in the format
// above. Shards are copied one at a time, so, as with conntrack -L, a
// connection that changes meanwhile is saved as it was when its shard was
// read.
func (t *Table) Save(w io.Writer, now time.Time) error {
	ns := now.UnixNano()
	b := make([]byte, snapshotHeader, 4096)
	copy(b, snapshotMagic)
	b[len(snapshotMagic)] = snapshotVersion
	binary.BigEndian.PutUint64(b[len(snapshotMagic)+2:], uint64(ns))
	count := 0
	var rec []byte
	t.forEach(ns, func(e *entry) {
		rec = appendEntry(rec[:0], e, ns)
		b = binary.AppendUvarint(b, uint64(len(rec)))
		b = append(b, rec...)
		count++
	})
	binary.BigEndian.PutUint32(b[snapshotHeader-4:], uint32(count))
	if exps := t.Expectations(now); len(exps) > 0 {
		b[len(snapshotMagic)+1] |= flagExpectations
		b = binary.BigEndian.AppendUint32(b, uint32(len(exps)))
		for i := range exps {
			rec = appendExpectation(rec[:0], &exps[i])
			b = binary.AppendUvarint(b, uint64(len(rec)))
			b = append(b, rec...)
		}
	}
	if keys := t.gre.entries(); len(keys) > 0 {
		b[len(snapshotMagic)+1] |= flagGREKeys
		b = binary.BigEndian.AppendUint32(b, uint32(len(keys)))
		for i := range keys {
			k := &keys[i]
			rec = appendTuple(rec[:0], &k.master)
			rec = append(rec, uint8(k.dir))
			rec = appendTuple(rec, &k.tuple)
			b = binary.AppendUvarint(b, uint64(len(rec)))
			b = append(b, rec...)
		}
	}
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("conntrack: writing snapshot: %w", err)
	}
	return nil
}

// appendEntry appends an entry's body.
func appendEntry(b []byte, e *entry, now int64) []byte {
	b = appendTuple(b, &e.tuple[Original])
	b = appendTuple(b, &e.tuple[Reply])
	b = binary.BigEndian.AppendUint32(b, uint32(e.status))
	b = binary.BigEndian.AppendUint32(b, e.mark)
	b = binary.AppendVarint(b, int64(e.left(now)))
	b = binary.AppendUvarint(b, uint64(max(now-e.started, 0)))
	for _, ctr := range e.counters {
		c := ctr.get()
		b = binary.AppendUvarint(b, c.Packets)
		b = binary.AppendUvarint(b, c.Bytes)
	}
	var parts uint8
	if e.ext.labels != [2]uint64{} {
		parts |= partLabels
	}
	if e.tuple[Original].Proto == packet.ProtoTCP {
		parts |= partTCP
	}
	if e.ext.seqadj != ([2]SeqAdj{}) {
		parts |= partSeqAdj
	}
	if e.ext.help.Helper != nil {
		parts |= partHelper
	}
	if e.ext.masterOf.Family != 0 {
		parts |= partMaster
	}
	if e.tuple[Original].Proto == packet.ProtoSCTP {
		parts |= partSCTP
	}
	if e.status&statusSynproxy != 0 {
		parts |= partSynproxy
	}
	b = append(b, parts)
	if parts&partLabels != 0 {
		b = binary.BigEndian.AppendUint64(b, e.ext.labels[0])
		b = binary.BigEndian.AppendUint64(b, e.ext.labels[1])
	}
	if parts&partTCP != 0 {
		b = append(b, tcpSnapshotLen)
		b = e.tcp.appendBinary(b)
	}
	if parts&partSeqAdj != 0 {
		for _, a := range e.ext.seqadj {
			b = binary.BigEndian.AppendUint32(b, a.CorrectionPos)
			b = binary.BigEndian.AppendUint32(b, uint32(a.OffsetBefore))
			b = binary.BigEndian.AppendUint32(b, uint32(a.OffsetAfter))
		}
	}
	if parts&partHelper != 0 {
		b = appendName(b, e.ext.help.Helper)
		b = append(b, e.ext.help.Data[:]...)
	}
	if parts&partMaster != 0 {
		b = appendName(b, e.ext.master)
		b = appendTuple(b, &e.ext.masterOf)
	}
	if parts&partSCTP != 0 {
		b = e.ext.sctp.appendBinary(b)
	}
	if parts&partSynproxy != 0 {
		b = binary.BigEndian.AppendUint32(b, e.ext.synproxy.ISN)
		b = binary.BigEndian.AppendUint32(b, e.ext.synproxy.ITS)
		b = binary.BigEndian.AppendUint32(b, e.ext.synproxy.TSOff)
	}
	return b
}

// appendName appends a helper's name, "" for none.
func appendName(b []byte, h Helper) []byte {
	if h == nil {
		return append(b, 0)
	}
	n := h.Name()
	return append(append(b, uint8(len(n))), n...)
}

// appendExpectation appends an expectation's body.
func appendExpectation(b []byte, e *Expectation) []byte {
	b = appendTuple(b, &e.Tuple)
	b = append(b, uint8(e.Mask), e.SrcBits)
	b = appendTuple(b, &e.Master)
	b = appendTuple(b, &e.MasterReply)
	b = binary.AppendVarint(b, int64(e.Timeout))
	b = append(b, e.Class, uint8(e.Flags))
	b = appendName(b, e.Helper)
	b = appendName(b, e.AssignHelper)
	b = append(append(b, uint8(len(e.Fn))), e.Fn...)
	b = append(b, uint8(e.Dir))
	b = append(b, e.SavedAddr[:]...)
	return binary.BigEndian.AppendUint16(b, e.SavedPort)
}

func appendTuple(b []byte, t *Tuple) []byte {
	b = append(b, uint8(t.Family), t.Proto)
	b = binary.BigEndian.AppendUint16(b, t.Zone)
	n := addrLen(t.Family)
	b = append(b, t.Src[:n]...)
	b = append(b, t.Dst[:n]...)
	b = binary.BigEndian.AppendUint16(b, t.SrcPort)
	return binary.BigEndian.AppendUint16(b, t.DstPort)
}

func addrLen(f packet.Family) int {
	if f == packet.IPv6 {
		return 16
	}
	return 4
}

// Load reads a snapshot from r and puts its connections in the table at
// time now, with the time each had left at Save. It returns how many it
// restored. Entries that had expired are skipped, and so are entries
// whose tuples are already in the table (the table's own copy is newer).
// If the table fills up, the remaining entries are skipped and the error
// wraps ErrTableFull.
//
// The whole snapshot is checked (magic, version, checksum, every entry)
// before anything is restored: a bad file restores nothing and returns
// an error wrapping ErrBadSnapshot. Each restored connection is reported
// as EventNew, as ctnetlink reports the entries conntrack -I or
// conntrackd's commit create.
func (t *Table) Load(r io.Reader, now time.Time) (int, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return 0, fmt.Errorf("conntrack: reading snapshot: %w", err)
	}
	snap, err := t.decodeSnapshot(data, now.UnixNano())
	if err != nil {
		return 0, err
	}
	entries := snap.entries
	n, full := 0, 0
	ns := now.UnixNano()
	for i := range entries {
		e := &entries[i]
		if e.expired(ns) {
			continue
		}
		if t.restore(*e) {
			n++
			e.status |= StatusConfirmed
			t.emit(EventNew, e, ns, t.shardOf(&e.tuple[Original]))
		} else if t.Len() >= t.cfg.Max {
			full++
		}
	}
	t.restoreExpectations(snap.exps, ns)
	for _, k := range snap.greKeys {
		var loc located
		if t.locate(&loc, &k.master, ns) {
			loc.s.mu.Unlock()
			// A master that has a key for the direction keeps it.
			_ = t.gre.add(k.master, k.dir, k.tuple)
		}
	}
	if full > 0 {
		return n, fmt.Errorf("conntrack: %d snapshot entries not restored: %w", full, ErrTableFull)
	}
	return n, nil
}

// restoreExpectations registers the expectations of a snapshot whose
// masters are in the table, with the time each had left.
func (t *Table) restoreExpectations(exps []Expectation, now int64) {
	for _, e := range exps {
		var loc located
		if e.Timeout <= 0 || !t.locate(&loc, &e.Master, now) {
			continue
		}
		mark := loc.c.mark
		loc.s.mu.Unlock()
		x := &t.ext.expect
		x.mu.Lock()
		if x.n < x.max {
			x.seq++
			n := &expectation{Expectation: e, mark: mark, deadline: now + int64(e.Timeout), seq: x.seq}
			k := expectKeyOf(&e.Tuple)
			x.byDst[k] = append(x.byDst[k], n)
			x.byMaster[e.Master] = append(x.byMaster[e.Master], n)
			x.n++
			x.hooks.Add(hookExpectation)
			x.events.emitExpect(EventNew, n, now)
		}
		x.mu.Unlock()
	}
}

// snapErr is a reason a snapshot is refused.
func snapErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadSnapshot}, args...)...)
}

// snapshot is a decoded snapshot.
type snapshot struct {
	entries []entry
	exps    []Expectation
	greKeys []greKeyEntry
}

// decodeSnapshot checks a whole snapshot and returns its entries, with
// deadlines and start times on the clock of now, its expectations and
// its GRE keymap.
func (t *Table) decodeSnapshot(data []byte, now int64) (snapshot, error) {
	if len(data) < len(snapshotMagic) || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return snapshot{}, snapErr("no %q magic", snapshotMagic)
	}
	if len(data) < snapshotHeader+snapshotTrailer {
		return snapshot{}, snapErr("truncated header (%d bytes)", len(data))
	}
	if v := data[len(snapshotMagic)]; v != snapshotVersion {
		return snapshot{}, snapErr("version %d, this nfgo reads version %d", v, snapshotVersion)
	}
	flags := data[len(snapshotMagic)+1]
	if flags&^knownFlags != 0 {
		return snapshot{}, snapErr("unknown header flags %#x", flags)
	}
	body, sum := data[:len(data)-snapshotTrailer], binary.BigEndian.Uint32(data[len(data)-snapshotTrailer:])
	if got := crc32.ChecksumIEEE(body); got != sum {
		return snapshot{}, snapErr("checksum %08x, want %08x (truncated or corrupt)", got, sum)
	}
	count := binary.BigEndian.Uint32(body[snapshotHeader-4:])
	b := body[snapshotHeader:]
	// Every entry takes at least minEntryLen bytes: a count beyond what
	// the data can hold is corrupt, and must not size an allocation.
	const minEntryLen = 1 + 2*16 + 8 + 1 + 1 + 4 + 1
	if uint64(count) > uint64(len(b))/minEntryLen {
		return snapshot{}, snapErr("%d entries cannot fit in %d bytes", count, len(b))
	}
	entries := make([]entry, count)
	for i := range entries {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return snapshot{}, snapErr("entry %d: truncated", i)
		}
		rec := b[n : n+int(l)]
		b = b[n+int(l):]
		if err := t.decodeEntry(rec, &entries[i], now); err != nil {
			return snapshot{}, snapErr("entry %d: %v", i, err)
		}
	}
	var exps []Expectation
	var keys []greKeyEntry
	var err error
	if flags&flagExpectations != 0 {
		b, err = readSection(b, "expectation", minEntryLen, &exps, t.decodeExpectation)
		if err != nil {
			return snapshot{}, err
		}
	}
	if flags&flagGREKeys != 0 {
		const minGREKeyLen = 1 + 2*12 + 1 // two IPv4 tuples and a direction
		b, err = readSection(b, "GRE keymap entry", minGREKeyLen, &keys, decodeGREKey)
		if err != nil {
			return snapshot{}, err
		}
	}
	if len(b) != 0 {
		return snapshot{}, snapErr("%d bytes after the last entry", len(b))
	}
	return snapshot{entries: entries, exps: exps, greKeys: keys}, nil
}

// readSection reads a section of records after the entries: a count,
// then each record, length first, decoded into *out by decode. minLen
// is the least a record takes, so that a corrupt count cannot size an
// allocation. It returns what follows the section.
func readSection[T any](b []byte, what string, minLen int, out *[]T, decode func([]byte, *T) error) ([]byte, error) {
	if len(b) < 4 {
		return nil, snapErr("truncated %s count", what)
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(n) > uint64(len(b))/uint64(minLen) {
		return nil, snapErr("%d %ss cannot fit in %d bytes", n, what, len(b))
	}
	*out = make([]T, n)
	for i := range *out {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, snapErr("%s %d: truncated", what, i)
		}
		if err := decode(b[k:k+int(l)], &(*out)[i]); err != nil {
			return nil, snapErr("%s %d: %v", what, i, err)
		}
		b = b[k+int(l):]
	}
	return b, nil
}

// decodeGREKey reads a GRE keymap entry's body.
func decodeGREKey(b []byte, k *greKeyEntry) error {
	b, err := readTuple(b, &k.master)
	if err != nil {
		return fmt.Errorf("master: %v", err)
	}
	if len(b) < 1 || b[0] > uint8(Reply) {
		return errors.New("bad direction")
	}
	k.dir = Dir(b[0])
	b, err = readTuple(b[1:], &k.tuple)
	if err != nil {
		return fmt.Errorf("tuple: %v", err)
	}
	if k.tuple.Proto != packet.ProtoGRE {
		return fmt.Errorf("protocol %d, want GRE", k.tuple.Proto)
	}
	if len(b) != 0 {
		return fmt.Errorf("%d bytes after the entry", len(b))
	}
	return nil
}

// helperNamed finds one of Config.Helpers by name; "" is no helper.
func (t *Table) helperNamed(name string) (Helper, error) {
	if name == "" {
		return nil, nil
	}
	for _, h := range t.cfg.Helpers {
		if h.Name() == name {
			return h, nil
		}
	}
	return nil, fmt.Errorf("unknown helper %q", name)
}

// readName reads a name written by appendName.
func readName(b []byte) (string, []byte, error) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return "", b, errors.New("truncated name")
	}
	return string(b[1 : 1+int(b[0])]), b[1+int(b[0]):], nil
}

// readHelper reads a helper's name and finds the helper.
func (t *Table) readHelper(b []byte) (Helper, []byte, error) {
	name, b, err := readName(b)
	if err != nil {
		return nil, b, err
	}
	h, err := t.helperNamed(name)
	return h, b, err
}

// decodeExpectation reads an expectation's body, all of it.
func (t *Table) decodeExpectation(b []byte, e *Expectation) error {
	var err error
	if b, err = readTuple(b, &e.Tuple); err != nil {
		return fmt.Errorf("tuple: %v", err)
	}
	if len(b) < 2 || b[0]&^uint8(ExpectAnySrcAddr|ExpectAnySrcPort) != 0 || int(b[1]) > addrLen(e.Tuple.Family)*8 {
		return errors.New("bad mask")
	}
	e.Mask, e.SrcBits = ExpectMask(b[0]), b[1]
	if b, err = readTuple(b[2:], &e.Master); err != nil {
		return fmt.Errorf("master tuple: %v", err)
	}
	if b, err = readTuple(b, &e.MasterReply); err != nil {
		return fmt.Errorf("master reply tuple: %v", err)
	}
	left, n := binary.Varint(b)
	if n <= 0 || left > maxSnapshotDuration || left < -maxSnapshotDuration {
		return errors.New("bad timeout")
	}
	e.Timeout = time.Duration(left)
	b = b[n:]
	if len(b) < 2 || ExpectFlags(b[1])&^(ExpectPermanent|ExpectInactive|ExpectUserspace) != 0 {
		return errors.New("bad class or flags")
	}
	e.Class, e.Flags = b[0], ExpectFlags(b[1])
	if e.Helper, b, err = t.readHelper(b[2:]); err != nil {
		return err
	}
	if e.AssignHelper, b, err = t.readHelper(b); err != nil {
		return err
	}
	if e.Fn, b, err = readName(b); err != nil {
		return err
	}
	if len(b) != 1+16+2 || b[0] > 1 {
		return errors.New("bad NAT part")
	}
	e.Dir = Dir(b[0])
	copy(e.SavedAddr[:], b[1:17])
	e.SavedPort = binary.BigEndian.Uint16(b[17:])
	return nil
}

// decodeEntry reads an entry's body, all of it.
func (t *Table) decodeEntry(b []byte, e *entry, now int64) error {
	var err error
	for d := range e.tuple {
		if b, err = readTuple(b, &e.tuple[d]); err != nil {
			return fmt.Errorf("%v tuple: %v", Dir(d), err)
		}
	}
	orig, reply := &e.tuple[Original], &e.tuple[Reply]
	if reply.Family != orig.Family || reply.Proto != orig.Proto || reply.Zone != orig.Zone {
		return errors.New("reply tuple of another family, protocol or zone")
	}
	if _, ok := orig.Invert(); !ok {
		return fmt.Errorf("original tuple %v cannot start a connection", *orig)
	}
	if len(b) < 8 {
		return errors.New("truncated status")
	}
	e.status = Status(binary.BigEndian.Uint32(b))
	e.mark = binary.BigEndian.Uint32(b[4:])
	b = b[8:]
	if e.status&^statusSynproxy >= StatusHWOffload<<1 {
		return fmt.Errorf("unknown status bits %#x", uint32(e.status))
	}
	left, n := binary.Varint(b)
	if n <= 0 || left > maxSnapshotDuration || left < -maxSnapshotDuration {
		return errors.New("bad timeout")
	}
	b = b[n:]
	age, n := binary.Uvarint(b)
	if n <= 0 || age > maxSnapshotDuration {
		return errors.New("bad age")
	}
	b = b[n:]
	e.setTimeout(now, time.Duration(left))
	if left <= 0 {
		e.deadline = ticks(now) // expired: Load skips it
	}
	e.started = now - int64(age)
	e.born = ticks(e.started)
	for d := range e.counters {
		var c Counter
		for _, v := range []*uint64{&c.Packets, &c.Bytes} {
			if *v, n = binary.Uvarint(b); n <= 0 {
				return errors.New("bad counters")
			}
			b = b[n:]
		}
		e.counters[d] = counterOf(c)
	}
	if len(b) < 1 {
		return errors.New("truncated parts")
	}
	parts := b[0]
	b = b[1:]
	if parts&^knownParts != 0 {
		return fmt.Errorf("unknown parts %#x", parts)
	}
	if parts&partLabels != 0 {
		if len(b) < 16 {
			return errors.New("truncated labels")
		}
		e.ext.labels = [2]uint64{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}
		b = b[16:]
	}
	if (parts&partTCP != 0) != (orig.Proto == packet.ProtoTCP) {
		return errors.New("TCP state present for a non-TCP connection or missing for a TCP one")
	}
	if parts&partTCP != 0 {
		if len(b) < 1 || b[0] != tcpSnapshotLen {
			return errors.New("bad tcp state length")
		}
		if b, err = e.tcp.readBinary(b[1:]); err != nil {
			return err
		}
	}
	if parts&partSeqAdj != 0 {
		if len(b) < 24 {
			return errors.New("truncated sequence adjustment")
		}
		for d := range e.ext.seqadj {
			e.ext.seqadj[d] = SeqAdj{CorrectionPos: binary.BigEndian.Uint32(b), OffsetBefore: int32(binary.BigEndian.Uint32(b[4:])), OffsetAfter: int32(binary.BigEndian.Uint32(b[8:]))}
			b = b[12:]
		}
	}
	if parts&partHelper != 0 {
		h, rest, err := t.readHelper(b)
		if err != nil {
			return err
		}
		if h == nil || len(rest) < HelpDataSize {
			return errors.New("bad helper part")
		}
		e.ext.help.Helper = h
		copy(e.ext.help.Data[:], rest)
		b = rest[HelpDataSize:]
	}
	if parts&partMaster != 0 {
		h, rest, err := t.readHelper(b)
		if err != nil {
			return err
		}
		e.ext.master = h
		if b, err = readTuple(rest, &e.ext.masterOf); err != nil {
			return fmt.Errorf("master tuple: %v", err)
		}
	}
	if (parts&partSCTP != 0) != (orig.Proto == packet.ProtoSCTP) {
		return errors.New("SCTP state present for a non-SCTP connection or missing for an SCTP one")
	}
	if parts&partSCTP != 0 {
		if b, err = e.ext.sctp.readBinary(b); err != nil {
			return err
		}
	}
	if (parts&partSynproxy != 0) != (e.status&statusSynproxy != 0) {
		return errors.New("SYNPROXY state and status disagree")
	}
	if parts&partSynproxy != 0 {
		if len(b) < 12 {
			return errors.New("truncated SYNPROXY state")
		}
		e.ext.synproxy = Synproxy{ISN: binary.BigEndian.Uint32(b), ITS: binary.BigEndian.Uint32(b[4:]), TSOff: binary.BigEndian.Uint32(b[8:])}
		b = b[12:]
	}
	if len(b) != 0 {
		return fmt.Errorf("%d unread bytes", len(b))
	}
	return nil
}

func readTuple(b []byte, t *Tuple) ([]byte, error) {
	if len(b) < 4 {
		return b, errors.New("truncated")
	}
	t.Family, t.Proto, t.Zone = packet.Family(b[0]), b[1], binary.BigEndian.Uint16(b[2:])
	if t.Family != packet.IPv4 && t.Family != packet.IPv6 {
		return b, fmt.Errorf("family %d", t.Family)
	}
	n := addrLen(t.Family)
	b = b[4:]
	if len(b) < 2*n+4 {
		return b, errors.New("truncated")
	}
	copy(t.Src[:n], b)
	copy(t.Dst[:n], b[n:])
	t.SrcPort = binary.BigEndian.Uint16(b[2*n:])
	t.DstPort = binary.BigEndian.Uint16(b[2*n+2:])
	return b[2*n+4:], nil
}
