# mark match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-m mark --mark 1;-m mark --mark 0x1;OK
-m mark --mark 0x1;=;OK
-m mark ! --mark 1;-m mark ! --mark 0x1;OK
-m mark --mark 0xff/0xff;=;OK
-m mark --mark 1/0xffffffff;-m mark --mark 0x1;OK
-m mark --mark 0/0;-m mark --mark 0x0/0x0;OK
-m mark --mark 0x10/0xf0;=;OK
-m mark --mark 1/2;-m mark --mark 0x1/0x2;OK
-m mark --mark 255/255;-m mark --mark 0xff/0xff;OK
-m mark ! --mark 0x1/0x1;=;OK
-m mark --mark 0xffffffff;=;OK
-m mark --mark 0x100000000;;FAIL
-m mark --mark 4294967295;-m mark --mark 0xffffffff;OK
-m mark --mark 4294967296;;FAIL
-m mark --mark -1;;FAIL
-m mark --mark foo;;FAIL
-m mark --mark 1/;;FAIL
-m mark --mark /1;;FAIL
-m mark --mark 010;-m mark --mark 0x8;OK
-m mark --mark 1/foo;;FAIL
-m mark;;FAIL
-m mark --mark 1 --mark 2;;FAIL
-m mark --mark 0;-m mark --mark 0x0;OK
# rules combining several matches, in several tables
@family 46
*mangle
:PREROUTING,POSTROUTING
-m mark --mark 0x10 -j RETURN;=;OK
