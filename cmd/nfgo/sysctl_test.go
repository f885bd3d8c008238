package main

import (
	"strings"
	"testing"
)

// --sysctl takes the kernel's names with 0 or 1, and says what it
// accepts when it is given anything else.
func TestSysctlFlag(t *testing.T) {
	for _, tt := range []struct {
		arg              string
		noLoose, liberal bool
		err              string
	}{
		{"net.netfilter.nf_conntrack_tcp_loose=0", true, false, ""},
		{"net/netfilter/nf_conntrack_tcp_loose=1", false, false, ""},
		{"net.netfilter.nf_conntrack_tcp_be_liberal=1", false, true, ""},
		{"net.netfilter.nf_conntrack_tcp_loose=2", false, false, `value "2": want 0 or 1`},
		{"net.netfilter.nf_conntrack_max=10", false, false, "NAME one of net.netfilter.nf_conntrack_tcp_be_liberal, net.netfilter.nf_conntrack_tcp_loose"},
		{"net.netfilter.nf_conntrack_tcp_loose", false, false, "want NAME=0 or NAME=1"},
	} {
		var s sysctlFlag
		err := s.Set(tt.arg)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("--sysctl %s: error %v, want one saying %q", tt.arg, err, tt.err)
			}
			continue
		}
		if err != nil || s.tcp.NoLoose != tt.noLoose || s.tcp.BeLiberal != tt.liberal {
			t.Errorf("--sysctl %s: %+v, %v; want NoLoose %v BeLiberal %v", tt.arg, s.tcp, err, tt.noLoose, tt.liberal)
		}
	}
}
