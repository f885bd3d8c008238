package filter

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/packet"
)

// The expected lines below are written from nf_log_syslog.c's
// dump_ipv4_packet / dump_ipv6_packet format strings.

func TestLogLineMatchesKernelFormatTCP(t *testing.T) {
	p := tcp4(t, "10.0.0.1", "10.0.0.2", 40000, 80, packet.TCPSyn, 1000, 0, []byte{2, 4, 0x05, 0xb4}, nil)
	eth := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 8, 0}
	for _, tc := range []struct {
		name   string
		c      Context
		prefix string
		flags  LogFlags
		want   string
	}{
		{"input with MAC", Context{In: "eth0", LinkHeader: eth}, "p: ", 0,
			"p: IN=eth0 OUT= MAC=00:01:02:03:04:05:06:07:08:09:0a:0b:08:00 SRC=10.0.0.1 DST=10.0.0.2 LEN=44 TOS=0x00 PREC=0x00 TTL=64 ID=4660 DF PROTO=TCP SPT=40000 DPT=80 WINDOW=29200 RES=0x00 SYN URGP=0 "},
		{"output has no MAC", Context{Out: "eth1", Mark: 5}, "", LogTCPSeq | LogTCPOpt,
			"IN= OUT=eth1 SRC=10.0.0.1 DST=10.0.0.2 LEN=44 TOS=0x00 PREC=0x00 TTL=64 ID=4660 DF PROTO=TCP SPT=40000 DPT=80 SEQ=1000 ACK=0 WINDOW=29200 RES=0x00 SYN URGP=0 OPT (020405B4) MARK=0x5 "},
		{"macdecode", Context{In: "eth0", Out: "eth1", LinkHeader: eth}, "", LogMACDecode,
			"IN=eth0 OUT=eth1 MACSRC=06:07:08:09:0a:0b MACDST=00:01:02:03:04:05 MACPROTO=0800 SRC=10.0.0.1 DST=10.0.0.2 LEN=44 TOS=0x00 PREC=0x00 TTL=64 ID=4660 DF PROTO=TCP SPT=40000 DPT=80 WINDOW=29200 RES=0x00 SYN URGP=0 "},
	} {
		c := tc.c
		c.Packet = p
		if got := LogLine(&c, tc.prefix, tc.flags); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestLogLineMatchesKernelFormatICMPErrorNestsInnerPacket(t *testing.T) {
	inner := udp4(t, "10.0.0.1", "192.0.2.9", 5353, 53, []byte("query")).Bytes()
	b := make([]byte, 20+8+28)
	b[0] = 0x45
	b[1] = 0xc0
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8] = 63
	b[9] = packet.ProtoICMP
	copy(b[12:], []byte{192, 0, 2, 9})
	copy(b[16:], []byte{10, 0, 0, 1})
	b[20], b[21] = 3, 3
	copy(b[28:], inner[:28])
	var p packet.Packet
	p.Decode(b)
	c := &Context{Packet: &p, In: "eth1", Out: "eth0"}
	want := "IN=eth1 OUT=eth0 MAC= SRC=192.0.2.9 DST=10.0.0.1 LEN=56 TOS=0x00 PREC=0xC0 TTL=63 ID=0 PROTO=ICMP TYPE=3 CODE=3 " +
		"[SRC=10.0.0.1 DST=192.0.2.9 LEN=33 TOS=0x00 PREC=0x00 TTL=64 ID=0 PROTO=UDP SPT=5353 DPT=53 LEN=13 ] "
	if got := LogLine(c, "", 0); got != want {
		t.Errorf("\n got %q\nwant %q", got, want)
	}
}

func TestLogLineMatchesKernelFormatIPv6UDP(t *testing.T) {
	b := make([]byte, 40+8+3)
	b[0], b[1], b[2], b[3] = 0x6b, 0x80, 0x00, 0x05 // TC 0xb8, flow label 5
	binary.BigEndian.PutUint16(b[4:], 11)
	b[6], b[7] = packet.ProtoUDP, 255
	b[8], b[9], b[23] = 0x20, 0x01, 1
	b[24], b[25], b[39] = 0xfe, 0x80, 2
	binary.BigEndian.PutUint16(b[40:], 1)
	binary.BigEndian.PutUint16(b[42:], 2)
	binary.BigEndian.PutUint16(b[44:], 11)
	var p packet.Packet
	p.Decode(b)
	c := &Context{Packet: &p, Out: "eth0"}
	want := "IN= OUT=eth0 SRC=2001:0000:0000:0000:0000:0000:0000:0001 DST=fe80:0000:0000:0000:0000:0000:0000:0002 LEN=51 TC=184 HOPLIMIT=255 FLOWLBL=5 PROTO=UDP SPT=1 DPT=2 LEN=11 "
	if got := LogLine(c, "", 0); got != want {
		t.Errorf("\n got %q\nwant %q", got, want)
	}
}

func TestLogTargetLogsAtMappedLevel(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := &Context{Packet: udp4(t, "10.0.0.1", "10.0.0.2", 1, 2, nil), Logger: l}
	v := (&LogTarget{Prefix: "x ", Level: LogDebug}).Do(c)
	if v.Action != Continue || len(c.Logs()) != 1 || !strings.HasPrefix(c.Logs()[0], "x IN=") {
		t.Fatalf("verdict %v, logs %q", v.Action, c.Logs())
	}
	if out := buf.String(); !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "syslog_level=7") {
		t.Errorf("slog output %q lacks the level", out)
	}
	for level, want := range map[uint8]slog.Level{0: slog.LevelError, 3: slog.LevelError, 4: slog.LevelWarn, 5: slog.LevelInfo, 6: slog.LevelInfo, 7: slog.LevelDebug} {
		if got := SyslogLevel(level); got != want {
			t.Errorf("SyslogLevel(%d) = %v, want %v", level, got, want)
		}
	}
}
