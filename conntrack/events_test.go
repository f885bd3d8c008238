package conntrack

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nfgo/nfgo/internal/testpkt"
	"github.com/nfgo/nfgo/packet"
)

// drain returns the events waiting on s.
func drain(s *Subscription) []Event {
	var evs []Event
	for {
		select {
		case ev, ok := <-s.Events():
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		default:
			return evs
		}
	}
}

func TestEventsFollowATCPConnection(t *testing.T) {
	tb := NewTable(Config{})
	sub := tb.Subscribe(16)
	defer sub.Close()
	steps := []struct {
		name string
		do   func(now time.Time)
		want []string // the events' lines
		// anyTimeout skips the timeout in the comparison: SetMark has no
		// clock (see the report on track.go), so its event's timeout is
		// not meaningful.
		anyTimeout bool
	}{
		{"SYN is NEW once confirmed", func(now time.Time) { step(t, tb, handshake[0].packet(t), now) },
			[]string{"    [NEW] tcp      6 120 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000"}, false},
		{"SYN/ACK changes the state", func(now time.Time) { step(t, tb, handshake[1].packet(t), now) },
			[]string{" [UPDATE] tcp      6 60 SYN_RECV src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000"}, false},
		{"ACK makes it ESTABLISHED and ASSURED", func(now time.Time) { step(t, tb, handshake[2].packet(t), now) },
			[]string{" [UPDATE] tcp      6 432000 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000 [ASSURED]"}, false},
		{"data changes nothing worth an event", func(now time.Time) {
			step(t, tb, seg{dir: Original, flags: "PA", seq: 1001, ack: 5001, data: 10}.packet(t), now)
		}, nil, false},
		{"CONNMARK changes the mark", func(now time.Time) {
			r := step(t, tb, seg{dir: Reply, flags: "A", seq: 5001, ack: 1011}.packet(t), now)
			tb.SetMark(&r, 7, now)
		}, []string{" [UPDATE] tcp      6 432000 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000 [ASSURED] mark=7"}, false},
		{"expiry is DESTROY, with counters and no timeout", func(now time.Time) {
			if n := tb.Collect(now.Add(6*24*time.Hour), shardCount); n != 1 {
				t.Errorf("Collect removed %d, want 1", n)
			}
		}, []string{"[DESTROY] tcp      6 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80 packets=3 bytes=130 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000 packets=2 bytes=80 [ASSURED] mark=7"}, false},
	}
	for i, s := range steps {
		s.do(t0.Add(time.Duration(i) * time.Millisecond))
		var got []string
		for _, ev := range drain(sub) {
			if s.anyTimeout {
				ev.Conn.Timeout = 432000 * time.Second
			}
			got = append(got, ev.String())
		}
		if strings.Join(got, "\n") != strings.Join(s.want, "\n") {
			t.Errorf("%s:\ngot  %q\nwant %q", s.name, got, s.want)
		}
	}
	if sub.Lost() != 0 {
		t.Errorf("lost %d events, want 0", sub.Lost())
	}
}

func TestEventsReportEveryRemoval(t *testing.T) {
	tests := []struct {
		name   string
		remove func(tb *Table)
		want   int // DESTROY events
	}{
		{"flush", func(tb *Table) { tb.Flush(t0) }, 200},
		{"early drop in a full table", func(tb *Table) {
			step(t, tb, pkt(t, udp("10.0.0.9", "10.0.0.2", 9999, 53)), t0)
		}, 1},
		{"expiry found by a lookup", func(tb *Table) {
			step(t, tb, pkt(t, udp("10.0.0.1", "10.0.0.2", 1000, 53)), t0.Add(time.Minute))
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := NewTable(Config{Max: 200})
			for port := range uint16(200) {
				step(t, tb, pkt(t, udp("10.0.0.1", "10.0.0.2", 1000+port, 53)), t0)
			}
			sub := tb.Subscribe(256)
			defer sub.Close()
			tt.remove(tb)
			destroys := 0
			for _, ev := range drain(sub) {
				if ev.Type == EventDestroy {
					destroys++
				}
			}
			if destroys != tt.want {
				t.Errorf("got %d DESTROY events, want %d", destroys, tt.want)
			}
		})
	}
}

func TestEventsTimeAndTimeout(t *testing.T) {
	tb := NewTable(Config{})
	sub := tb.Subscribe(4)
	defer sub.Close()
	step(t, tb, pkt(t, udp("10.0.0.1", "10.0.0.2", 1000, 53)), t0)
	tb.Flush(t0.Add(10 * time.Second))
	evs := drain(sub)
	if len(evs) != 2 {
		t.Fatalf("got %d events, want 2", len(evs))
	}
	for i, want := range []struct {
		typ     EventType
		at      time.Time
		timeout time.Duration
		line    string
	}{
		{EventNew, t0, 30 * time.Second, "[1700000000.000000]\t    [NEW] udp      17 30 src="},
		// Flushed early: the DESTROY carries the time that was left.
		{EventDestroy, t0.Add(10 * time.Second), 20 * time.Second, "[1700000010.000000]\t[DESTROY] udp      17 20 src="},
	} {
		ev := evs[i]
		if ev.Type != want.typ || !ev.Time.Equal(want.at) || !within(ev.Conn.Timeout, want.timeout) {
			t.Errorf("event %d: got %v at %v timeout %v, want %v at %v timeout %v",
				i, ev.Type, ev.Time, ev.Conn.Timeout, want.typ, want.at, want.timeout)
		}
		if got := ev.Timestamped(); !strings.HasPrefix(got, want.line) {
			t.Errorf("event %d: got %q, want prefix %q", i, got, want.line)
		}
	}
}

func TestSlowSubscriberLosesEventsAndCountsThem(t *testing.T) {
	tb := NewTable(Config{})
	slow, fast := tb.Subscribe(2), tb.Subscribe(100)
	defer fast.Close()
	for port := range uint16(10) {
		step(t, tb, pkt(t, udp("10.0.0.1", "10.0.0.2", 1000+port, 53)), t0)
	}
	tests := []struct {
		name       string
		s          *Subscription
		got, lost  int
		wantBuffer int
	}{
		{"slow", slow, len(drain(slow)), int(slow.Lost()), 2},
		{"fast", fast, len(drain(fast)), int(fast.Lost()), 10},
	}
	for _, tt := range tests {
		if tt.got != tt.wantBuffer || tt.got+tt.lost != 10 {
			t.Errorf("%s: got %d events and %d lost, want %d and %d", tt.name, tt.got, tt.lost, tt.wantBuffer, 10-tt.wantBuffer)
		}
	}
	// Once drained, it receives again.
	step(t, tb, pkt(t, udp("10.0.0.1", "10.0.0.2", 2000, 53)), t0)
	if n := len(drain(slow)); n != 1 {
		t.Errorf("after draining: got %d events, want 1", n)
	}
	slow.Close()
	slow.Close() // twice is fine
	if _, ok := <-slow.Events(); ok {
		t.Errorf("channel still open after Close")
	}
	step(t, tb, pkt(t, udp("10.0.0.1", "10.0.0.2", 2001, 53)), t0)
	if n := len(drain(fast)); n != 2 {
		t.Errorf("other subscriber: got %d events, want 2", n)
	}
}

func TestEmitWithoutSubscribersDoesNotAllocate(t *testing.T) {
	tb := NewTable(Config{})
	var p packet.Packet
	var r Result
	p.Decode(testpkt.Build(udp("10.0.0.1", "10.0.0.2", 1000, 53)))
	allocs := testing.AllocsPerRun(1000, func() {
		// A new connection, never confirmed: start, the expectation
		// check, and no event.
		tb.In(&r, &p, 0, t0, false)
	})
	if allocs != 0 {
		t.Errorf("conntrack-in of a new flow: %v allocations, want 0", allocs)
	}
	e := entry{tuple: [2]Tuple{{Family: 4}, {Family: 4}}}
	if allocs := testing.AllocsPerRun(1000, func() { tb.emit(EventUpdate, &e, 1, &tb.shards[0]) }); allocs != 0 {
		t.Errorf("emit with no subscriber: %v allocations, want 0", allocs)
	}
}

func TestSubscriptionsAreSafeForConcurrentUse(t *testing.T) {
	tb := NewTable(Config{})
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				var r Result
				var p packet.Packet
				p.Decode(testpkt.Build(udp("10.0.0.1", "10.0.0.2", uint16(g*1000+i), 53)))
				tb.In(&r, &p, 0, t0, false)
				tb.Confirm(&r)
			}
		}()
	}
	for range 50 {
		s := tb.Subscribe(8)
		drain(s)
		s.Close()
	}
	wg.Wait()
	tb.Flush(t0)
}

// A helped connection's events name its helper, as ctnetlink's do,
// except DESTROY, which carries no helper.
func TestEventsNameTheHelper(t *testing.T) {
	tb := NewTable(Config{})
	sub := tb.Subscribe(16)
	defer sub.Close()
	var r Result
	tb.In(&r, toPPTPPort(handshake[0]).packet(t), 0, t0, true)
	tb.SetHelper(&r, testFTP)
	tb.Confirm(&r)
	tb.Delete(r.Tuple(Original), t0)
	want := []string{
		"    [NEW] tcp      6 120 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=1723 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=1723 dport=40000 helper=ftp",
		"[DESTROY] tcp      6 120 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=1723 packets=1 bytes=40 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=1723 dport=40000",
	}
	var got []string
	for _, ev := range drain(sub) {
		got = append(got, ev.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\ngot  %q\nwant %q", got, want)
	}
}
