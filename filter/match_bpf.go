package filter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/nfgo/nfgo/packet"
)

// BPFMaxInstructions is XT_BPF_MAX_NUM_INSTR.
const BPFMaxInstructions = 64

// BPFInstruction is one classic BPF instruction (struct sock_filter).
type BPFInstruction struct {
	Code   uint16
	Jt, Jf uint8
	K      uint32
}

// BPFMatch is -m bpf --bytecode (xt_bpf.c): a classic BPF program run on
// the packet from its network header; the packet matches when the
// program returns anything but 0.
//
// The interpreter is the kernel's classic BPF: loads past the packet's
// end, and a division by a zero X, end the program with 0; shifts by X
// use its low 5 bits; negative offsets reach the network header
// (SKF_NET_OFF) and the link header (SKF_LL_OFF, when the caller gave
// it). Of the ancillary loads (SKF_AD_OFF) it has the protocol, the
// packet type, the mark, the CPU, the payload offset, a random number,
// A^X and the VLAN tag (none); CheckRule refuses those that need the
// packet's device (ifindex, hardware type, queue, receive hash, netlink
// attributes, VLAN protocol).
type BPFMatch struct {
	Program []BPFInstruction
}

// Name returns "bpf".
func (*BPFMatch) Name() string { return "bpf" }

// The classic BPF opcode fields and values (linux/bpf_common.h).
const (
	bpfLD, bpfLDX, bpfST, bpfSTX, bpfALU, bpfJMP, bpfRET, bpfMISC = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07

	bpfW, bpfH, bpfB = 0x00, 0x08, 0x10

	bpfIMM, bpfABS, bpfIND, bpfMEM, bpfLEN, bpfMSH = 0x00, 0x20, 0x40, 0x60, 0x80, 0xa0

	bpfADD, bpfSUB, bpfMUL, bpfDIV, bpfOR, bpfAND, bpfLSH, bpfRSH, bpfNEG, bpfMOD, bpfXOR = 0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0

	bpfJA, bpfJEQ, bpfJGT, bpfJGE, bpfJSET = 0x00, 0x10, 0x20, 0x30, 0x40

	bpfK, bpfX, bpfA = 0x00, 0x08, 0x10

	bpfTAX, bpfTXA = 0x00, 0x80

	bpfMemWords = 16
)

// The special offsets of classic BPF loads (linux/filter.h).
const (
	skfADOff  = 0xfffff000 // -0x1000
	skfNetOff = 0xfff00000 // -0x100000
	skfLLOff  = 0xffe00000 // -0x200000
)

// The ancillary loads, offsets from SKF_AD_OFF.
const (
	skfADProtocol    = 0
	skfADPktType     = 4
	skfADIfindex     = 8
	skfADNLAttr      = 12
	skfADNLAttrNest  = 16
	skfADMark        = 20
	skfADQueue       = 24
	skfADHAType      = 28
	skfADRXHash      = 32
	skfADCPU         = 36
	skfADAluXorX     = 40
	skfADVLANTag     = 44
	skfADVLANPresent = 48
	skfADPayOffset   = 52
	skfADRandom      = 56
	skfADVLANTPID    = 60
)

// bpfAllowed is chk_code_allowed's table.
var bpfAllowed = func() map[uint16]bool {
	m := map[uint16]bool{}
	for _, op := range []uint16{bpfADD, bpfSUB, bpfMUL, bpfDIV, bpfMOD, bpfAND, bpfOR, bpfXOR, bpfLSH, bpfRSH} {
		m[bpfALU|op|bpfK], m[bpfALU|op|bpfX] = true, true
	}
	for _, c := range []uint16{
		bpfALU | bpfNEG,
		bpfLD | bpfW | bpfABS, bpfLD | bpfH | bpfABS, bpfLD | bpfB | bpfABS,
		bpfLD | bpfW | bpfLEN,
		bpfLD | bpfW | bpfIND, bpfLD | bpfH | bpfIND, bpfLD | bpfB | bpfIND,
		bpfLD | bpfIMM, bpfLD | bpfMEM,
		bpfLDX | bpfW | bpfLEN, bpfLDX | bpfB | bpfMSH, bpfLDX | bpfIMM, bpfLDX | bpfMEM,
		bpfST, bpfSTX, bpfMISC | bpfTAX, bpfMISC | bpfTXA,
		bpfRET | bpfK, bpfRET | bpfA, bpfJMP | bpfJA,
	} {
		m[c] = true
	}
	for _, op := range []uint16{bpfJEQ, bpfJGE, bpfJGT, bpfJSET} {
		m[bpfJMP|op|bpfK], m[bpfJMP|op|bpfX] = true, true
	}
	return m
}()

// ErrBPFInvalid is CheckRule's error for a program the kernel's checker
// refuses (EINVAL).
var ErrBPFInvalid = errors.New("bpf: invalid program")

// ErrBPFUnsupported is CheckRule's error for an ancillary load nfgo
// cannot answer.
var ErrBPFUnsupported = errors.New("bpf: unsupported")

// CheckRule is bpf_check_classic and check_load_and_stores: known
// opcodes only, no division by a zero constant, no shift by 32 or more,
// scratch memory inside its 16 words and never read before it is
// written on every path, jumps inside the program, a return last; and
// at most 64 instructions.
func (m *BPFMatch) CheckRule(_ *Rule, _ Site) error {
	return CheckBPF(m.Program)
}

// CheckBPF validates a classic BPF program as the kernel does when
// xt_bpf loads it.
func CheckBPF(prog []BPFInstruction) error {
	n := len(prog)
	if n == 0 || n > BPFMaxInstructions {
		return fmt.Errorf("%w: %d instructions (1 to %d)", ErrBPFInvalid, n, BPFMaxInstructions)
	}
	for pc, ins := range prog {
		bad := func(why string) error { return fmt.Errorf("%w: instruction %d: %s", ErrBPFInvalid, pc, why) }
		if !bpfAllowed[ins.Code] {
			return bad(fmt.Sprintf("opcode %#x", ins.Code))
		}
		switch ins.Code {
		case bpfALU | bpfDIV | bpfK, bpfALU | bpfMOD | bpfK:
			if ins.K == 0 {
				return bad("division by 0")
			}
		case bpfALU | bpfLSH | bpfK, bpfALU | bpfRSH | bpfK:
			if ins.K >= 32 {
				return bad("shift by 32 or more")
			}
		case bpfLD | bpfMEM, bpfLDX | bpfMEM, bpfST, bpfSTX:
			if ins.K >= bpfMemWords {
				return bad("scratch memory word out of range")
			}
		case bpfJMP | bpfJA:
			if ins.K >= uint32(n-pc-1) {
				return bad("jump out of the program")
			}
		case bpfLD | bpfW | bpfABS, bpfLD | bpfH | bpfABS, bpfLD | bpfB | bpfABS:
			if ins.K >= skfADOff {
				switch ins.K - skfADOff {
				case skfADProtocol, skfADPktType, skfADMark, skfADCPU, skfADAluXorX, skfADVLANTag, skfADVLANPresent, skfADPayOffset, skfADRandom:
				case skfADIfindex, skfADNLAttr, skfADNLAttrNest, skfADQueue, skfADHAType, skfADRXHash, skfADVLANTPID:
					return fmt.Errorf("%w: instruction %d: ancillary load %d needs the packet's device, which nfgo does not have", ErrBPFUnsupported, pc, ins.K-skfADOff)
				default:
					return bad("unknown ancillary load")
				}
			}
		default:
			if ins.Code&0x07 == bpfJMP && (pc+int(ins.Jt)+1 >= n || pc+int(ins.Jf)+1 >= n) {
				return bad("jump out of the program")
			}
		}
	}
	if c := prog[n-1].Code; c != bpfRET|bpfK && c != bpfRET|bpfA {
		return fmt.Errorf("%w: the last instruction is not a return", ErrBPFInvalid)
	}
	// check_load_and_stores: a scratch word is read only where every
	// path to it has written it.
	masks := make([]uint16, n)
	for i := range masks {
		masks[i] = 0xffff
	}
	var valid uint16
	for pc, ins := range prog {
		valid &= masks[pc]
		switch c := ins.Code; {
		case c == bpfST || c == bpfSTX:
			valid |= 1 << ins.K
		case c == bpfLD|bpfMEM || c == bpfLDX|bpfMEM:
			if valid&(1<<ins.K) == 0 {
				return fmt.Errorf("%w: instruction %d reads scratch word %d before it is written", ErrBPFInvalid, pc, ins.K)
			}
		case c == bpfJMP|bpfJA:
			masks[pc+1+int(ins.K)] &= valid
			valid = 0xffff
		case c&0x07 == bpfJMP:
			masks[pc+1+int(ins.Jt)] &= valid
			masks[pc+1+int(ins.Jf)] &= valid
			valid = 0xffff
		}
	}
	return nil
}

// Match runs the program.
func (m *BPFMatch) Match(c *Context) bool { return runBPF(m.Program, c) != 0 }

// runBPF interprets a program CheckBPF accepted.
func runBPF(prog []BPFInstruction, c *Context) uint32 {
	data := c.Packet.Bytes()
	var a, x uint32
	var mem [bpfMemWords]uint32
	for pc := 0; pc < len(prog); pc++ {
		ins := prog[pc]
		switch ins.Code {
		case bpfLD | bpfW | bpfABS, bpfLD | bpfH | bpfABS, bpfLD | bpfB | bpfABS:
			if ins.K >= skfADOff {
				a = bpfAncillary(ins.K-skfADOff, a, x, c)
				continue
			}
			v, ok := bpfLoad(data, c.LinkHeader, ins.K, ins.Code&0x18)
			if !ok {
				return 0
			}
			a = v
		case bpfLD | bpfW | bpfIND, bpfLD | bpfH | bpfIND, bpfLD | bpfB | bpfIND:
			v, ok := bpfLoad(data, c.LinkHeader, x+ins.K, ins.Code&0x18)
			if !ok {
				return 0
			}
			a = v
		case bpfLD | bpfW | bpfLEN:
			a = uint32(len(data))
		case bpfLDX | bpfW | bpfLEN:
			x = uint32(len(data))
		case bpfLD | bpfIMM:
			a = ins.K
		case bpfLDX | bpfIMM:
			x = ins.K
		case bpfLD | bpfMEM:
			a = mem[ins.K]
		case bpfLDX | bpfMEM:
			x = mem[ins.K]
		case bpfLDX | bpfB | bpfMSH:
			v, ok := bpfLoad(data, c.LinkHeader, ins.K, bpfB)
			if !ok {
				return 0
			}
			x = 4 * (v & 0xf)
		case bpfST:
			mem[ins.K] = a
		case bpfSTX:
			mem[ins.K] = x
		case bpfMISC | bpfTAX:
			x = a
		case bpfMISC | bpfTXA:
			a = x
		case bpfRET | bpfK:
			return ins.K
		case bpfRET | bpfA:
			return a
		case bpfJMP | bpfJA:
			pc += int(ins.K)
		case bpfALU | bpfNEG:
			a = -a
		default:
			operand := ins.K
			if ins.Code&bpfX != 0 {
				operand = x
			}
			switch ins.Code & 0x07 {
			case bpfALU:
				switch ins.Code & 0xf0 {
				case bpfADD:
					a += operand
				case bpfSUB:
					a -= operand
				case bpfMUL:
					a *= operand
				case bpfDIV:
					if operand == 0 {
						return 0
					}
					a /= operand
				case bpfMOD:
					if operand == 0 {
						return 0
					}
					a %= operand
				case bpfAND:
					a &= operand
				case bpfOR:
					a |= operand
				case bpfXOR:
					a ^= operand
				case bpfLSH:
					a <<= operand & 31
				case bpfRSH:
					a >>= operand & 31
				}
			case bpfJMP:
				var taken bool
				switch ins.Code & 0xf0 {
				case bpfJEQ:
					taken = a == operand
				case bpfJGT:
					taken = a > operand
				case bpfJGE:
					taken = a >= operand
				case bpfJSET:
					taken = a&operand != 0
				}
				if taken {
					pc += int(ins.Jt)
				} else {
					pc += int(ins.Jf)
				}
			}
		}
	}
	return 0
}

// bpfLoad reads size bytes at off: from the network header, or, for the
// negative offsets, from the network or the link header.
func bpfLoad(data, link []byte, off uint32, size uint16) (uint32, bool) {
	n := uint32(4)
	switch size {
	case bpfH:
		n = 2
	case bpfB:
		n = 1
	}
	buf := data
	switch {
	case off >= skfADOff:
		return 0, false
	case off >= skfNetOff:
		off -= skfNetOff
	case off >= skfLLOff:
		off -= skfLLOff
		buf = link
	case off >= 1<<31:
		return 0, false
	}
	if uint64(off)+uint64(n) > uint64(len(buf)) {
		return 0, false
	}
	switch n {
	case 4:
		return binary.BigEndian.Uint32(buf[off:]), true
	case 2:
		return uint32(binary.BigEndian.Uint16(buf[off:])), true
	}
	return uint32(buf[off]), true
}

// bpfAncillary answers the ancillary loads CheckBPF lets through.
func bpfAncillary(which, a, x uint32, c *Context) uint32 {
	switch which {
	case skfADProtocol:
		if c.Packet.Family == packet.IPv6 {
			return 0x86dd
		}
		return 0x0800
	case skfADPktType:
		return uint32(c.PktType)
	case skfADMark:
		return c.Mark
	case skfADCPU:
		return c.Origin.CPU
	case skfADAluXorX:
		return a ^ x
	case skfADPayOffset:
		data := c.Packet.Bytes()
		return uint32(len(data) - len(c.Packet.Payload()))
	case skfADRandom:
		return rand.Uint32()
	}
	return 0 // the VLAN tag and its presence: no VLAN
}
