# connmark match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-m connmark --mark 1;-m connmark --mark 0x1;OK
-m connmark --mark 0x1/0xff;=;OK
-m connmark ! --mark 1;-m connmark ! --mark 0x1;OK
-m connmark ! --mark 0x10/0xf0;=;OK
-m connmark --mark 0xffffffff;=;OK
-m connmark --mark 0x100000000;;FAIL
-m connmark --mark foo;;FAIL
-m connmark;;FAIL
-m connmark --mark 5/0;-m connmark --mark 0x5/0x0;OK
# rules combining several matches, in several tables
@family 46
*filter
:INPUT
-m connmark --mark 0x2/0xff -m helper --helper ftp -j ACCEPT;=;OK
