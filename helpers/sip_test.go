package helpers

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// sipMessage builds a SIP message with a correct Content-Length.
func sipMessage(start string, headers []string, sdp string) string {
	var b strings.Builder
	b.WriteString(start + "\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(sdp), sdp)
	return b.String()
}

func sdpBody(addr string, port int) string {
	return "v=0\r\no=alice 2890844526 2890844526 IN IP4 " + addr + "\r\ns=-\r\nc=IN IP4 " + addr + "\r\nt=0 0\r\nm=audio " + itoa(port) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
}

func invite(from, to string, mediaPort int) string {
	return sipMessage("INVITE sip:bob@"+to+" SIP/2.0", []string{
		"Via: SIP/2.0/UDP " + from + ":5060;branch=z9hG4bK776asdhds;rport",
		"Max-Forwards: 70",
		"To: Bob <sip:bob@" + to + ">",
		"From: Alice <sip:alice@" + from + ">;tag=1928301774",
		"Call-ID: a84b4c76e66710@" + from,
		"CSeq: 314159 INVITE",
		"Contact: <sip:alice@" + from + ">",
		"Content-Type: application/sdp",
	}, sdpBody(from, mediaPort))
}

func ok200(from, to string, mediaPort int) string {
	return sipMessage("SIP/2.0 200 OK", []string{
		"Via: SIP/2.0/UDP " + from + ":5060;branch=z9hG4bK776asdhds;received=" + from,
		"To: Bob <sip:bob@" + to + ">;tag=a6c85cf",
		"From: Alice <sip:alice@" + from + ">;tag=1928301774",
		"Call-ID: a84b4c76e66710@" + from,
		"CSeq: 314159 INVITE",
		"Contact: <sip:bob@" + to + ">",
		"Content-Type: application/sdp",
	}, strings.ReplaceAll(sdpBody(to, mediaPort), "alice", "bob"))
}

func sipConn(t *testing.T, public string) *conn {
	sip := New(Config{}).Lookup("sip", packet.IPv4, packet.ProtoUDP)
	c := &conn{}
	*c = *newConnPorts(t, sip, "udp", a("10.0.0.5"), a(public), a("203.0.113.5"), 5060, 5060)
	return c
}

func TestSIPInviteExpectsBothEndsMedia(t *testing.T) {
	c := sipConn(t, "10.0.0.5")
	if v, _ := c.send(conntrack.Original, invite("10.0.0.5", "203.0.113.5", 49170)); v.Drop {
		t.Fatalf("INVITE dropped: %s", v.Reason)
	}
	if v, _ := c.send(conntrack.Reply, ok200("10.0.0.5", "203.0.113.5", 3456)); v.Drop {
		t.Fatalf("200 OK dropped: %s", v.Reason)
	}
	got := strings.Join(c.expected(), "\n")
	for _, want := range []string{
		"proto=17 src=203.0.113.5 dst=10.0.0.5 sport=0 dport=49170 ",
		"proto=17 src=203.0.113.5 dst=10.0.0.5 sport=0 dport=49171 ",
		"proto=17 src=10.0.0.5 dst=203.0.113.5 sport=0 dport=3456 ",
		"proto=17 src=10.0.0.5 dst=203.0.113.5 sport=0 dport=3457 ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no expectation %q in\n%s", want, got)
		}
	}
	if !strings.Contains(got, "class=1 helper=sip") {
		t.Errorf("media expectations are not of the audio class:\n%s", got)
	}
	// BYE takes the media expectations back.
	c.send(conntrack.Original, sipMessage("BYE sip:bob@203.0.113.5 SIP/2.0", []string{"CSeq: 314160 BYE"}, ""))
	if got := c.expected(); len(got) != 0 {
		t.Errorf("after BYE: %q", got)
	}
}

func TestSIPNATRewritesTheInvite(t *testing.T) {
	c := sipConn(t, "198.51.100.7")
	v, p := c.send(conntrack.Original, invite("10.0.0.5", "203.0.113.5", 49170))
	if v.Drop {
		t.Fatalf("INVITE dropped: %s", v.Reason)
	}
	got := string(p.Payload())
	want := invite("198.51.100.7", "203.0.113.5", 49170)
	// The kernel writes a rewritten URI as addr:port.
	want = strings.Replace(want, "Contact: <sip:alice@198.51.100.7>", "Contact: <sip:alice@198.51.100.7:5060>", 1)
	want = strings.Replace(want, "From: Alice <sip:alice@198.51.100.7>", "From: Alice <sip:alice@198.51.100.7:5060>", 1)
	// The Call-ID is not the kernel's business.
	want = strings.Replace(want, "Call-ID: a84b4c76e66710@198.51.100.7", "Call-ID: a84b4c76e66710@10.0.0.5", 1)
	if got != want {
		t.Errorf("the server gets\n%q\nwant\n%q", got, want)
	}
	if !p.L4ChecksumOK() {
		t.Error("bad checksum")
	}
	exps := c.tb.Expectations(t0)
	if len(exps) != 2 {
		t.Fatalf("expectations %v, want RTP and RTCP", exps)
	}
	for _, e := range exps {
		if e.Tuple.DstAddr() != a("198.51.100.7") || e.Fn != ExpectSIP || e.SavedAddr != [16]byte{10, 0, 0, 5} {
			t.Errorf("expectation %+v, want at the public address, saving the private one", e)
		}
	}
}

func TestSIPRegister(t *testing.T) {
	c := sipConn(t, "10.0.0.5")
	reg := sipMessage("REGISTER sip:registrar.example SIP/2.0", []string{
		"Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnashds7",
		"To: Bob <sip:bob@registrar.example>",
		"From: Bob <sip:bob@registrar.example>;tag=456248",
		"Call-ID: 843817637684230@998sdasdh09",
		"CSeq: 1826 REGISTER",
		"Contact: <sip:bob@10.0.0.5>",
		"Expires: 7200",
	}, "")
	if v, _ := c.send(conntrack.Original, reg); v.Drop {
		t.Fatalf("REGISTER dropped: %s", v.Reason)
	}
	exps := c.tb.Expectations(t0)
	if len(exps) != 1 || exps[0].Flags != conntrack.ExpectPermanent|conntrack.ExpectInactive || exps[0].Class != sipSignalling || exps[0].AssignHelper == nil {
		t.Fatalf("after REGISTER: %v, want one inactive permanent signalling expectation", exps)
	}
	okr := sipMessage("SIP/2.0 200 OK", []string{
		"Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnashds7",
		"CSeq: 1826 REGISTER",
		"Contact: <sip:bob@10.0.0.5>;expires=3600",
	}, "")
	if v, _ := c.send(conntrack.Reply, okr); v.Drop {
		t.Fatalf("200 OK dropped: %s", v.Reason)
	}
	exps = c.tb.Expectations(t0)
	if len(exps) != 1 || exps[0].Flags&conntrack.ExpectInactive != 0 || exps[0].Timeout != 3600e9 {
		t.Errorf("after 200 OK: %v, want it active for the 3600 s granted", exps)
	}
}

func TestSIPRefusesMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, msg, reason string
	}{
		{"INVITE without CSeq", sipMessage("INVITE sip:bob@203.0.113.5 SIP/2.0", []string{"Via: SIP/2.0/UDP 10.0.0.5:5060"}, ""), "cannot parse cseq"},
		{"a response without a code", "SIP/2.0 OK\r\nCSeq: 1 INVITE\r\n\r\n", "cannot get code"},
		{"a media port below 1024", invite("10.0.0.5", "203.0.113.5", 80), "wrong port 80"},
		{"media without a connection address", sipMessage("INVITE sip:bob@203.0.113.5 SIP/2.0", []string{"CSeq: 1 INVITE"}, "v=0\r\nm=audio 49170 RTP/AVP 0\r\n"), "cannot parse SDP message"},
	} {
		c := sipConn(t, "10.0.0.5")
		if v, _ := c.send(conntrack.Original, tc.msg); !v.Drop || v.Reason != tc.reason {
			t.Errorf("%s: %+v, want dropped: %s", tc.name, v, tc.reason)
		}
	}
}

func TestIPv6CompressedLikeTheKernel(t *testing.T) {
	for in, want := range map[string]string{
		"2001:db8::1": "2001:db8::1", "::": "::", "::1": "::1", "2001:db8:0:1:0:0:0:1": "2001:db8:0:1::1",
		"2001:0:0:1:0:0:0:1": "2001:0:0:1::1", "::ffff:192.0.2.1": "::ffff:192.0.2.1", "fe80::200:5efe:c000:201": "fe80::200:5efe:192.0.2.1",
		"1:0:2:0:3:0:4:0": "1:0:2:0:3:0:4:0", "a:bc:def:1234::": "a:bc:def:1234::",
	} {
		a := a(in).As16()
		if got := string(appendIPv6Compressed(nil, &a)); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}
