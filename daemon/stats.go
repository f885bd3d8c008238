package daemon

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/nfgo/nfgo"
	"github.com/nfgo/nfgo/ctsync"
	"github.com/nfgo/nfgo/filter"
)

// latencyBuckets are the verdict-latency histogram's upper bounds: the
// time from a batch's arrival to its verdicts, per packet of the batch.
var latencyBuckets = [...]time.Duration{
	10 * time.Microsecond, 50 * time.Microsecond, 100 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, time.Second,
}

// numReasons bounds nfgo.Reason's values, for counting drops by reason.
const numReasons = 16

// Stats are the daemon's counters; all are safe to read at any time.
// Each queue's worker keeps its own, so that queues never share a
// counter's cache line, and Server.Stats sums them.
type Stats struct {
	packets, accepted, dropped, stolen, errors, watchdog, injected, injectErrors atomic.Uint64
	gso, partialChecksum, rewritten, nflogged, nflogDropped, teeSent, teeErrors  atomic.Uint64
	ownPassed, offloaded                                                         atomic.Uint64
	dropReasons                                                                  [numReasons]atomic.Uint64
	latency                                                                      [len(latencyBuckets) + 1]atomic.Uint64
	latencySum                                                                   atomic.Int64
}

// Packets returns how many packets the daemon has judged.
func (st *Stats) Packets() uint64 { return st.packets.Load() }

// count records one packet's verdict.
func (st *Stats) count(v nfgo.Verdict) {
	st.packets.Add(1)
	switch v.Action {
	case filter.Accept:
		st.accepted.Add(1)
		if v.Reason == nfgo.ReasonOffload {
			st.offloaded.Add(1)
		}
		return
	case filter.Stolen:
		st.stolen.Add(1)
		return
	}
	st.dropped.Add(1)
	if int(v.Reason) < numReasons {
		st.dropReasons[v.Reason].Add(1)
	}
}

// observe records a batch's latency for each of its n packets.
func (st *Stats) observe(n int, d time.Duration) {
	i := 0
	for i < len(latencyBuckets) && d > latencyBuckets[i] {
		i++
	}
	st.latency[i].Add(uint64(n))
	st.latencySum.Add(int64(d) * int64(n))
}

// Stats returns the sum of the queues' counters.
func (s *Server) Stats() *Stats {
	sum := new(Stats)
	if ws := s.workers.Load(); ws != nil {
		for _, w := range *ws {
			sum.add(&w.stats)
		}
	}
	return sum
}

// add adds o's counters to st.
func (st *Stats) add(o *Stats) {
	for _, p := range []struct{ to, from *atomic.Uint64 }{
		{&st.packets, &o.packets}, {&st.accepted, &o.accepted}, {&st.dropped, &o.dropped}, {&st.stolen, &o.stolen}, {&st.ownPassed, &o.ownPassed}, {&st.offloaded, &o.offloaded},
		{&st.errors, &o.errors}, {&st.watchdog, &o.watchdog}, {&st.injected, &o.injected},
		{&st.injectErrors, &o.injectErrors}, {&st.gso, &o.gso}, {&st.partialChecksum, &o.partialChecksum},
		{&st.rewritten, &o.rewritten}, {&st.nflogged, &o.nflogged}, {&st.nflogDropped, &o.nflogDropped}, {&st.teeSent, &o.teeSent}, {&st.teeErrors, &o.teeErrors},
	} {
		p.to.Add(p.from.Load())
	}
	for i := range st.dropReasons {
		st.dropReasons[i].Add(o.dropReasons[i].Load())
	}
	for i := range st.latency {
		st.latency[i].Add(o.latency[i].Load())
	}
	st.latencySum.Add(o.latencySum.Load())
}

// WriteMetrics writes the Prometheus text exposition of the daemon's
// counters, the queues' own and the kernel's (from
// /proc/net/netfilter/nfnetlink_queue), and the conntrack table's.
func (s *Server) WriteMetrics(w io.Writer) {
	st := s.Stats()
	metric := func(name, help, typ string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	metric("nfgo_packets_total", "Packets judged.", "counter")
	fmt.Fprintf(w, "nfgo_packets_total %d\n", st.packets.Load())
	metric("nfgo_verdicts_total", "Verdicts by action.", "counter")
	fmt.Fprintf(w, "nfgo_verdicts_total{verdict=\"accept\"} %d\n", st.accepted.Load())
	fmt.Fprintf(w, "nfgo_verdicts_total{verdict=\"drop\"} %d\n", st.dropped.Load())
	fmt.Fprintf(w, "nfgo_verdicts_total{verdict=\"stolen\"} %d\n", st.stolen.Load())
	metric("nfgo_drops_total", "Dropped packets by reason.", "counter")
	for r := range numReasons {
		if n := st.dropReasons[r].Load(); n > 0 {
			fmt.Fprintf(w, "nfgo_drops_total{reason=%q} %d\n", nfgo.Reason(r).String(), n)
		}
	}
	metric("nfgo_offloaded_packets_total", "Packets of offloaded connections forwarded by the fast path (--flow-offload).", "counter")
	fmt.Fprintf(w, "nfgo_offloaded_packets_total %d\n", st.offloaded.Load())
	metric("nfgo_gso_packets_total", "GSO super-packets received (--gso).", "counter")
	fmt.Fprintf(w, "nfgo_gso_packets_total %d\n", st.gso.Load())
	metric("nfgo_partial_checksum_packets_total", "Packets received with a partial checksum (checksum-not-ready).", "counter")
	fmt.Fprintf(w, "nfgo_partial_checksum_packets_total %d\n", st.partialChecksum.Load())
	metric("nfgo_rewritten_packets_total", "Packets handed back with new bytes (NAT, mangling).", "counter")
	fmt.Fprintf(w, "nfgo_rewritten_packets_total %d\n", st.rewritten.Load())
	metric("nfgo_errors_total", "Errors receiving or sending on the queues.", "counter")
	fmt.Fprintf(w, "nfgo_errors_total %d\n", st.errors.Load())
	metric("nfgo_watchdog_total", "Batches the watchdog answered with the default verdict.", "counter")
	fmt.Fprintf(w, "nfgo_watchdog_total %d\n", st.watchdog.Load())
	metric("nfgo_injected_total", "Generated packets (REJECT responses) sent.", "counter")
	fmt.Fprintf(w, "nfgo_injected_total %d\n", st.injected.Load())
	metric("nfgo_own_packets_passed_total", "Packets nfgo made and judged itself (SYNPROXY's) that the kernel queued again, passed unjudged.", "counter")
	fmt.Fprintf(w, "nfgo_own_packets_passed_total %d\n", st.ownPassed.Load())
	metric("nfgo_nflog_packets_total", "Packets NFLOG rules logged to --nflog-dir.", "counter")
	fmt.Fprintf(w, "nfgo_nflog_packets_total %d\n", st.nflogged.Load())
	metric("nfgo_nflog_dropped_total", "Packets NFLOG rules logged that could not be written (no --nflog-dir, or an error).", "counter")
	fmt.Fprintf(w, "nfgo_nflog_dropped_total %d\n", st.nflogDropped.Load())
	metric("nfgo_tee_sent_total", "Copies TEE rules made, sent to their gateways.", "counter")
	fmt.Fprintf(w, "nfgo_tee_sent_total %d\n", st.teeSent.Load())
	metric("nfgo_tee_errors_total", "Copies TEE rules made that could not be sent (no route to the gateway, no such --oif, too big for the route's MTU).", "counter")
	fmt.Fprintf(w, "nfgo_tee_errors_total %d\n", st.teeErrors.Load())
	if se, ok := s.cfg.Engine.Sockets.(interface{ Errors() uint64 }); ok {
		metric("nfgo_socket_lookup_errors_total", "Socket lookups (-m socket, TPROXY) the kernel could not answer; each found no socket.", "counter")
		fmt.Fprintf(w, "nfgo_socket_lookup_errors_total %d\n", se.Errors())
	}
	metric("nfgo_verdict_latency_seconds", "Time from a batch's arrival to its verdicts.", "histogram")
	var cum uint64
	for i, b := range latencyBuckets {
		cum += st.latency[i].Load()
		fmt.Fprintf(w, "nfgo_verdict_latency_seconds_bucket{le=\"%g\"} %d\n", b.Seconds(), cum)
	}
	cum += st.latency[len(latencyBuckets)].Load()
	fmt.Fprintf(w, "nfgo_verdict_latency_seconds_bucket{le=\"+Inf\"} %d\n", cum)
	fmt.Fprintf(w, "nfgo_verdict_latency_seconds_sum %g\n", time.Duration(st.latencySum.Load()).Seconds())
	fmt.Fprintf(w, "nfgo_verdict_latency_seconds_count %d\n", cum)
	metric("nfgo_queue_enobufs_total", "Times the kernel reported ENOBUFS on a queue's socket.", "counter")
	for _, q := range s.queues {
		fmt.Fprintf(w, "nfgo_queue_enobufs_total{queue=\"%d\"} %d\n", q.Num(), q.Stats().ENOBUFS)
	}
	if kq, err := readKernelQueues(); err == nil {
		metric("nfgo_kernel_queue_dropped_total", "Packets the kernel dropped because the queue was full (queue_dropped).", "counter")
		for _, k := range kq {
			fmt.Fprintf(w, "nfgo_kernel_queue_dropped_total{queue=\"%d\"} %d\n", k.num, k.queueDropped)
		}
		metric("nfgo_kernel_queue_user_dropped_total", "Packets the kernel could not deliver to the socket (user_dropped).", "counter")
		for _, k := range kq {
			fmt.Fprintf(w, "nfgo_kernel_queue_user_dropped_total{queue=\"%d\"} %d\n", k.num, k.userDropped)
		}
		metric("nfgo_kernel_queue_length", "Packets waiting in the kernel's queue.", "gauge")
		for _, k := range kq {
			fmt.Fprintf(w, "nfgo_kernel_queue_length{queue=\"%d\"} %d\n", k.num, k.total)
		}
	}
	if ct := s.eng.Conntrack(); ct != nil {
		metric("nfgo_conntrack_entries", "Connections in the table.", "gauge")
		fmt.Fprintf(w, "nfgo_conntrack_entries %d\n", ct.Len())
		cs := ct.Stats()
		metric("nfgo_conntrack_drops_total", "Packets dropped because the table was full.", "counter")
		fmt.Fprintf(w, "nfgo_conntrack_drops_total %d\n", cs.Drop)
		metric("nfgo_conntrack_invalid_total", "Packets conntrack found INVALID.", "counter")
		fmt.Fprintf(w, "nfgo_conntrack_invalid_total %d\n", cs.Invalid)
	}
	sp := s.eng.SYNProxyStats()
	for _, c := range []struct {
		name, help string
		n          uint64
	}{
		{"syn_received", "SYNs SYNPROXY answered with a cookie.", sp.SYNReceived},
		{"cookie_invalid", "ACKs whose SYN cookie failed (dropped).", sp.CookieInvalid},
		{"cookie_valid", "ACKs whose SYN cookie passed (a SYN sent to the server).", sp.CookieValid},
		{"cookie_retrans", "Client keep-alives that had SYNPROXY send its SYN again.", sp.CookieRetrans},
		{"conn_reopened", "SYNs that reopened a closed proxied connection.", sp.ConnReopened},
	} {
		metric("nfgo_synproxy_"+c.name+"_total", c.help+" (/proc/net/stat/synproxy)", "counter")
		fmt.Fprintf(w, "nfgo_synproxy_%s_total %d\n", c.name, c.n)
	}
	metric("nfgo_nat_drops_total", "Packets NAT dropped.", "counter")
	fmt.Fprintf(w, "nfgo_nat_drops_total %d\n", s.eng.NATDrops())
	if s.sync != nil {
		writeSyncMetrics(w, s.sync.Stats(), metric)
	}
}

// writeSyncMetrics writes the HA node's counters.
func writeSyncMetrics(w io.Writer, st ctsync.NodeStats, metric func(name, help, typ string)) {
	for _, c := range []struct {
		name, help, typ string
		v               uint64
	}{
		{"nfgo_sync_messages_sent_total", "Sync messages sent to the peer, data and control.", "counter", st.MsgSent},
		{"nfgo_sync_messages_received_total", "Sync messages received from the peer, data and control.", "counter", st.MsgRecv},
		{"nfgo_sync_datagrams_sent_total", "Sync datagrams sent.", "counter", st.Sent},
		{"nfgo_sync_datagrams_received_total", "Sync datagrams received from the peer.", "counter", st.Received},
		{"nfgo_sync_bytes_sent_total", "Sync payload bytes sent.", "counter", st.BytesSent},
		{"nfgo_sync_bytes_received_total", "Sync payload bytes received from the peer.", "counter", st.BytesReceived},
		{"nfgo_sync_send_errors_total", "Sync datagrams the socket refused.", "counter", st.SendErrors},
		{"nfgo_sync_foreign_datagrams_total", "Datagrams on the sync port from an address other than the peer's, dropped.", "counter", st.Foreign},
		{"nfgo_sync_malformed_total", "Sync messages dropped as malformed.", "counter", st.Malformed},
		{"nfgo_sync_lost_total", "Messages missing in gaps of the peer's sequence (NACKed in FTFW).", "counter", st.Lost},
		{"nfgo_sync_resent_total", "Connections sent again because the peer NACKed them.", "counter", st.Resent},
		{"nfgo_sync_evicted_total", "Messages dropped from a full resend queue.", "counter", st.Evicted},
		{"nfgo_sync_resyncs_requested_total", "Resync requests from the peer.", "counter", st.ResyncsRequested},
		{"nfgo_sync_bulk_sends_total", "Full sends of the table (resync answers, sync bulk, recovery from lost events).", "counter", st.Bulks},
		{"nfgo_sync_events_lost_total", "Table events the sync missed (repaired by a full send).", "counter", st.EventsLost},
		{"nfgo_sync_resend_queue", "Messages awaiting the peer's acknowledgement.", "gauge", uint64(st.ResendQueue)},
		{"nfgo_sync_internal_connections", "Connections of the live table the sync filter allows.", "gauge", uint64(st.Internal.Active)},
		{"nfgo_sync_external_connections", "Connections in the external cache.", "gauge", uint64(st.External.Active)},
		{"nfgo_sync_external_refused_total", "Peer's connections refused: the external cache full, or an injection failed.", "counter", st.External.CreateFailed + st.External.UpdateFailed},
	} {
		metric(c.name, c.help, c.typ)
		fmt.Fprintf(w, "%s %d\n", c.name, c.v)
	}
	metric("nfgo_sync_changes_sent_total", "Changes of the live table sent to the peer, by kind.", "counter")
	fmt.Fprintf(w, "nfgo_sync_changes_sent_total{kind=\"new\"} %d\n", st.Internal.Created)
	fmt.Fprintf(w, "nfgo_sync_changes_sent_total{kind=\"update\"} %d\n", st.Internal.Updated)
	fmt.Fprintf(w, "nfgo_sync_changes_sent_total{kind=\"destroy\"} %d\n", st.Internal.Destroyed)
	metric("nfgo_sync_changes_received_total", "Changes received from the peer and applied, by kind.", "counter")
	fmt.Fprintf(w, "nfgo_sync_changes_received_total{kind=\"new\"} %d\n", st.External.Created)
	fmt.Fprintf(w, "nfgo_sync_changes_received_total{kind=\"update\"} %d\n", st.External.Updated)
	fmt.Fprintf(w, "nfgo_sync_changes_received_total{kind=\"destroy\"} %d\n", st.External.Destroyed)
}
