package filter

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// The matches that read what the caller knows beyond the packet: the
// link header or NFQUEUE's hardware address (mac), the sending socket
// (owner), the bridge ports (physdev).

func TestMACMatchesTheFramesSource(t *testing.T) {
	mac := [6]byte{0, 0x11, 0x22, 0x33, 0x44, 0x55}
	eth := append([]byte{1, 2, 3, 4, 5, 6}, mac[:]...)
	eth = append(eth, 0x08, 0x00)
	other := append([]byte{1, 2, 3, 4, 5, 6, 9, 9, 9, 9, 9, 9}, 0x08, 0x00)
	tests := []struct {
		name   string
		link   []byte
		hwaddr []byte
		invert bool
		want   bool
	}{
		{"the link header's source", eth, nil, false, true},
		{"another source", other, nil, false, false},
		{"another source, inverted", other, nil, true, true},
		{"NFQUEUE's hardware address", nil, mac[:], false, true},
		{"no link header: never, even inverted", nil, nil, true, false},
		{"a header too short", eth[:10], nil, false, false},
	}
	for _, tt := range tests {
		c := matchCtx(mUDP4.decode(t))
		c.LinkHeader, c.Origin.HWAddr = tt.link, tt.hwaddr
		if got := (&MACMatch{Source: mac, Invert: tt.invert}).Match(c); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestOwnerMatchesTheSendingSocket(t *testing.T) {
	root := Origin{HasSocket: true, HasOwner: true, UID: 0, GID: 0}
	user := Origin{HasSocket: true, HasOwner: true, UID: 1000, GID: 1000, Groups: []uint32{27, 100}}
	kernelSock := Origin{HasSocket: true}
	uid := func(lo, hi uint32, inv bool) OwnerMatch {
		return OwnerMatch{UIDMin: lo, UIDMax: hi, MatchUID: true, InvertUID: inv}
	}
	gid := func(lo, hi uint32, inv, suppl bool) OwnerMatch {
		return OwnerMatch{GIDMin: lo, GIDMax: hi, MatchGID: true, InvertGID: inv, SupplGroups: suppl}
	}
	tests := []struct {
		name string
		m    OwnerMatch
		o    Origin
		want bool
	}{
		{"uid in range", uid(0, 100, false), root, true},
		{"uid out of range", uid(0, 100, false), user, false},
		{"uid out of range, inverted", uid(0, 100, true), user, true},
		{"no socket: a test not inverted fails", uid(0, 100, false), Origin{}, false},
		{"no socket: every test inverted passes", uid(0, 100, true), Origin{}, true},
		{"no socket, ! --socket-exists", OwnerMatch{SocketExists: true, InvertSocket: true}, Origin{}, true},
		{"a socket, --socket-exists", OwnerMatch{SocketExists: true}, kernelSock, true},
		{"a socket, ! --socket-exists", OwnerMatch{SocketExists: true, InvertSocket: true}, user, false},
		{"a socket without a file: uid fails", uid(0, 100, false), kernelSock, false},
		{"a socket without a file: inverted uid passes", uid(0, 100, true), kernelSock, true},
		{"gid", gid(1000, 1000, false, false), user, true},
		{"a supplementary group without --suppl-groups", gid(27, 27, false, false), user, false},
		{"a supplementary group with --suppl-groups", gid(27, 27, false, true), user, true},
		{"uid and gid both", OwnerMatch{UIDMin: 1000, UIDMax: 1000, MatchUID: true, GIDMin: 5, GIDMax: 5, MatchGID: true}, user, false},
	}
	for _, tt := range tests {
		c := matchCtx(mUDP4.decode(t))
		c.Origin = tt.o
		if got := tt.m.Match(c); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPhysdevMatchesTheBridgePorts(t *testing.T) {
	bridged := Origin{Bridged: true, PhysIn: "veth1", PhysOut: "veth2"}
	inOnly := Origin{Bridged: true, PhysIn: "veth1"} // to the host itself
	in := func(name string, wild, inv bool) PhysdevMatch {
		return PhysdevMatch{In: Iface{Name: name, Wildcard: wild, Invert: inv}, MatchIn: true}
	}
	tests := []struct {
		name string
		m    PhysdevMatch
		o    Origin
		want bool
	}{
		{"in port", in("veth1", false, false), bridged, true},
		{"in port by prefix", in("veth", true, false), bridged, true},
		{"another in port", in("veth9", false, false), bridged, false},
		{"another in port, inverted", in("veth9", false, true), bridged, true},
		{"not bridged: in fails", in("veth1", false, false), Origin{}, false},
		{"not bridged: every option inverted passes", in("veth1", false, true), Origin{}, true},
		{"out port", PhysdevMatch{Out: Iface{Name: "veth2"}, MatchOut: true}, bridged, true},
		{"out port, none known", PhysdevMatch{Out: Iface{Name: "veth2", Invert: true}, MatchOut: true}, inOnly, false},
		{"is-bridged", PhysdevMatch{IsBridged: true}, bridged, true},
		{"is-bridged, to the host", PhysdevMatch{IsBridged: true}, inOnly, false},
		{"! is-bridged, to the host", PhysdevMatch{IsBridged: true, InvertIsBridged: true}, inOnly, true},
		{"is-out, to the host", PhysdevMatch{IsOut: true}, inOnly, false},
		{"is-in", PhysdevMatch{IsIn: true}, inOnly, true},
	}
	for _, tt := range tests {
		c := matchCtx(mUDP4.decode(t))
		c.Origin = tt.o
		if got := tt.m.Match(c); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestChecksumTargetCompletesAPartialChecksum(t *testing.T) {
	p := mUDP4.decode(t)
	p.ComputeChecksums()
	want := append([]byte(nil), p.Bytes()...) // the checksum complete
	// The NIC's job left undone: the field holds the pseudo-header's
	// sum (CHECKSUM_PARTIAL).
	b := p.Bytes()
	l4 := b[p.L4Off:]
	sum := uint32(binary.BigEndian.Uint16(b[12:])) + uint32(binary.BigEndian.Uint16(b[14:])) +
		uint32(binary.BigEndian.Uint16(b[16:])) + uint32(binary.BigEndian.Uint16(b[18:])) +
		uint32(packet.ProtoUDP) + uint32(binary.BigEndian.Uint16(l4[4:]))
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(l4[6:], uint16(sum))
	p.PartialChecksum = true
	if v := (&ChecksumTarget{}).Do(matchCtx(p)); v.Action != Continue {
		t.Fatalf("verdict %v, want CONTINUE", v.Action)
	}
	if p.PartialChecksum || !p.Modified || !bytes.Equal(p.Bytes(), want) {
		t.Errorf("after CHECKSUM: partial %v, modified %v, packet\n %x\nwant\n %x", p.PartialChecksum, p.Modified, p.Bytes(), want)
	}
	// A packet whose checksum is complete is left as it is.
	full := mUDP4.decode(t)
	full.ComputeChecksums()
	full.Modified = false
	(&ChecksumTarget{}).Do(matchCtx(full))
	if !bytes.Equal(full.Bytes(), want) || full.Modified {
		t.Error("CHECKSUM changed a packet whose checksum was complete")
	}
}

func TestCPUMatchesTheCallersCPU(t *testing.T) {
	tests := []struct {
		name   string
		origin Origin
		invert bool
		want   bool
	}{
		{"the CPU", Origin{HasCPU: true, CPU: 1}, false, true},
		{"another CPU", Origin{HasCPU: true, CPU: 0}, false, false},
		{"another CPU, inverted", Origin{HasCPU: true, CPU: 0}, true, true},
		{"CPU unknown", Origin{}, false, false},
		{"CPU unknown, inverted", Origin{}, true, false},
	}
	p := matchPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: 17, sport: 1, dport: 2}.decode(t)
	for _, tt := range tests {
		c := matchCtx(p)
		c.Origin = tt.origin
		m := &CPUMatch{CPU: 1, Invert: tt.invert}
		if got := m.Match(c); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
