package nfq_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"

	"github.com/nfgo/nfgo/nfq"
)

// TestDecodesAsGoNfqueueDoes sends the same packets through the queue
// twice, once read by go-nfqueue (the reference) and once by nfq, and
// compares what both decoded from the kernel's messages: ids (each bind
// starts a new queue instance, so both count from the same point), hook,
// protocol, interfaces, mark, length and payload.
func TestDecodesAsGoNfqueueDoes(t *testing.T) {
	const n = 20
	l := newLab(t, fmt.Sprintf(`*mangle
-A OUTPUT -p udp --dport %d -j MARK --set-mark 0x1234
COMMIT
*filter
-A OUTPUT -p udp --dport %d -j NFQUEUE --queue-num 0
COMMIT
`, labPort, labPort))

	type view struct {
		id                 uint32
		hook               uint8
		proto              uint16
		mark, outdev, caps uint32
		payload            []byte
	}
	var ref []view
	ns, err := os.Open("/run/netns/" + l.ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	nf, err := nfqueue.Open(&nfqueue.Config{NetNS: int(ns.Fd()), NfQueue: 0, MaxPacketLen: 0xffff, MaxQueueLen: 1024,
		Copymode: nfqueue.NfQnlCopyPacket, WriteTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	got := make(chan view, n)
	err = nf.RegisterWithErrorFunc(ctx, func(a nfqueue.Attribute) int {
		v := view{id: *a.PacketID, hook: *a.Hook, proto: *a.HwProtocol, payload: append([]byte(nil), (*a.Payload)...)}
		if a.Mark != nil {
			v.mark = *a.Mark
		}
		if a.OutDev != nil {
			v.outdev = *a.OutDev
		}
		v.caps = uint32(len(v.payload))
		if a.CapLen != nil {
			v.caps = *a.CapLen
		}
		nf.SetVerdict(v.id, nfqueue.NfAccept)
		got <- v
		return 0
	}, func(error) int { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	l.sendN(t, n)
	for len(ref) < n {
		select {
		case v := <-got:
			ref = append(ref, v)
		case <-ctx.Done():
			t.Fatalf("go-nfqueue saw %d of %d packets", len(ref), n)
		}
	}
	cancel()
	nf.Close()
	l.received()

	q := l.open(t, nfq.Config{Num: 0})
	l.sendN(t, n)
	ours := serve(t, q, n, func(*nfq.Packet) nfq.Verdict { return nfq.Verdict{Action: nfq.Accept} })
	if len(ours) != n {
		t.Fatalf("nfq saw %d of %d packets", len(ours), n)
	}
	for i, p := range ours {
		r := ref[i]
		mine := view{id: p.ID, hook: p.Hook, proto: p.HWProtocol, mark: p.Mark, outdev: p.OutDev, caps: uint32(p.Length), payload: p.Payload}
		// The IP id and checksum differ between the two runs' packets;
		// compare the rest.
		same := mine.id == r.id && mine.hook == r.hook && mine.proto == r.proto && mine.mark == r.mark &&
			mine.outdev == r.outdev && mine.caps == r.caps && len(mine.payload) == len(r.payload) &&
			bytes.Equal(mine.payload[12:], r.payload[12:]) && mine.payload[0] == r.payload[0]
		if !same {
			t.Errorf("packet %d:\n nfq        %+v\n go-nfqueue %+v", i, mine, r)
		}
	}
}
