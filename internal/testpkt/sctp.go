package testpkt

import (
	"encoding/binary"
	"hash/crc32"
)

// SCTPChunk is a chunk of an SCTP packet SCTP builds: its type and flags.
type SCTPChunk struct{ Type, Flags uint8 }

// SCTP builds an SCTP packet (to carry with Proto "raw", RawProto 132):
// the common header with verification tag vtag, the chunks, each with a
// plausible body (INIT and INIT ACK with initiate tag itag, DATA with
// dataLen bytes of data), and the CRC32c, corrupted with badsum.
func SCTP(sport, dport uint16, vtag, itag uint32, chunks []SCTPChunk, dataLen int, badsum bool) []byte {
	b := binary.BigEndian.AppendUint16(nil, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint32(b, vtag)
	b = append(b, 0, 0, 0, 0)
	for _, c := range chunks {
		var body []byte
		flags := c.Flags
		switch c.Type {
		case 1, 2: // INIT, INIT ACK: tag, a_rwnd, streams out and in, initial TSN
			body = binary.BigEndian.AppendUint32(body, itag)
			body = binary.BigEndian.AppendUint32(body, 65535)
			body = append(body, 0, 10, 0, 10)
			body = binary.BigEndian.AppendUint32(body, 1)
		case 0: // DATA, a whole message (B and E): TSN, stream, stream sequence, PPID, the data
			flags |= 3
			body = binary.BigEndian.AppendUint32(body, 1)
			body = append(body, 0, 0, 0, 0, 0, 0, 0, 0)
			body = append(body, make([]byte, dataLen)...)
		case 3: // SACK: cumulative TSN, a_rwnd, no gaps or duplicates
			body = binary.BigEndian.AppendUint32(body, 1)
			body = binary.BigEndian.AppendUint32(body, 65535)
			body = append(body, 0, 0, 0, 0)
		case 4, 5: // HEARTBEAT (ACK): a heartbeat info parameter
			body = []byte{0, 1, 0, 8, 1, 2, 3, 4}
		case 10: // COOKIE ECHO: a cookie
			body = []byte{0xc0, 0x0c, 0x1e, 0x55}
		}
		b = append(b, c.Type, flags)
		b = binary.BigEndian.AppendUint16(b, uint16(4+len(body)))
		b = append(b, body...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	crc := crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
	if badsum {
		crc ^= 1
	}
	binary.LittleEndian.PutUint32(b[8:], crc)
	return b
}
