//lint:file-ignore ST1005 the messages are libxt_sctp's, word for word

package iptables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nfgo/nfgo/filter"
	"github.com/nfgo/nfgo/packet"
)

// sctpChunkNames is libxt_sctp's table: the chunk types with names, and
// the flags each may be tested for (a letter per bit, high bit first).
var sctpChunkNames = []struct {
	name  string
	typ   uint8
	flags string
}{
	{"DATA", 0, "----IUBE"}, {"INIT", 1, "--------"}, {"INIT_ACK", 2, "--------"},
	{"SACK", 3, "--------"}, {"HEARTBEAT", 4, "--------"}, {"HEARTBEAT_ACK", 5, "--------"},
	{"ABORT", 6, "-------T"}, {"SHUTDOWN", 7, "--------"}, {"SHUTDOWN_ACK", 8, "--------"},
	{"ERROR", 9, "--------"}, {"COOKIE_ECHO", 10, "--------"}, {"COOKIE_ACK", 11, "--------"},
	{"ECN_ECNE", 12, "--------"}, {"ECN_CWR", 13, "--------"}, {"SHUTDOWN_COMPLETE", 14, "-------T"},
	{"I_DATA", 64, "----IUBE"}, {"RE_CONFIG", 130, "--------"}, {"PAD", 132, "--------"},
	{"ASCONF", 193, "--------"}, {"ASCONF_ACK", 128, "--------"}, {"FORWARD_TSN", 192, "--------"},
	{"I_FORWARD_TSN", 194, "--------"},
}

// sctpMaxFlagTests is XT_NUM_SCTP_FLAGS.
const sctpMaxFlagTests = 4

// -m sctp (libxt_sctp.c): [!] --source-port/--sport, [!]
// --destination-port/--dport (PORT or [PORT]:[PORT]) and [!]
// --chunk-types any|all|only CHUNKS, CHUNKS being ALL, NONE or
// comma-separated names each with optional :FLAGS (upper case: set,
// lower case: clear). iptables-save prints --sport, --dport, and
// --chunk-types with the names in chunk-type order.
func init() {
	type m = filter.SCTPMatch
	ports := func(name string, field func(*m) (*filter.PortRange, *bool, *bool)) func(*m, *optCall) error {
		return func(x *m, c *optCall) error {
			r, has, inv := field(x)
			if *has {
				return fmt.Errorf("%w: Only one `--%s' allowed", ErrSyntax, name)
			}
			lo, hi, err := parseSCTPPorts(c.value)
			*r, *has, *inv = filter.PortRange{Min: lo, Max: hi}, true, c.invert
			return err
		}
	}
	declare(&declared[m]{
		name: "sctp",
		opts: []declOpt[m]{
			{name: "source-port", aliases: []string{"sport"}, invert: true, multi: true,
				set: ports("source-port", func(x *m) (*filter.PortRange, *bool, *bool) { return &x.SrcPorts, &x.HasSrc, &x.InvertSrc })},
			{name: "destination-port", aliases: []string{"dport"}, invert: true, multi: true,
				set: ports("destination-port", func(x *m) (*filter.PortRange, *bool, *bool) { return &x.DstPorts, &x.HasDst, &x.InvertDst })},
			{name: "chunk-types", invert: true, multi: true, set: func(x *m, c *optCall) error {
				if x.HasChunks {
					return fmt.Errorf("%w: Only one `--chunk-types' allowed", ErrSyntax)
				}
				chunks := c.args.peek()
				if chunks == "" || chunks[0] == '-' || chunks[0] == '!' {
					return fmt.Errorf("%w: --chunk-types requires two args", ErrSyntax)
				}
				c.args.next()
				x.HasChunks, x.InvertChunks = true, c.invert
				return parseSCTPChunks(x, c.value, chunks)
			}},
		},
		save: func(w *saver, x *m) {
			for _, p := range []struct {
				on, inv bool
				name    string
				r       filter.PortRange
			}{{x.HasSrc, x.InvertSrc, "sport", x.SrcPorts}, {x.HasDst, x.InvertDst, "dport", x.DstPorts}} {
				if !p.on {
					continue
				}
				v := strconv.Itoa(int(p.r.Min))
				if p.r.Min != p.r.Max {
					v += ":" + strconv.Itoa(int(p.r.Max))
				}
				w.opt(p.inv, p.name, v)
			}
			if x.HasChunks {
				w.opt(x.InvertChunks, "chunk-types", formatSCTPChunks(x))
			}
		},
	})
}

// parseSCTPPorts is parse_sctp_ports.
func parseSCTPPorts(s string) (uint16, uint16, error) {
	a, b, two := strings.Cut(s, ":")
	if !two {
		p, err := parsePort(s, packet.ProtoSCTP)
		return p, p, err
	}
	lo, hi := uint16(0), uint16(0xffff)
	var err error
	if a != "" {
		if lo, err = parsePort(a, packet.ProtoSCTP); err != nil {
			return 0, 0, err
		}
	}
	if b != "" {
		if hi, err = parsePort(b, packet.ProtoSCTP); err != nil {
			return 0, 0, err
		}
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("%w: invalid portrange (min > max)", ErrBadArgument)
	}
	return lo, hi, nil
}

// parseSCTPChunks is parse_sctp_chunks.
func parseSCTPChunks(x *filter.SCTPMatch, kind, chunks string) error {
	switch strings.ToUpper(kind) {
	case "ANY":
		x.ChunkMatch = filter.SCTPChunksAny
	case "ALL":
		x.ChunkMatch = filter.SCTPChunksAll
	case "ONLY":
		x.ChunkMatch = filter.SCTPChunksOnly
	default:
		return fmt.Errorf("%w: Match type has to be one of \"ALL\", \"ANY\" or \"ONLY\"", ErrBadArgument)
	}
	x.Chunks = [4]uint64{}
	switch strings.ToUpper(chunks) {
	case "ALL":
		x.Chunks = [4]uint64{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}
		return nil
	case "NONE":
		return nil
	}
	for _, item := range strings.Split(chunks, ",") {
		if item == "" {
			continue // strtok skips empty tokens
		}
		name, flags, _ := strings.Cut(item, ":")
		idx := -1
		for i, n := range sctpChunkNames {
			if strings.EqualFold(n.name, name) {
				idx = i
				break
			}
		}
		if idx < 0 {
			return fmt.Errorf("%w: Unknown sctp chunk `%s'", ErrBadArgument, name)
		}
		t := sctpChunkNames[idx].typ
		x.Chunks[t>>6] |= 1 << (t & 63)
		for j := 0; j < len(flags); j++ {
			pos := strings.IndexByte(sctpChunkNames[idx].flags, upperASCII(flags[j]))
			if pos < 0 {
				return fmt.Errorf("%w: Invalid flags for chunk type %d", ErrBadArgument, idx)
			}
			bit := uint8(1) << (7 - pos)
			set := flags[j] >= 'A' && flags[j] <= 'Z'
			// libxt_sctp keys the test by the name's index, which is the
			// type for the only chunks that have flags.
			k := -1
			for i, f := range x.FlagTests {
				if f.Chunk == uint8(idx) {
					k = i
				}
			}
			if k < 0 {
				if len(x.FlagTests) == sctpMaxFlagTests {
					return fmt.Errorf("%w: Number of chunk types with flags exceeds currently allowed limit.", ErrBadArgument)
				}
				x.FlagTests = append(x.FlagTests, filter.SCTPFlagTest{Chunk: uint8(idx)})
				k = len(x.FlagTests) - 1
			}
			x.FlagTests[k].Mask |= bit
			if set {
				x.FlagTests[k].Flags |= bit
			}
		}
	}
	return nil
}

func upperASCII(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 32
	}
	return c
}

// formatSCTPChunks is print_chunks for save.
func formatSCTPChunks(x *filter.SCTPMatch) string {
	var b strings.Builder
	b.WriteString([...]string{filter.SCTPChunksAny: "any", filter.SCTPChunksAll: "all", filter.SCTPChunksOnly: "only"}[x.ChunkMatch&7])
	switch x.Chunks {
	case [4]uint64{}:
		return b.String() + " NONE"
	case [4]uint64{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}:
		return b.String() + " ALL"
	}
	first := true
	for t := 0; t < 256; t++ {
		if !x.HasChunk(uint8(t)) {
			continue
		}
		if first {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		first = false
		for _, n := range sctpChunkNames {
			if int(n.typ) == t {
				b.WriteString(n.name)
			}
		}
		for _, f := range x.FlagTests {
			if int(f.Chunk) != t || f.Mask == 0 {
				continue
			}
			b.WriteByte(':')
			for i := 7; i >= 0; i-- {
				if f.Mask&(1<<i) == 0 {
					continue
				}
				letter := sctpChunkNames[t].flags[7-i]
				if f.Flags&(1<<i) == 0 {
					letter += 'a' - 'A'
				}
				b.WriteByte(letter)
			}
		}
	}
	return b.String()
}
