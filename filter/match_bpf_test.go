package filter

import (
	"encoding/binary"
	"testing"
)

func bpfProg(ins ...[4]uint32) []BPFInstruction {
	p := make([]BPFInstruction, len(ins))
	for i, x := range ins {
		p[i] = BPFInstruction{Code: uint16(x[0]), Jt: uint8(x[1]), Jf: uint8(x[2]), K: x[3]}
	}
	return p
}

func TestBPFPrograms(t *testing.T) {
	c := stringCtx(t, "nfgo")
	c.Mark = 7
	for _, tt := range []struct {
		name string
		prog []BPFInstruction
		want uint32
	}{
		{"protocol byte", bpfProg([4]uint32{0x30, 0, 0, 9}, [4]uint32{0x16, 0, 0, 0}), 17},
		{"first payload byte via msh", bpfProg([4]uint32{0xb1, 0, 0, 0}, [4]uint32{0x50, 0, 0, 8}, [4]uint32{0x16, 0, 0, 0}), 'n'},
		{"load past the end", bpfProg([4]uint32{0x20, 0, 0, 1000}, [4]uint32{0x06, 0, 0, 1}), 0},
		{"division by a zero X", bpfProg([4]uint32{0x01, 0, 0, 0}, [4]uint32{0x00, 0, 0, 5}, [4]uint32{0x3c, 0, 0, 0}, [4]uint32{0x06, 0, 0, 1}), 0},
		{"mark", bpfProg([4]uint32{0x20, 0, 0, skfADOff + skfADMark}, [4]uint32{0x16, 0, 0, 0}), 7},
		{"protocol", bpfProg([4]uint32{0x28, 0, 0, skfADOff + skfADProtocol}, [4]uint32{0x16, 0, 0, 0}), 0x0800},
		{"net offset", bpfProg([4]uint32{0x30, 0, 0, skfNetOff + 9}, [4]uint32{0x16, 0, 0, 0}), 17},
		{"link offset without a link header", bpfProg([4]uint32{0x30, 0, 0, skfLLOff}, [4]uint32{0x06, 0, 0, 1}), 0},
		{"payload offset", bpfProg([4]uint32{0x20, 0, 0, skfADOff + skfADPayOffset}, [4]uint32{0x16, 0, 0, 0}), 28},
		{"jset and ja", bpfProg([4]uint32{0x00, 0, 0, 6}, [4]uint32{0x45, 1, 0, 4}, [4]uint32{0x06, 0, 0, 9}, [4]uint32{0x05, 0, 0, 0}, [4]uint32{0x06, 0, 0, 3}), 3},
		{"scratch memory", bpfProg([4]uint32{0x00, 0, 0, 41}, [4]uint32{0x02, 0, 0, 3}, [4]uint32{0x00, 0, 0, 0}, [4]uint32{0x60, 0, 0, 3}, [4]uint32{0x04, 0, 0, 1}, [4]uint32{0x16, 0, 0, 0}), 42},
		{"shift by X uses its low 5 bits", bpfProg([4]uint32{0x01, 0, 0, 33}, [4]uint32{0x00, 0, 0, 1}, [4]uint32{0x6c, 0, 0, 0}, [4]uint32{0x16, 0, 0, 0}), 2},
		{"neg", bpfProg([4]uint32{0x00, 0, 0, 1}, [4]uint32{0x84, 0, 0, 0}, [4]uint32{0x16, 0, 0, 0}), 0xffffffff},
		{"len", bpfProg([4]uint32{0x80, 0, 0, 0}, [4]uint32{0x16, 0, 0, 0}), 32},
	} {
		if err := CheckBPF(tt.prog); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := runBPF(tt.prog, c); got != tt.want {
			t.Errorf("%s: returned %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestBPFCheckRefusesWhatTheKernelRefuses(t *testing.T) {
	for name, prog := range map[string][]BPFInstruction{
		"empty":                 nil,
		"no return last":        bpfProg([4]uint32{0x06, 0, 0, 0}, [4]uint32{0x00, 0, 0, 0}),
		"unknown opcode":        bpfProg([4]uint32{0xff, 0, 0, 0}, [4]uint32{0x06, 0, 0, 0}),
		"division by 0":         bpfProg([4]uint32{0x34, 0, 0, 0}, [4]uint32{0x06, 0, 0, 0}),
		"shift by 32":           bpfProg([4]uint32{0x64, 0, 0, 32}, [4]uint32{0x06, 0, 0, 0}),
		"scratch word 16":       bpfProg([4]uint32{0x02, 0, 0, 16}, [4]uint32{0x06, 0, 0, 0}),
		"read before write":     bpfProg([4]uint32{0x60, 0, 0, 0}, [4]uint32{0x06, 0, 0, 0}),
		"written on one path":   bpfProg([4]uint32{0x15, 0, 1, 0}, [4]uint32{0x02, 0, 0, 1}, [4]uint32{0x60, 0, 0, 1}, [4]uint32{0x06, 0, 0, 0}),
		"jump past the end":     bpfProg([4]uint32{0x05, 0, 0, 1}, [4]uint32{0x06, 0, 0, 0}),
		"cond past the end":     bpfProg([4]uint32{0x15, 1, 0, 0}, [4]uint32{0x06, 0, 0, 0}),
		"unknown ancillary":     bpfProg([4]uint32{0x20, 0, 0, skfADOff + 1}, [4]uint32{0x06, 0, 0, 0}),
		"ifindex (unsupported)": bpfProg([4]uint32{0x20, 0, 0, skfADOff + skfADIfindex}, [4]uint32{0x06, 0, 0, 0}),
		"65 instructions":       make([]BPFInstruction, 65),
	} {
		if err := CheckBPF(prog); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzBPF runs every program the checker accepts, built from the
// fuzzer's bytes, on the fuzzer's packet: it must end, and not panic.
func FuzzBPF(f *testing.F) {
	f.Add([]byte{0x30, 0, 0, 0, 0, 0, 0, 9, 0x16, 0, 0, 0, 0, 0, 0, 0}, "nfgo")
	f.Add([]byte{0xb1, 0, 0, 0, 0, 0, 0, 0, 0x50, 0, 0, 0, 0, 0, 0, 8, 0x16, 0, 0, 0, 0, 0, 0, 0}, "")
	f.Fuzz(func(t *testing.T, raw []byte, payload string) {
		var prog []BPFInstruction
		for ; len(raw) >= 8; raw = raw[8:] {
			prog = append(prog, BPFInstruction{Code: binary.BigEndian.Uint16(raw), Jt: raw[2], Jf: raw[3], K: binary.BigEndian.Uint32(raw[4:])})
		}
		if CheckBPF(prog) != nil {
			return
		}
		runBPF(prog, stringCtx(t, payload))
	})
}
