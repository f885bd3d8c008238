package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckPrintsEveryErrorAsFileLine(t *testing.T) {
	path := writeFile(t, "bad.rules", `*filter
:INPUT ACCEPT [0:0]
-A INPUT -p tcpx -j ACCEPT
-A INPUT -j missing
-A INPUT -s 10.0.0.0/33 -j DROP
COMMIT
`)
	code, out, _ := runCLI(t, "check", "--rules", path)
	if code != 1 {
		t.Errorf("exit code: got %d, want 1", code)
	}
	for _, want := range []string{path + ":3: ", path + ":4: ", path + ":5: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 3 {
		t.Errorf("got %d lines, want 3:\n%s", n, out)
	}
}

func TestCheckReportsValidationErrorsWithLines(t *testing.T) {
	path := writeFile(t, "loop.rules", `*filter
:a - [0:0]
:b - [0:0]
-A INPUT -j a
-A a -j b
-A b -j a
COMMIT
`)
	code, out, _ := runCLI(t, "check", "--rules", path)
	if code != 1 || !strings.Contains(out, path+":6: filter b: chain loop") {
		t.Errorf("got exit %d and:\n%s\nwant the loop reported at line 6", code, out)
	}
}

func TestCheckAcceptsAGoodRuleset(t *testing.T) {
	code, out, errOut := runCLI(t, "check", "--rules", "example/example.rules", "--rules6", "example/example.rules6")
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	if !strings.Contains(out, "example/example.rules: OK,") || !strings.Contains(out, "example/example.rules6: OK,") {
		t.Errorf("got:\n%s", out)
	}
}

// nfgo check says whether --flow-offload could offload under the rules,
// and if not, which rule stands in the way.
func TestCheckSaysWhetherTheRulesAllowOffload(t *testing.T) {
	const head = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
	for _, tt := range []struct{ rules, want string }{
		{head + "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
			"flow offload: allowed"},
		{head + "-A FORWARD -p tcp --dport 22 -j DROP\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n",
			"flow offload: not allowed: filter FORWARD rule 1: established packets may or may not match it"},
	} {
		path := writeFile(t, "r.rules", tt.rules)
		code, out, errOut := runCLI(t, "check", "--rules", path)
		if code != 0 || !strings.Contains(out, path+": "+tt.want) {
			t.Errorf("exit %d, output:\n%s%s\nwant %q", code, out, errOut, tt.want)
		}
	}
}

func TestSavePrintsCanonicalForm(t *testing.T) {
	path := writeFile(t, "r.rules", "*filter\n:INPUT DROP [3:120]\n-A INPUT -s 10.1.2.3/8 -p udp -j ACCEPT\nCOMMIT\n")
	code, out, errOut := runCLI(t, "save", "--rules", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "*filter\n:INPUT DROP [3:120]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 10.0.0.0/8 -p udp -j ACCEPT\nCOMMIT\n"
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	_, out, _ = runCLI(t, "save", "-c", "--rules", path)
	if !strings.Contains(out, "[0:0] -A INPUT") {
		t.Errorf("--counters: got:\n%s", out)
	}
}

func TestReplayRunsTheEmbeddedExample(t *testing.T) {
	code, out, errOut := runCLI(t, "replay")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"17 packets:", "top rules:", "REJECT", "ssh-in", "ESTABLISHED (reply)", "RELATED (reply)", "INVALID"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestReplayJSONHasTheFieldsUsersRelyOn(t *testing.T) {
	recs := replayJSON(t, "--rules", "example/example.rules", "--rules6", "example/example.rules6",
		"--local", exampleLocal, "--trace", writeExamplePcap(t))
	if len(recs) != 17 {
		t.Fatalf("got %d records, want 17", len(recs))
	}
	want := []struct {
		verdict, target, chain string
		ctstate, ctdir         string
	}{
		{"ACCEPT", "ACCEPT", "ssh-in", "NEW", "original"},          // SSH from the admin net, marked in mangle
		{"DROP", "DROP", "ssh-in", "NEW", "original"},              // SSH from elsewhere
		{"DROP", "REJECT", "INPUT", "NEW", "original"},             // telnet: tcp-reset
		{"ACCEPT", "ACCEPT", "INPUT", "NEW", "original"},           // ping
		{"ACCEPT", "ACCEPT", "INPUT", "NEW", "original"},           // DNS
		{"DROP", "DROP", "INPUT", "NEW", "original"},               // SNMP: LOG, then the policy
		{"ACCEPT", "ACCEPT", "FORWARD", "NEW", "original"},         // HTTPS through
		{"DROP", "DROP", "FORWARD", "NEW", "original"},             // SMTP through: policy
		{"ACCEPT", "ACCEPT", "FORWARD", "NEW", "original"},         // NTP from the LAN
		{"DROP", "REJECT", "FORWARD", "NEW", "original"},           // other UDP through
		{"ACCEPT", "ACCEPT", "INPUT", "NEW", "original"},           // ICMPv6 echo to the router
		{"ACCEPT", "ACCEPT", "FORWARD", "NEW", "original"},         // IPv6 HTTPS through
		{"DROP", "REJECT", "FORWARD", "NEW", "original"},           // IPv6 HTTP through: tcp-reset
		{"ACCEPT", "ACCEPT", "FORWARD", "ESTABLISHED", "reply"},    // the HTTPS server's SYN/ACK
		{"ACCEPT", "ACCEPT", "FORWARD", "ESTABLISHED", "original"}, // the client's ACK
		{"ACCEPT", "ACCEPT", "FORWARD", "RELATED", "reply"},        // port unreachable about the NTP flow
		{"DROP", "DROP", "INPUT", "INVALID", ""},                   // a SYN/ACK that belongs to nothing
	}
	for i, w := range want {
		r := recs[i]
		if r.Index != i || r.Verdict != w.verdict || r.Target != w.target || r.Chain != w.chain {
			t.Errorf("packet %d: got %d %s %s %s (%s), want %s %s %s", i, r.Index, r.Verdict, r.Target, r.Chain, r.Reason, w.verdict, w.target, w.chain)
		}
		if len(r.Trace) == 0 {
			t.Errorf("packet %d: --trace gave no trace", i)
		}
		if r.CTState != w.ctstate || r.CTDir != w.ctdir {
			t.Errorf("packet %d: ctstate %q %q, want %q %q", i, r.CTState, r.CTDir, w.ctstate, w.ctdir)
		}
	}
	if recs[2].Response == "" || recs[9].Response == "" {
		t.Error("REJECT verdicts carry no response packet")
	}
	if recs[5].Logs == nil || !strings.Contains(recs[5].Logs[0], "INPUT drop: IN=eth0") {
		t.Errorf("LOG line: got %q", recs[5].Logs)
	}
	if recs[0].Rule != "-A ssh-in -s 203.0.113.0/24 -m mark --mark 0x22 -j ACCEPT" {
		t.Errorf("rule text: got %q", recs[0].Rule)
	}
}

func writeExamplePcap(t *testing.T) string {
	return writeFile(t, "example.pcap", string(examplePcap))
}

func TestReplayConntrackPrintsTheTable(t *testing.T) {
	code, out, errOut := runCLI(t, "replay", "--conntrack", "--rules", "example/example.rules", "--rules6", "example/example.rules6",
		"--local", exampleLocal, writeExamplePcap(t))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The accepted packets' connections are in the table, the dropped
	// ones' are not (an unconfirmed entry leaves no trace).
	for _, want := range []string{
		"udp      17 29 src=10.0.0.5 dst=192.0.2.1 sport=40000 dport=53 packets=1 bytes=32 [UNREPLIED] src=192.0.2.1 dst=10.0.0.5 sport=53 dport=40000 packets=0 bytes=0 mark=0 use=1",
		"tcp      6 431999 ESTABLISHED src=10.0.0.5 dst=198.51.100.80 sport=41000 dport=443 packets=2 bytes=80 src=198.51.100.80 dst=10.0.0.5 sport=443 dport=41000 packets=1 bytes=40 [ASSURED] mark=0 use=1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "sport=40001 dport=161") {
		t.Errorf("a dropped packet's connection is in the table:\n%s", out)
	}
	if !strings.Contains(errOut, "flow entries have been shown") {
		t.Errorf("stderr: %q", errOut)
	}
}

func TestUnknownCommandAndBadFlagsExit2(t *testing.T) {
	if code, _, _ := runCLI(t, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "check"); code != 2 {
		t.Errorf("check without --rules: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "replay", "--route", "nonsense", "x.pcap"); code != 2 {
		t.Errorf("bad --route: exit %d, want 2", code)
	}
}

func TestCheckAcceptsStatefulRulesAndFlagsWhatCannotMatch(t *testing.T) {
	path := writeFile(t, "ct.rules", `*filter
:INPUT DROP [0:0]
-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -m connlimit --connlimit-above 3 -j DROP
COMMIT
`)
	code, out, _ := runCLI(t, "check", "--rules", path)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	want := path + ": note: line 4: filter INPUT rule 2 uses connlimit"
	if !strings.Contains(out, want) || strings.Contains(out, "line 3") {
		t.Errorf("got:\n%s\nwant a note for line 4 only", out)
	}
}

func TestReplayEventsShowConntrackE(t *testing.T) {
	recs := replayJSON(t, "--events", "--rules", "example/example.rules", "--rules6", "example/example.rules6",
		"--local", exampleLocal, writeExamplePcap(t))
	// The HTTPS connection: NEW when its SYN is accepted, UPDATE to
	// SYN_RECV on the answer, then ESTABLISHED and ASSURED.
	wants := map[int]string{
		6:  "[NEW] tcp      6 120 SYN_SENT src=10.0.0.5 dst=198.51.100.80 sport=41000 dport=443 [UNREPLIED]",
		13: "[UPDATE] tcp      6 60 SYN_RECV src=10.0.0.5 dst=198.51.100.80 sport=41000 dport=443",
		14: "[UPDATE] tcp      6 432000 ESTABLISHED src=10.0.0.5 dst=198.51.100.80 sport=41000 dport=443",
	}
	for i, want := range wants {
		if len(recs[i].Events) != 1 || !strings.HasPrefix(recs[i].Events[0], want) {
			t.Errorf("packet %d events: got %q, want one starting %q", i, recs[i].Events, want)
		}
	}
	// A dropped packet's connection is never confirmed: no event.
	if len(recs[1].Events) != 0 {
		t.Errorf("dropped packet 1 has events %q", recs[1].Events)
	}
}

func TestRunRefusesBadInvocations(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.rules")
	os.WriteFile(bad, []byte("*filter\n-A INPUT -j ACCEPT\n-A INPUT -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n"), 0o644)
	for _, c := range []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"run"}, 2, "--rules FILE or --rules6 FILE is required"},
		{[]string{"run", "--rules", bad, "--queue", "3:1"}, 2, "not a range"},
		{[]string{"run", "--rules", bad, "--mode", "sideways"}, 2, "want hook, path or each-hook"},
		{[]string{"run", "--rules", bad, "--flow-offload"}, 2, "--flow-offload needs --mode path"},
		{[]string{"run", "--rules", bad, "--control", ""}, 1, bad + ":3:"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.inStderr) {
			t.Errorf("nfgo %v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, stderr, c.code, c.inStderr)
		}
	}
}

func TestParseQueues(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
	}{{"0", "[0]"}, {"2:5", "[2 3 4 5]"}, {"7:7", "[7]"}} {
		got, err := parseQueues(c.in)
		if err != nil || fmt.Sprint(got) != c.want {
			t.Errorf("parseQueues(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "x", "5:2", "70000", "1:x"} {
		if _, err := parseQueues(in); err == nil {
			t.Errorf("parseQueues(%q) succeeded", in)
		}
	}
}

func TestTraceFollowsPacketsThroughTheRules(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "r.rules")
	os.WriteFile(rules, []byte(`*nat
-A PREROUTING -d 192.0.2.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.80:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -p tcp -m tcp --dport 80 -j ACCEPT
COMMIT
`), 0o644)
	code, out, stderr := runCLI(t, "trace", "--rules", rules, "--local", "192.0.2.1/24", "--route", "10.0.0.0/24=eth2",
		"198.51.100.7:40000 > 192.0.2.1:23 tcp S",
		"198.51.100.7:40001 > 192.0.2.1:8080 tcp S",
		"10.0.0.80:80 > 198.51.100.7:40001 tcp SA seq=5 ack=1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"filter INPUT rule 1: -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n  filter INPUT: policy DROP",
		"verdict: DROP by policy of filter INPUT",
		"nat PREROUTING rule 1: -A PREROUTING -d 192.0.2.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.80:80  => match",
		"leaves to eth2 as 198.51.100.7:40001 > 10.0.0.80:80 tcp S (rewritten)",
		"conntrack: ESTABLISHED reply",
		"leaves to eth1 as 192.0.2.1:8080 > 198.51.100.7:40001 tcp SA (rewritten)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q:\n%s", want, out)
		}
	}
	if code, _, stderr := runCLI(t, "trace", "--rules", rules, "10.0.0.1 > nowhere tcp S"); code != 1 || !strings.Contains(stderr, "bad endpoint") {
		t.Errorf("a bad packet line: exit %d, %q", code, stderr)
	}
}

func TestCheckFindsTheSetsRulesName(t *testing.T) {
	rules := writeFile(t, "set.rules", `*filter
:INPUT ACCEPT [0:0]
-A INPUT -m set --match-set blocked src -j DROP
-A INPUT -m set --match-set nosuch src -j DROP
-A INPUT -j SET --add-set blocked6 src
COMMIT
`)
	sets := writeFile(t, "sets", "create blocked hash:net family inet\nadd blocked 10.0.0.0/8\ncreate blocked6 hash:ip family inet6\n")
	code, out, _ := runCLI(t, "check", "--rules", rules, "--ipsets", sets)
	if code != 1 {
		t.Errorf("exit code: got %d, want 1", code)
	}
	for _, want := range []string{
		rules + ":4: filter INPUT: set: Set nosuch doesn't exist.",
		rules + ":5: filter INPUT: SET: The protocol family of set blocked6 is IPv6, which is not applicable.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, ":3:") {
		t.Errorf("the rule naming an existing set was refused:\n%s", out)
	}
	// Without --ipsets, every set is missing.
	if code, out, _ := runCLI(t, "check", "--rules", rules); code != 1 || !strings.Contains(out, rules+":3: filter INPUT: set: Set blocked doesn't exist.") {
		t.Errorf("without --ipsets: exit %d:\n%s", code, out)
	}
	bad := writeFile(t, "bad.sets", "create a hash:ip\nadd a 1.2.3.400\n")
	if code, _, errOut := runCLI(t, "check", "--rules", rules, "--ipsets", bad); code != 1 || !strings.Contains(errOut, bad+":2: Syntax error: cannot parse 1.2.3.400: resolving to IPv4 address failed") {
		t.Errorf("a bad set file: exit %d, stderr:\n%s", code, errOut)
	}
}

// TestRunRefusesABadSyncConfig: nfgo run --sync reads conntrackd.conf
// before anything else, prints its notes and refuses a file conntrackd
// refuses, or one asking for what nfgo cannot do, as FILE:LINE: reason.
func TestRunRefusesABadSyncConfig(t *testing.T) {
	rules := writeFile(t, "ok.rules", "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n")
	for _, c := range []struct {
		name, conf string
		line       int
		want       string
	}{
		{"syntax", "Sync {\n\tMode FTFW {\n\t}\n\tUDP {\n\t\tPort\n\t}\n}\n", 6, "syntax error"},
		{"ALARM", "Sync {\n\tMode ALARM {\n\t}\n\tUDP {\n\t\tIPv4_address 10.0.0.1\n\t\tIPv4_Destination_Address 10.0.0.2\n\t\tInterface eth1\n\t}\n}\nGeneral {\n\tLockFile /run/x.lock\n\tUNIX {\n\t\tPath /run/x.ctl\n\t}\n}\n", 2, "ALARM"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf := writeFile(t, "conntrackd.conf", c.conf)
			code, out, errs := runCLI(t, "run", "--rules", rules, "--mode", "path", "--sync", conf)
			if code != 1 {
				t.Errorf("exit code %d, want 1 (%s%s)", code, out, errs)
			}
			if prefix := fmt.Sprintf("%s:%d: ", conf, c.line); !strings.Contains(out+errs, prefix) || !strings.Contains(out+errs, c.want) {
				t.Errorf("output lacks %q and %q:\n%s%s", prefix, c.want, out, errs)
			}
		})
	}
}
