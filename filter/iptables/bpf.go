package iptables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
)

// -m bpf --bytecode "N,code jt jf k,…" (libxt_bpf.c, revision 1), as
// nfbpf_compile prints it; iptables-save prints the program the same
// way. --object-pinned names an eBPF program pinned in the kernel's bpf
// file system, which nfgo cannot run: it is refused.
func init() {
	type m = filter.BPFMatch
	declare(&declared[m]{
		name: "bpf",
		opts: []declOpt[m]{
			{name: "bytecode", set: func(x *m, c *optCall) error {
				p, err := ParseBPF(c.value)
				x.Program = p
				return err
			}},
			{name: "object-pinned", set: func(x *m, c *optCall) error {
				return fmt.Errorf("%w: bpf: --object-pinned %s: an eBPF program pinned in the kernel cannot run in nfgo; compile the filter to classic BPF (nfbpf_compile RAW '<filter>') and give it with --bytecode", ErrUnsupported, c.value)
			}},
		},
		check: func(x *m, seen optSet, _ *ruleContext) error {
			if !seen.has(0) {
				return fmt.Errorf("%w: bpf: one of --bytecode or --pinned is required", ErrSyntax)
			}
			return nil
		},
		save: func(w *saver, x *m) { w.opt(false, "bytecode", `"`+FormatBPF(x.Program)+`"`) },
	})
}

// ParseBPF reads a classic BPF program as libxt_bpf does: the count, a
// comma, then comma-separated "code jt jf k" instructions, each number
// read as sscanf's %u reads it (leading space and a sign allowed, the
// value cut to the field's width) and anything after the fourth number
// of an instruction ignored.
func ParseBPF(s string) ([]filter.BPFInstruction, error) {
	n, rest, ok := cStrtoul(s, 10)
	if !ok || rest == "" || rest[0] != ',' {
		return nil, fmt.Errorf("%w: bpf: error parsing program length", ErrBadArgument)
	}
	count := uint16(n)
	switch {
	case count == 0:
		return nil, fmt.Errorf("%w: bpf: illegal zero length program", ErrBadArgument)
	case count > filter.BPFMaxInstructions:
		return nil, fmt.Errorf("%w: bpf: number of instructions exceeds maximum", ErrBadArgument)
	}
	var prog []filter.BPFInstruction
	token := s
	for {
		i := strings.IndexByte(token, ',')
		if i < 0 || i+1 == len(token) {
			break
		}
		token = token[i+1:]
		if len(prog) >= int(count) {
			return nil, fmt.Errorf("%w: bpf: real program length exceeds the encoded length parameter", ErrBadArgument)
		}
		var f [4]uint64
		r := token
		for j := range f {
			v, more, ok := cStrtoul(r, 10)
			if !ok {
				return nil, fmt.Errorf("%w: bpf: error at instr %d", ErrBadArgument, len(prog))
			}
			f[j], r = v, more
		}
		prog = append(prog, filter.BPFInstruction{Code: uint16(f[0]), Jt: uint8(f[1]), Jf: uint8(f[2]), K: uint32(f[3])})
	}
	if len(prog) != int(count) {
		return nil, fmt.Errorf("%w: bpf: parsed program length is less than the encoded length parameter", ErrBadArgument)
	}
	return prog, nil
}

// FormatBPF prints a program as libxt_bpf saves it.
func FormatBPF(prog []filter.BPFInstruction) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(prog)))
	for _, ins := range prog {
		fmt.Fprintf(&b, ",%d %d %d %d", ins.Code, ins.Jt, ins.Jf, ins.K)
	}
	return b.String()
}
