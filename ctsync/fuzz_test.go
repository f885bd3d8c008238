package ctsync

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeConn feeds arbitrary datagrams to the decoder, seeded with
// the messages captured from conntrackd. A message is either refused
// with ErrMalformed or decodes to a connection that encodes and decodes
// again to the same connection.
func FuzzDecodeConn(f *testing.F) {
	for _, m := range goldens(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			h, err := ParseHeader(b)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("header error %v is not ErrMalformed", err)
				}
				return
			}
			msg := b[:h.Len]
			b = b[h.Len:]
			if h.Type > TypeDelete {
				continue
			}
			_, c, err := DecodeConn(msg)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v is not ErrMalformed", err)
				}
				continue
			}
			again := AppendConn(nil, h.Type, h.Flags, h.Seq, &c, Latest)
			_, c2, err := DecodeConn(again)
			if err != nil {
				t.Fatalf("re-encoded message refused: %v\n% x", err, again)
			}
			if third := AppendConn(nil, h.Type, h.Flags, h.Seq, &c2, Latest); !bytes.Equal(third, again) {
				t.Fatalf("encoding is not stable:\n% x\n% x", again, third)
			}
		}
	})
}
