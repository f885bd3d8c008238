package iptables

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nfgo/nfgo/filter"
)

func TestParseOSFingerprints(t *testing.T) {
	mss := filter.OSFOption{Kind: 2, Length: 4}
	nop := filter.OSFOption{Kind: 1, Length: 1}
	for _, tt := range []struct {
		name, line string
		want       filter.OSFingerprint
	}{
		{"MSS window, blanks after the colons", "S4:64:1:60:M*,S,T,N,W7:\t\tLinux:2.6:.1-7:Linux 2.6 (newer)",
			filter.OSFingerprint{WindowKind: filter.OSFWindowMSS, Window: 4, TTL: 64, DF: 1, Size: 60,
				Options: []filter.OSFOption{mss, {Kind: 4, Length: 2}, {Kind: 8, Length: 10}, nop, {Kind: 3, Length: 3, Value: 7}},
				Genre:   "Linux", Version: "2.6", Subtype: ".1-7"}},
		{"plain window, MSS value kept", "16384:64:0:44:M512:AIX:4.3:2-3:AIX",
			filter.OSFingerprint{Window: 16384, TTL: 64, Size: 44, Options: []filter.OSFOption{{Kind: 2, Length: 4, Value: 512}}, Genre: "AIX", Version: "4.3", Subtype: "2-3"}},
		{"modulo window, W% and M% wildcards", "%8192:64:1:60:M%8,N,W%2:Other:x::",
			filter.OSFingerprint{WindowKind: filter.OSFWindowModulo, Window: 8192, TTL: 64, DF: 1, Size: 60,
				Options: []filter.OSFOption{{Kind: 2, Length: 4, Wildcard: filter.OSFWindowModulo, Value: 8}, nop, {Kind: 3, Length: 3, Wildcard: filter.OSFWindowModulo, Value: 2}},
				Genre:   "Other", Version: "x"}},
		{"MTU window, S* any", "T*:128:1:48:M*,WS3,WT1:Win:7::",
			filter.OSFingerprint{WindowKind: filter.OSFWindowMTU, TTL: 128, DF: 1, Size: 48,
				Options: []filter.OSFOption{mss, {Kind: 3, Length: 3, Wildcard: filter.OSFWindowMSS, Value: 3}, {Kind: 3, Length: 3, Wildcard: filter.OSFWindowMTU, Value: 1}},
				Genre:   "Win", Version: "7"}},
		{"any window, @ and * before the genre dropped, unknown letters skipped", "*:255:0:44:M*,x,,Q:@Scan:any::",
			filter.OSFingerprint{TTL: 255, Size: 44, Options: []filter.OSFOption{mss}, Genre: "Scan", Version: "any"}},
		{"no options, end of list", "512:64:0:41:E:*Odd:1::",
			filter.OSFingerprint{Window: 512, TTL: 64, Size: 41, Options: []filter.OSFOption{{Kind: 0, Length: 1}}, Genre: "Odd", Version: "1"}},
		{"names cut to 31 bytes", "0:64:0:40:.:" + strings.Repeat("g", 40) + ":" + strings.Repeat("v", 32) + ":s:",
			filter.OSFingerprint{TTL: 64, Size: 40, Genre: strings.Repeat("g", 31), Version: strings.Repeat("v", 31), Subtype: "s"}},
	} {
		got, err := ParseOSFingerprints(strings.NewReader(tt.line + "\n"))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

// TestParseOSFingerprintsRefuses gives lines nfnl_osf or the kernel
// refuses: the error names each line.
func TestParseOSFingerprintsRefuses(t *testing.T) {
	file := strings.Join([]string{
		"# a comment",
		"S4:64:1:60:M*,S,T,N,W7:Linux:2.6::ok",
		"",
		"S4:64:1:60:M*:Linux:2.6:only seven colons",
		"%0:64:1:40::Zero:1::modulo of zero",
		"0:64:1:80:T,T,T,T,T:Long:1::fifty bytes of options",
		"S4:64:1:60:M*:Linux:2.6:a:b:nine colons",
	}, "\n") + "\n"
	_, err := ParseOSFingerprints(strings.NewReader(file))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"line 4: wrong input line", "cnt: 7, must be 8", "line 5:", "line 6:", "line 7:", "cnt: 9"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "line 2:") {
		t.Errorf("a good line refused: %v", err)
	}
	if !errors.Is(err, filter.ErrOSFInvalid) || !errors.Is(err, ErrOSFLine) {
		t.Errorf("%v: want ErrOSFInvalid and ErrOSFLine among the errors", err)
	}
}

// TestParseOSFingerprintsLastLine: as nfnl_osf, the last byte of a line
// is taken for its newline, so a last line without one loses a byte.
func TestParseOSFingerprintsLastLine(t *testing.T) {
	got, err := ParseOSFingerprints(strings.NewReader("0:64:1:40::A:1:sub:desc"))
	if err != nil || len(got) != 1 || got[0].Subtype != "sub" {
		t.Errorf("got %+v, %v; want the subtype intact (the description lost a byte)", got, err)
	}
	if _, err := ParseOSFingerprints(strings.NewReader("0:64:1:40::A:1:sub:")); !errors.Is(err, ErrOSFLine) {
		t.Errorf("a last line ending in its eighth colon, without a newline: %v, want it one colon short", err)
	}
}

// TestParseOSFingerprintFiles reads nfgo's test fingerprints, and
// iptables' own pf.os when its source is at hand ($NFGO_IPTABLES_T's
// sibling utils/), every line of which nfnl_osf loads.
func TestParseOSFingerprintFiles(t *testing.T) {
	paths := []string{"testdata/osf/fingerprints.os"}
	if dir := os.Getenv("NFGO_IPTABLES_T"); dir != "" {
		paths = append(paths, filepath.Join(dir, "..", "utils", "pf.os"))
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Logf("%s: %v", path, err)
			continue
		}
		lines := 0
		for l := range strings.SplitSeq(string(data), "\n") {
			if l != "" && l[0] != '#' && l[0] != '\r' {
				lines++
			}
		}
		tab, err := LoadOSFingerprints(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		list := tab.List()
		if len(list) == 0 || len(list) > lines {
			t.Errorf("%s: %d fingerprints from %d lines", path, len(list), lines)
		}
		t.Logf("%s: %d fingerprints from %d lines", path, len(list), lines)
	}
}

func FuzzParseOSFingerprints(f *testing.F) {
	if data, err := os.ReadFile("testdata/osf/fingerprints.os"); err == nil {
		f.Add(string(data))
	}
	f.Add("S4:64:1:60:M*,S,T,N,W7:\tLinux:2.6::x\n")
	f.Add("%0:1:1:1:W%,M%,WS,WT,E,N,S,T:@:::\n")
	f.Add("::::::::\n")
	f.Fuzz(func(t *testing.T, s string) {
		list, err := ParseOSFingerprints(strings.NewReader(s))
		if err != nil {
			return
		}
		var tab filter.OSFingerprints
		for _, fp := range list {
			if err := tab.Add(fp); err != nil {
				t.Fatalf("a parsed fingerprint is refused: %+v: %v", fp, err)
			}
		}
	})
}
