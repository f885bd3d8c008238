# devgroup, realm and cgroup matches: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns.
:INPUT
@family 4
-m devgroup --src-group 1;-m devgroup --src-group 0x1;OK
-m devgroup ! --src-group 0x2/0xf;=;OK
-m devgroup --dst-group 3;;FAIL
-m devgroup --src-group default;=;OK
-m devgroup --src-group 0;-m devgroup --src-group default;OK
-m devgroup --src-group 0/0xff;-m devgroup --src-group 0x0/0xff;OK
-m devgroup --src-group foo;;FAIL
-m devgroup;;FAIL
-m cgroup --cgroup 0x10;-m cgroup --cgroup 16;OK
-m cgroup ! --cgroup 1;=;OK
-m cgroup --path /;-m cgroup --path "/";OK
-m cgroup --path / --cgroup 1;;FAIL
-m realm --realm 1/0xff;-m realm --realm 0x1/0xff;OK
-m realm ! --realm 5;-m realm ! --realm 0x5;OK
-m realm --realm cosmos;=;OK
-m realm --realm 0x10;=;OK
-m realm --realm 0;-m realm --realm cosmos;OK
-m realm --realm 0/0xff;-m realm --realm 0x0/0xff;OK
-m realm --realm 1/0;-m realm --realm 0x1/0x0;OK
-m realm;;FAIL
:FORWARD
-m devgroup --src-group 1 ! --dst-group 0x2/0xf;-m devgroup --src-group 0x1 ! --dst-group 0x2/0xf;OK
:OUTPUT
-m devgroup --src-group 1;;FAIL
