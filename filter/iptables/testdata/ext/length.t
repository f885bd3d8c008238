# length match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-m length --length 1;=;OK
-m length --length 1:100;=;OK
-m length ! --length 1:100;=;OK
-m length ! --length 40;=;OK
-m length --length 100:1;=;OK
-m length --length :100;-m length --length 0:100;OK
-m length --length 100:;-m length --length 100:65535;OK
-m length --length 0:65535;=;OK
-m length --length 65535;=;OK
-m length --length 65536;;FAIL
-m length --length 0x10;-m length --length 16;OK
-m length --length 010;-m length --length 8;OK
-m length --length foo;;FAIL
-m length --length 1:2:3;;FAIL
-m length --length -1;;FAIL
-m length;;FAIL
-m length --length 5:5;-m length --length 5;OK
# rules combining several matches, in several tables
@family 46
*filter
:INPUT
-p udp -m udp --dport 53 -m length --length 0:512 -m mark ! --mark 0x1/0x1 -j ACCEPT;=;OK
@family 46
*mangle
:PREROUTING,POSTROUTING
-m length --length 1400:65535 -j ACCEPT;=;OK
