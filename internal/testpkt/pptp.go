package testpkt

import "encoding/binary"

// pptpBodySize is the size of each PPTP control message's body, after
// the 12 bytes of header (RFC 2637 section 2), by message type.
var pptpBodySize = map[uint16]int{
	1: 144, 2: 144, // Start-Control-Connection-Request, -Reply
	3: 4, 4: 4, // Stop-Control-Connection-Request, -Reply
	5: 4, 6: 8, // Echo-Request, -Reply
	7: 156, 8: 20, // Outgoing-Call-Request, -Reply
	9: 208, 10: 12, 11: 16, // Incoming-Call-Request, -Reply, -Connected
	12: 4, 13: 136, // Call-Clear-Request, Call-Disconnect-Notify
	14: 28, 15: 12, // WAN-Error-Notify, Set-Link-Info
}

// PPTPControl is a PPTP control message of type typ (RFC 2637 section
// 2) whose body begins with the 16-bit words words, zero-padded to the
// size of the message type (16 bytes for an unknown type). A result
// code, a byte, goes in the high half of its word.
func PPTPControl(typ uint16, words ...uint16) []byte {
	size, ok := pptpBodySize[typ]
	if !ok {
		size = 16
	}
	b := make([]byte, 12+size)
	binary.BigEndian.PutUint16(b[0:], uint16(len(b)))
	binary.BigEndian.PutUint16(b[2:], 1) // a control message
	binary.BigEndian.PutUint32(b[4:], 0x1a2b3c4d)
	binary.BigEndian.PutUint16(b[8:], typ)
	for i, w := range words {
		binary.BigEndian.PutUint16(b[12+2*i:], w)
	}
	return b
}

// PPTPCallID returns the 16-bit word at offset off of a PPTP control
// message's body (0 for the body's first).
func PPTPCallID(msg []byte, off int) uint16 {
	if len(msg) < 12+off+2 {
		return 0
	}
	return binary.BigEndian.Uint16(msg[12+off:])
}
