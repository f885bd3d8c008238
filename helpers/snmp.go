package helpers

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// SNMP (nf_conntrack_snmp.c, net/ipv4/netfilter/nf_nat_snmp_basic*).
// Two helpers share the basic SNMP NAT:
//
//   - "snmp" (nf_conntrack_snmp, for requests to port 161) is the
//     broadcast helper (broadcast.go) for port 161, so that a manager's
//     broadcast request gets its agents' answers, and then, on a NATed
//     connection, the basic NAT below;
//   - "snmp_trap" (nf_nat_snmp_basic, for traps to port 162) is the
//     basic NAT alone.
//
// The basic NAT is for managers that reach agents in a private realm
// through source NAT: the messages name the hosts' addresses inside
// their BER encoding (IpAddress variable bindings), and the helper
// rewrites every IpAddress equal to the connection's original source
// into the address it is translated to, fixing the UDP checksum
// incrementally. It decodes SNMPv1 and SNMPv2c messages with the
// kernel's grammar (nf_nat_snmp_basic.asn1) run as its ASN.1 compiler
// compiles it and its asn1_ber_decoder runs it, so that what the
// kernel takes, refuses and rewrites is the same here:
//
//   - a message whose decoding fails is dropped ("parser failed"): a
//     version other than 0 or 1 (SNMPv3), an IpAddress that is not 4
//     bytes, an SNMPv1 Trap-PDU ([4]), which the kernel's grammar
//     leaves out as obsolete, its agent-addr unread, a PDU that binds
//     no variable, and a message of indefinite length whose PDU is not
//     a Report (after any other PDU type the later alternatives read
//     the end-of-contents as a tag, and the CHOICE fails);
//   - the decoder takes what the grammar's bytecode lets through: a
//     message without a PDU, bytes after the message, a second PDU of
//     a type later in the CHOICE, and an IpAddress after a binding's
//     INTEGER value, which is rewritten too;
//   - the datagram's UDP length must be the rest of the packet
//     ("dropping malformed packet");
//   - the address mapping is the original source to the reply's
//     destination in both directions, so only source NAT of the
//     connection's initiator is undone; a connection only
//     destination-NATed is left alone.
//
// One deliberate difference: for a packet whose checksum is not yet
// computed ([packet.Packet.PartialChecksum]) the checksum field is left
// alone, since it holds only the pseudo-header's sum and the payload's
// is added later; the kernel adjusts it as if it were complete, which
// leaves such a packet with a wrong checksum.

const (
	snmpPort     = 161 // SNMP_PORT
	snmpTrapPort = 162 // SNMP_TRAP_PORT
)

func newSNMP(cfg *Config) *Helper {
	return &Helper{
		name: "snmp", protos: []uint8{packet.ProtoUDP}, families: v4,
		policy: []conntrack.ExpectPolicy{{Name: "default", MaxExpected: 1, Timeout: cfg.SNMPTimeout}},
		help: func(h *Helper, c *Call) Verdict {
			broadcastHelp(c, snmpPort, h.cfg.SNMPTimeout)
			if c.natted() {
				return snmpBasicNAT(c)
			}
			return accept
		},
	}
}

func newSNMPTrap(*Config) *Helper {
	return &Helper{
		name: "snmp_trap", protos: []uint8{packet.ProtoUDP}, families: v4,
		policy: []conntrack.ExpectPolicy{{Name: "default", MaxExpected: 0, Timeout: 180 * time.Second}},
		help:   func(h *Helper, c *Call) Verdict { return snmpBasicNAT(c) },
	}
}

// snmpBasicNAT is nf_nat_snmp_basic's help: it sets up no expectation,
// and rewrites the addresses of a NATed connection's messages.
func snmpBasicNAT(c *Call) Verdict {
	p := c.Packet
	// The kernel reads a UDP header right after the IP header, whatever
	// follows it: for an ICMP error of the original direction, the
	// ICMP header.
	l4 := p.L4()
	if p.Family != packet.IPv4 || len(l4) < 8 {
		return accept
	}
	dir := c.dir()
	// Only what the kernel's port tests let through: not a packet from
	// port 161 in the original direction, nor one to port 162 in the
	// reply direction.
	if binary.BigEndian.Uint16(l4[0:2]) == snmpPort && dir != conntrack.Reply {
		return accept
	}
	if binary.BigEndian.Uint16(l4[2:4]) == snmpTrapPort && dir != conntrack.Original {
		return accept
	}
	if !c.natted() {
		return accept
	}
	if int(binary.BigEndian.Uint16(l4[4:6])) != len(l4) {
		return drop("dropping malformed packet")
	}
	orig, reply := c.tuple(conntrack.Original), c.tuple(conntrack.Reply)
	from, to := [4]byte(orig.Src[:4]), [4]byte(reply.Dst[:4])
	if from == to {
		return accept
	}
	s := snmpRewrite{data: l4[8:], check: l4[6:8], from: from, to: to, partial: p.PartialChecksum}
	err := s.decode()
	if s.changed {
		p.Modified = true
	}
	if err != nil {
		return drop("parser failed")
	}
	return accept
}

// snmpRewrite is one message being decoded and rewritten (struct
// snmp_ctx): the UDP payload, the UDP checksum field, and the address
// mapping.
type snmpRewrite struct {
	data     []byte
	check    []byte
	from, to [4]byte
	// partial says the checksum field holds a partial sum, which the
	// payload's change does not move.
	partial bool
	changed bool
}

// The actions the grammar names, by the index the compiler gives them.
const (
	snmpActHelper  = 0 // snmp_helper, on every IpAddress
	snmpActVersion = 1 // snmp_version, on the message's version
)

// The errors of an action, which end the decoding.
var (
	errSNMPInvalid     = errors.New("snmp: bad length (EINVAL)")
	errSNMPUnsupported = errors.New("snmp: version not supported (ENOTSUPP)")
)

// action runs action act on value, which starts at offset off of the
// payload.
func (s *snmpRewrite) action(act byte, value []byte, off int) error {
	switch act {
	case snmpActVersion:
		// snmp_version: SNMPv1 (0) and SNMPv2c (1) only.
		if len(value) != 1 {
			return errSNMPInvalid
		}
		if value[0] > 1 {
			return errSNMPUnsupported
		}
	case snmpActHelper:
		// snmp_helper: an IpAddress naming the host behind the NAT
		// names its translated address instead.
		if len(value) != 4 {
			return errSNMPInvalid
		}
		if [4]byte(value) != s.from {
			return nil
		}
		if c := binary.BigEndian.Uint16(s.check); c != 0 && !s.partial {
			binary.BigEndian.PutUint16(s.check, snmpFastCsum(c, off, s.from, s.to))
		}
		copy(value, s.to[:])
		s.changed = true
	}
	return nil
}

// snmpFastCsum returns UDP checksum c updated for the four bytes at
// payload offset off changing from from to to, as the kernel's
// fast_csum computes it: at an odd offset the address straddles the
// checksum's 16-bit words, so the bytes are summed shifted by one, with
// all-ones and zero pads. Unlike the usual UDP rule the result may be
// 0, which the kernel leaves for the receiver to take as no checksum.
func snmpFastCsum(c uint16, off int, from, to [4]byte) uint16 {
	var s [12]byte
	n := 8
	if off&1 != 0 {
		s[0], s[5] = 0xff, 0xff
		for i := range 4 {
			s[1+i] = ^from[i]
			s[7+i] = to[i]
		}
		n = 12
	} else {
		for i := range 4 {
			s[i] = ^from[i]
			s[4+i] = to[i]
		}
	}
	// ~csum_unfold(c) is the 32-bit 0xffff0000 | ~c: its upper half
	// keeps the sum from being 0, so the fold below gives 1 to 0xffff,
	// as csum_fold does, before its complement.
	sum := uint64(0xffff0000) | uint64(^c)
	for i := 0; i < n; i += 2 {
		sum += uint64(binary.BigEndian.Uint16(s[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// The decoder: the bytecode the kernel's asn1_compiler makes of
// nf_nat_snmp_basic.asn1, run as lib/asn1_decoder.c's asn1_ber_decoder
// runs it, limits included (65535 bytes, tags of one byte, lengths of at
// most two bytes, ten nested constructed values, ten nested jumps).
//
// An opcode that matches a tag reads one (and its length) and compares
// it with the one after the opcode: a constructed tag there takes the
// data's tag constructed or primitive, a primitive one only primitive.
// Its bits say what else it does: skip itself when the tag differs (or
// the data is at its end) rather than fail, run an action on the value,
// jump to a subroutine for a constructed value, and, for the later
// alternatives of a CHOICE, skip itself when an earlier one matched.
const (
	berOpMatch           = 0x00 // ASN1_OP_MATCH
	berOpSkip            = 0x01 // ASN1_OP_MATCH__SKIP
	berOpAct             = 0x02 // ASN1_OP_MATCH__ACT
	berOpJump            = 0x04 // ASN1_OP_MATCH__JUMP
	berOpCond            = 0x10 // ASN1_OP_MATCH__COND
	berOpMatchesTag      = 0x1b // the last opcode that reads a tag
	berOpCondFail        = 0x1c // fail unless an alternative matched
	berOpComplete        = 0x1d // the end of the machine
	berOpEndSeq          = 0x20 // the end of a SEQUENCE
	berOpEndSeqOf        = 0x22 // the end of a SEQUENCE OF: again while data is left
	berOpReturn          = 0x28 // return from a subroutine
	berOpMatchOrSkip     = berOpMatch | berOpSkip
	berOpMatchAct        = berOpMatch | berOpAct
	berOpMatchActOrSkip  = berOpMatch | berOpAct | berOpSkip
	berOpMatchJumpOrSkip = berOpMatch | berOpJump | berOpSkip
	berOpCondMatchOrSkip = berOpCond | berOpSkip
)

// The tags of the grammar: class, constructed bit, number.
const (
	berInt       = 0x02 // UNIV PRIM INTEGER
	berOctets    = 0x04 // UNIV PRIM OCTET STRING
	berNull      = 0x05 // UNIV PRIM NULL
	berOID       = 0x06 // UNIV PRIM OBJECT IDENTIFIER
	berSeq       = 0x30 // UNIV CONS SEQUENCE
	berApp       = 0x40 // APPL PRIM n
	berCont      = 0x80 // CONT PRIM n
	berContCons  = 0xa0 // CONT CONS n
	berConsBit   = 0x20
	berLongTag   = 0x1f
	berIndefLen  = 0x80
	berStackSize = 10 // NR_CONS_STACK, NR_JUMP_STACK
)

// snmpMachine is nf_nat_snmp_basic_machine, its indices in the
// comments.
var snmpMachine = [...]byte{
	// Message ::= SEQUENCE { version, community, pdu }
	berOpMatch, berSeq, // 0
	berOpMatchAct, berInt, snmpActVersion, // 2: version
	berOpMatch, berOctets, // 5: community
	// PDUs: each alternative is a PDU with its own tag, decoded by the
	// subroutine at 34. None is conditional: after one, the next ones
	// still read a tag if data is left.
	berOpMatchJumpOrSkip, berContCons, 34, // 7: GetRequest-PDU ([0])
	berOpMatchJumpOrSkip, berContCons | 1, 34, // 10: GetNextRequest-PDU
	berOpMatchJumpOrSkip, berContCons | 5, 34, // 13: GetBulkRequest-PDU
	berOpMatchJumpOrSkip, berContCons | 2, 34, // 16: Response-PDU
	berOpMatchJumpOrSkip, berContCons | 3, 34, // 19: SetRequest-PDU
	berOpMatchJumpOrSkip, berContCons | 6, 34, // 22: InformRequest-PDU
	berOpMatchJumpOrSkip, berContCons | 7, 34, // 25: SNMPv2-Trap-PDU
	berOpMatchJumpOrSkip, berContCons | 8, 34, // 28: Report-PDU
	berOpCondFail, // 31
	berOpEndSeq,   // 32
	berOpComplete, // 33

	// PDU ::= SEQUENCE { request-id, error-status, error-index, VarBindList }
	berOpMatch, berInt, // 34: request-id
	berOpMatch, berInt, // 36: error-status
	berOpMatch, berInt, // 38: error-index
	berOpMatch, berSeq, // 40: VarBindList ::= SEQUENCE OF VarBind
	berOpMatch, berSeq, // 42: VarBind ::= SEQUENCE { name, value }
	berOpMatch, berOID, // 44: name
	// ObjectSyntax: the first alternative of each CHOICE is tried
	// whatever came before, the later ones only if none matched yet.
	berOpMatchOrSkip, berInt, // 46: integer-value
	berOpCondMatchOrSkip, berOctets, // 48: string-value
	berOpCondMatchOrSkip, berOID, // 50: objectID-value
	berOpMatchActOrSkip, berApp, snmpActHelper, // 52: IpAddress ([APPLICATION 0])
	berOpMatchOrSkip, berApp | 1, // 55: Counter32
	berOpMatchOrSkip, berApp | 3, // 57: TimeTicks
	berOpMatchOrSkip, berApp | 4, // 59: Opaque
	berOpMatchOrSkip, berApp | 6, // 61: Counter64
	berOpMatchOrSkip, berApp | 2, // 63: Unsigned32
	berOpCondMatchOrSkip, berNull, // 65: unSpecified
	berOpCondMatchOrSkip, berCont, // 67: noSuchObject ([0])
	berOpCondMatchOrSkip, berCont | 1, // 69: noSuchInstance
	berOpCondMatchOrSkip, berCont | 2, // 71: endOfMibView
	berOpCondFail,     // 73
	berOpEndSeq,       // 74: the VarBind
	berOpEndSeqOf, 42, // 75: the VarBindList, again from 42
	berOpEndSeq, // 77: the PDU
	berOpReturn, // 78
}

// berOpLen is the length of each opcode the machine uses, with its
// operands (asn1_op_lengths).
func berOpLen(op byte) int {
	switch op {
	case berOpMatch, berOpMatchOrSkip, berOpCondMatchOrSkip, berOpEndSeqOf:
		return 2
	case berOpMatchAct, berOpMatchActOrSkip, berOpMatchJumpOrSkip:
		return 3
	case berOpCondFail, berOpComplete, berOpEndSeq, berOpReturn:
		return 1
	}
	return 0
}

// The decoder's errors (its errmsg strings).
var (
	errBERDataOverrun    = errors.New("ASN.1: data overrun error")
	errBERMachineOverrun = errors.New("ASN.1: machine overrun error")
	errBERReservedOp     = errors.New("ASN.1: found reserved opcode")
	errBERJumpUnderflow  = errors.New("ASN.1: jump stack underflow")
	errBERJumpOverflow   = errors.New("ASN.1: jump stack overflow")
	errBERConsUnderflow  = errors.New("ASN.1: cons stack underflow")
	errBERConsOverflow   = errors.New("ASN.1: cons stack overflow")
	errBERConsLength     = errors.New("ASN.1: cons length error")
	errBERMissingEOC     = errors.New("ASN.1: missing EOC in indefinite len cons")
	errBERInvalidEOC     = errors.New("ASN.1: invalid length EOC")
	errBERLengthTooLong  = errors.New("ASN.1: unsupported length")
	errBERIndefinitePrim = errors.New("ASN.1: indefinite len primitive not permitted")
	errBERUnexpectedTag  = errors.New("ASN.1: unexpected tag")
	errBERLongTag        = errors.New("ASN.1: long tag not supported")
	errBERTooBig         = errors.New("ASN.1: message too long (EMSGSIZE)")
	errBERStacks         = errors.New("ASN.1: stacks not empty at completion")
)

// The decoder's flags. FLAG_LAST_MATCHED, which only
// ASN1_OP_MAYBE_ACT reads, is left out with the opcodes the machine
// does not use.
const (
	berMatched    = 0x02 // FLAG_MATCHED: the last tag read matched
	berIndefinite = 0x01 // FLAG_INDEFINITE_LENGTH
	berCons       = 0x20 // FLAG_CONS: the op's tag is constructed
)

// decode runs snmpMachine over s.data, calling the actions as it goes
// (asn1_ber_decoder). Every position and length is bounded by the data,
// and every loop by the machine: hostile input ends in an error.
func (s *snmpRewrite) decode() error {
	m, data := snmpMachine[:], s.data
	if len(data) > 65535 {
		return errBERTooBig
	}
	var (
		pc, dp, length int
		datalen        = len(data)
		tag, flags     byte
		csp, jsp       int
		// consEnd holds, for each constructed value being decoded, the
		// end of the one around it (0: it has an indefinite length).
		consEnd [berStackSize]int
		jumps   [berStackSize]int
	)
	for {
		if pc >= len(m) {
			return errBERMachineOverrun
		}
		op := m[pc]
		n := berOpLen(op)
		if n == 0 {
			return errBERReservedOp
		}
		if pc+n > len(m) {
			return errBERMachineOverrun
		}
		if op <= berOpMatchesTag {
			if op&berOpCond != 0 && flags&berMatched != 0 || op&berOpSkip != 0 && dp == datalen {
				pc += n
				continue
			}
			flags = 0
			if datalen-dp < 2 {
				return errBERDataOverrun
			}
			tag = data[dp]
			dp++
			if tag&0x1f == berLongTag {
				return errBERLongTag
			}
			optag := m[pc+1]
			flags |= optag & berCons
			if (optag^tag)&^(optag&berConsBit) != 0 {
				if op&berOpSkip != 0 {
					pc += n
					dp--
					continue
				}
				return errBERUnexpectedTag
			}
			flags |= berMatched
			length = int(data[dp])
			dp++
			switch {
			case length == berIndefLen:
				if tag&berConsBit == 0 {
					return errBERIndefinitePrim
				}
				flags |= berIndefinite
				if datalen-dp < 2 {
					return errBERDataOverrun
				}
			case length > 0x7f:
				k := length - 0x80
				if k > 2 {
					return errBERLengthTooLong
				}
				if k > datalen-dp {
					return errBERDataOverrun
				}
				length = 0
				for ; k > 0; k-- {
					length = length<<8 | int(data[dp])
					dp++
				}
				if length > datalen-dp {
					return errBERDataOverrun
				}
			case length > datalen-dp:
				return errBERDataOverrun
			}
			if flags&berCons != 0 {
				if csp >= berStackSize {
					return errBERConsOverflow
				}
				if flags&berIndefinite == 0 {
					consEnd[csp] = datalen
					datalen = dp + length
				} else {
					consEnd[csp] = 0 // the end is an EOC
				}
				csp++
			}
		}

		switch {
		case op <= berOpMatchesTag && op&berOpJump == 0:
			// A leaf's value, or a constructed value entered in line.
			if op&berOpAct != 0 {
				// The value as the action sees it; a primitive tag
				// cannot have an indefinite length here, so it is all
				// within the data.
				end := min(dp+length, len(data))
				if err := s.action(m[pc+2], data[dp:end], dp); err != nil {
					return err
				}
			}
			if flags&berCons == 0 {
				dp += length
			}
			pc += n
		case op <= berOpMatchesTag:
			if jsp == berStackSize {
				return errBERJumpOverflow
			}
			jumps[jsp] = pc + n
			jsp++
			pc = int(m[pc+2])
		case op == berOpCondFail:
			if flags&berMatched == 0 {
				return errBERUnexpectedTag
			}
			pc += n
		case op == berOpComplete:
			if jsp != 0 || csp != 0 {
				return errBERStacks
			}
			return nil
		case op == berOpEndSeq || op == berOpEndSeqOf:
			if csp <= 0 {
				return errBERConsUnderflow
			}
			csp--
			end := datalen
			datalen = consEnd[csp]
			if datalen == 0 {
				// An indefinite length: the value ends at an EOC
				// (two zero bytes), or a SEQUENCE OF goes on.
				datalen = end
				if datalen-dp < 2 {
					return errBERDataOverrun
				}
				if data[dp] != 0 {
					if op == berOpEndSeqOf {
						csp++
						pc = int(m[pc+1])
						continue
					}
					return errBERMissingEOC
				}
				if data[dp+1] != 0 {
					return errBERInvalidEOC
				}
				dp += 2
			} else {
				if dp < end && op == berOpEndSeqOf {
					datalen = end
					csp++
					pc = int(m[pc+1])
					continue
				}
				if dp != end {
					return errBERConsLength
				}
			}
			pc += n
		case op == berOpReturn:
			if jsp <= 0 {
				return errBERJumpUnderflow
			}
			jsp--
			pc = jumps[jsp]
			flags |= berMatched
		default:
			return errBERReservedOp
		}
	}
}
