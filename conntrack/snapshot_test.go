package conntrack

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/testpkt"
)

// established returns a table holding one ESTABLISHED, ASSURED TCP
// connection (tcpClient:40000 → tcpServer:80, ISNs 1000 and 5000) with
// 100 bytes of data sent by the client and acknowledged.
func established(t *testing.T) *Table {
	t.Helper()
	tb := NewTable(Config{})
	for _, s := range handshake {
		step(t, tb, s.packet(t), t0)
	}
	step(t, tb, seg{dir: Original, flags: "PA", seq: 1001, ack: 5001, data: 100}.packet(t), t0)
	step(t, tb, seg{dir: Reply, flags: "A", seq: 5001, ack: 1101}.packet(t), t0)
	return tb
}

func only(t *testing.T, tb *Table, now time.Time) Conn {
	t.Helper()
	var conns []Conn
	for c := range tb.All(now) {
		conns = append(conns, c)
	}
	if len(conns) != 1 {
		t.Fatalf("table has %d connections, want 1", len(conns))
	}
	return conns[0]
}

func TestSnapshotKeepsTCPConnectionsEstablished(t *testing.T) {
	a := established(t)
	var buf bytes.Buffer
	if err := a.Save(&buf, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// Table B starts an hour later: the timeouts resume from there.
	later := t0.Add(time.Hour)
	b := NewTable(Config{})
	n, err := b.Load(&buf, later)
	if err != nil || n != 1 {
		t.Fatalf("Load: %d, %v; want 1, nil", n, err)
	}
	before, after := only(t, a, t0.Add(time.Second)), only(t, b, later)
	if !within(after.Timeout, before.Timeout) {
		t.Errorf("restored timeout %v, want %v", after.Timeout, before.Timeout)
	}
	after.Timeout = before.Timeout
	if before != after {
		t.Errorf("restored connection differs:\ngot  %+v\nwant %+v", after, before)
	}
	steps := []struct {
		name   string
		seg    seg
		state  State
		reason string
	}{
		{"in-window data continues", seg{dir: Original, flags: "PA", seq: 1101, ack: 5001, data: 50}, Established, ""},
		{"its ACK too", seg{dir: Reply, flags: "A", seq: 5001, ack: 1151}, Established, ""},
		// A connection picked up mid-stream would be liberal and accept
		// this; the restored window refuses it.
		{"data far beyond the window is INVALID", seg{dir: Original, flags: "PA", seq: 1151 + 1<<30, ack: 5001, data: 10}, Invalid, reasonSeqOver},
		{"an ACK of data never sent is INVALID", seg{dir: Reply, flags: "A", seq: 5001, ack: 1151 + 1<<20}, Invalid, reasonAckOver},
	}
	for _, s := range steps {
		r := step(t, b, s.seg.packet(t), later)
		if r.State != s.state || r.Reason != s.reason || (r.State == Established && r.TCPState != TCPEstablished) {
			t.Errorf("%s: got %v %v %q, want %v %q", s.name, r.State, r.TCPState, r.Reason, s.state, s.reason)
		}
	}
}

func TestSnapshotCarriesTheRemainingTimeout(t *testing.T) {
	a := NewTable(Config{})
	step(t, a, pkt(t, udp("10.0.0.1", "10.0.0.2", 1000, 53)), t0)
	var buf bytes.Buffer
	if err := a.Save(&buf, t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(24 * time.Hour)
	b := NewTable(Config{})
	if n, err := b.Load(bytes.NewReader(buf.Bytes()), later); err != nil || n != 1 {
		t.Fatalf("Load: %d, %v; want 1, nil", n, err)
	}
	tests := []struct {
		at      time.Duration
		entries int
		timeout time.Duration
	}{
		{0, 1, 20 * time.Second},
		{19 * time.Second, 1, time.Second},
		// Gone once the 20 s are over (deadlines are kept in ticks of
		// about a millisecond, rounded up).
		{20*time.Second + 4<<tickShift, 0, 0},
	}
	for _, tt := range tests {
		n, timeout := 0, time.Duration(0)
		for c := range b.All(later.Add(tt.at)) {
			n, timeout = n+1, c.Timeout
		}
		if n != tt.entries || (n > 0 && !within(timeout, tt.timeout)) {
			t.Errorf("%v after Load: %d entries, timeout %v; want %d, %v", tt.at, n, timeout, tt.entries, tt.timeout)
		}
	}
	// Loading the same snapshot again restores nothing: the entry is
	// there.
	if n, err := b.Load(bytes.NewReader(buf.Bytes()), later); err != nil || n != 0 {
		t.Errorf("second Load: %d, %v; want 0, nil", n, err)
	}
}

// snapshotOf frames entry bodies as Save does.
func snapshotOf(version uint8, count uint32, bodies ...[]byte) []byte {
	b := []byte("nfgoct")
	b = append(b, version, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(t0.UnixNano()))
	b = binary.BigEndian.AppendUint32(b, count)
	for _, body := range bodies {
		b = binary.AppendUvarint(b, uint64(len(body)))
		b = append(b, body...)
	}
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func TestLoadSkipsExpiredEntries(t *testing.T) {
	tp, _ := TupleOf(pkt(t, udp("10.0.0.1", "10.0.0.2", 1000, 53)), 0)
	inv, _ := tp.Invert()
	ns := t0.UnixNano()
	live := entry{tuple: [2]Tuple{tp, inv}, started: ns}
	live.setTimeout(ns, time.Second)
	dead := live
	dead.tuple[0].SrcPort, dead.tuple[1].DstPort = 1001, 1001
	dead.deadline = ticks(ns)
	data := snapshotOf(1, 2, appendEntry(nil, &live, ns), appendEntry(nil, &dead, ns))
	tb := NewTable(Config{})
	if n, err := tb.Load(bytes.NewReader(data), t0); err != nil || n != 1 || tb.Len() != 1 {
		t.Errorf("Load: %d, %v, %d entries; want 1, nil, 1", n, err, tb.Len())
	}
}

func TestLoadRefusesBadSnapshots(t *testing.T) {
	var good bytes.Buffer
	if err := established(t).Save(&good, t0); err != nil {
		t.Fatal(err)
	}
	g := good.Bytes()
	body := g[snapshotHeader : len(g)-snapshotTrailer]
	_, n := binary.Uvarint(body)
	rec := body[n:]
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not a snapshot", []byte("# Generated by iptables-save")},
		{"truncated header", g[:10]},
		{"truncated entry", g[:len(g)-10]},
		{"one byte flipped", func() []byte { b := bytes.Clone(g); b[30] ^= 1; return b }()},
		{"newer version", snapshotOf(2, 1, rec)},
		{"more entries announced than present", snapshotOf(1, 2, rec)},
		{"fewer entries announced than present", snapshotOf(1, 0, rec)},
		{"entry with trailing bytes", snapshotOf(1, 1, append(bytes.Clone(rec), 0))},
		{"entry cut short", snapshotOf(1, 1, rec[:len(rec)-1])},
		{"bad TCP state", func() []byte {
			r := bytes.Clone(rec)
			r[len(r)-5] = 200 // state
			return snapshotOf(1, 1, r)
		}()},
		{"huge count", snapshotOf(1, 1<<31, rec)},
	}
	for _, tt := range tests {
		tb := NewTable(Config{})
		n, err := tb.Load(bytes.NewReader(tt.data), t0)
		if !errors.Is(err, ErrBadSnapshot) || n != 0 || tb.Len() != 0 {
			t.Errorf("%s: got %d, %v (%d entries); want 0 and ErrBadSnapshot", tt.name, n, err, tb.Len())
		}
	}
}

func TestLoadIntoAFullTableSaysSo(t *testing.T) {
	a := NewTable(Config{})
	for port := range uint16(5) {
		step(t, a, pkt(t, udp("10.0.0.1", "10.0.0.2", 1000+port, 53)), t0)
	}
	var buf bytes.Buffer
	if err := a.Save(&buf, t0); err != nil {
		t.Fatal(err)
	}
	b := NewTable(Config{Max: 3})
	if n, err := b.Load(&buf, t0); n != 3 || !errors.Is(err, ErrTableFull) {
		t.Errorf("got %d, %v; want 3 and ErrTableFull", n, err)
	}
}

func TestLoadReportsRestoredConnectionsAsNew(t *testing.T) {
	var buf bytes.Buffer
	if err := established(t).Save(&buf, t0); err != nil {
		t.Fatal(err)
	}
	b := NewTable(Config{})
	sub := b.Subscribe(4)
	defer sub.Close()
	if _, err := b.Load(&buf, t0); err != nil {
		t.Fatal(err)
	}
	evs := drain(sub)
	if len(evs) != 1 || evs[0].Type != EventNew || evs[0].Conn.TCPState != TCPEstablished {
		t.Errorf("got %v, want one NEW event of an ESTABLISHED connection", evs)
	}
}

// TestTCPSnapshotCoversEveryField fails when tcp.go's tcpTrack changes,
// so that tcp_snapshot.go (and the snapshot version) follow it.
func TestTCPSnapshotCoversEveryField(t *testing.T) {
	var names []string
	typ := reflect.TypeFor[tcpTrack]()
	for i := range typ.NumField() {
		names = append(names, typ.Field(i).Name)
	}
	want := []string{"seen", "lastSeq", "lastAck", "lastLen", "lastWin", "flags", "scales", "state", "lastIndex", "lastDir", "retrans", "lastOpt"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("tcpTrack's fields are %v, tcp_snapshot.go writes %v: update it and the snapshot version", names, want)
	}
	in := tcpTrack{
		seen:    [2]tcpDirState{{1, 2, 3, 4}, {5, 6, 7, 8}},
		lastSeq: 9, lastAck: 10, lastLen: 11, lastWin: 12,
		flags: [2]uint8{0x1b, 0x24}, scales: 0xe7, state: TCPCloseWait,
		lastIndex: tcpIndexRST, lastDir: Reply, retrans: 3, lastOpt: 0xc3 | 14<<2,
	}
	b := in.appendBinary([]byte{0xaa})
	if len(b) != 1+tcpSnapshotLen {
		t.Fatalf("appendBinary wrote %d bytes, want %d", len(b)-1, tcpSnapshotLen)
	}
	var out tcpTrack
	rest, err := out.readBinary(append(b[1:], 0xbb))
	if err != nil || out != in || !bytes.Equal(rest, []byte{0xbb}) {
		t.Errorf("round trip: got %+v, rest %x, %v; want %+v, bb", out, rest, err, in)
	}
}

// FuzzLoad feeds Load random bytes, and the same bytes with a correct
// checksum so that the fuzzer gets past it into the entries. Load must
// never panic, and what it restores must save and load again whole.
func FuzzLoad(f *testing.F) {
	var good bytes.Buffer
	tb := NewTable(Config{})
	for _, s := range handshake {
		var r Result
		var p = s.packet(f)
		tb.In(&r, p, 0, t0, true)
		tb.Confirm(&r)
	}
	var r Result
	tb.In(&r, pkt(f, udp("2001:db8::1", "2001:db8::2", 1000, 53)), 3, t0, true)
	tb.Confirm(&r)
	if err := tb.Save(&good, t0); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add([]byte("nfgoct"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tries := [][]byte{data}
		if len(data) >= snapshotTrailer {
			fixed := bytes.Clone(data)
			body := fixed[:len(fixed)-snapshotTrailer]
			binary.BigEndian.PutUint32(fixed[len(body):], crc32.ChecksumIEEE(body))
			tries = append(tries, fixed)
		}
		for _, d := range tries {
			tb := NewTable(Config{Max: 64})
			n, err := tb.Load(bytes.NewReader(d), t0)
			if err != nil && !errors.Is(err, ErrBadSnapshot) && !errors.Is(err, ErrTableFull) {
				t.Fatalf("error wraps neither ErrBadSnapshot nor ErrTableFull: %v", err)
			}
			if n != tb.Len() {
				t.Fatalf("Load says %d restored, table has %d", n, tb.Len())
			}
			if err != nil {
				continue
			}
			var again bytes.Buffer
			if err := tb.Save(&again, t0); err != nil {
				t.Fatal(err)
			}
			tb2 := NewTable(Config{Max: 64})
			if n2, err := tb2.Load(&again, t0); err != nil || n2 != n {
				t.Fatalf("reloading a saved table: %d, %v; want %d, nil", n2, err, n)
			}
		}
	})
}

func TestSnapshotCarriesLabelsAndMarks(t *testing.T) {
	a := NewTable(Config{})
	var r Result
	a.In(&r, pkt(t, udp("10.0.0.1", "10.0.0.2", 1000, 53)), 0, t0, true)
	r.pending.ext.labels = [2]uint64{0xdead, 0xbeef << 40}
	r.pending.mark = 0x77
	if !a.Confirm(&r) {
		t.Fatal("confirm failed")
	}
	var buf bytes.Buffer
	if err := a.Save(&buf, t0); err != nil {
		t.Fatal(err)
	}
	b := NewTable(Config{})
	if n, err := b.Load(&buf, t0); err != nil || n != 1 {
		t.Fatalf("Load: %d, %v", n, err)
	}
	c := only(t, b, t0)
	if c.Labels != ([2]uint64{0xdead, 0xbeef << 40}) || c.Mark != 0x77 {
		t.Errorf("restored labels %x mark %#x, want the saved ones", c.Labels, c.Mark)
	}
}

// A snapshot keeps the helper of a connection with its state, the
// master's helper of an expected one, and the expectations still
// waiting, so that an FTP session survives a restart in the middle of a
// transfer's setup.
func TestSnapshotCarriesHelpersAndExpectations(t *testing.T) {
	a, master := ftpControl(t, 7)
	var d [HelpDataSize]byte
	copy(d[:], "ftp state")
	a.SetHelpData(&master, &d)
	e := portExpectation(50000)
	e.Fn, e.Dir, e.SavedPort = ExpectFollowMaster, Reply, 6000
	if err := a.Expect(&master, e, t0); err != nil {
		t.Fatal(err)
	}
	if err := a.Expect(&master, portExpectation(50001), t0); err != nil {
		t.Fatal(err) // evicts the first: the ftp policy allows one
	}
	e2 := portExpectation(50002)
	e2.Class = 1
	if err := a.Expect(&master, e2, t0); err != nil {
		t.Fatal(err)
	}
	step(t, a, pkt(t, *dataSeg(Original, "S", 7000, 0, 20, 50001)), t0) // uses one up

	var buf bytes.Buffer
	if err := a.Save(&buf, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	snap := buf.Bytes()
	later := t0.Add(time.Hour)
	b := NewTable(Config{Helpers: []Helper{testFTP}})
	if n, err := b.Load(bytes.NewReader(snap), later); err != nil || n != 2 {
		t.Fatalf("Load: %d, %v; want 2, nil", n, err)
	}
	var r Result
	b.In(&r, pkt(t, testpkt.Spec{Src: tcpClient, Dst: tcpServer, Proto: "tcp", SrcPort: 40000, DstPort: 21, Flags: "A", Seq: 1001, Ack: 5001}), 0, later, true)
	if r.Help.Helper != testFTP || r.Help.Data != d {
		t.Errorf("restored master: helper %v state %q, want ftp and its state", r.Help.Helper, r.Help.Data[:])
	}
	b.In(&r, pkt(t, *dataSeg(Reply, "SA", 9000, 7001, 20, 50001)), 0, later, true)
	if r.MasterHelper != testFTP || r.State != Established {
		t.Errorf("restored data connection: %v, master helper %v; want ESTABLISHED and ftp", r.State, r.MasterHelper)
	}
	exps := b.Expectations(later)
	if len(exps) != 1 || exps[0].Tuple.DstPort != 50002 || exps[0].Class != 1 || exps[0].Helper != testFTP || !within(exps[0].Timeout, 299*time.Second) {
		t.Errorf("restored expectations %v, want the one on port 50002 with 299 s left", exps)
	}
	if r := step(t, b, pkt(t, *dataSeg(Original, "S", 1, 0, 20, 50002)), later); r.State != Related || r.Mark != 7 {
		t.Errorf("a SYN to the restored expectation is %v mark %d, want RELATED with the master's mark 7", r.State, r.Mark)
	}

	// A table that does not know the helper refuses the snapshot.
	if _, err := NewTable(Config{}).Load(bytes.NewReader(snap), later); !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("Load without the helper: %v, want ErrBadSnapshot", err)
	}
}
