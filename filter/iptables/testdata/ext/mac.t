# mac match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
:INPUT,FORWARD
-m mac --mac-source 00:11:22:aa:BB:cc;-m mac --mac-source 00:11:22:aa:bb:cc;OK
-m mac ! --mac-source 00:11:22:33:44:55;=;OK
-m mac --mac-source 0:1:2:3:4:5;-m mac --mac-source 00:01:02:03:04:05;OK
-m mac --mac-source 00:11:22:33:44;;FAIL
-m mac --mac-source 00:11:22:33:44:55:66;;FAIL
-m mac --mac-source 001122334455;;FAIL
-m mac --mac-source 00-11-22-33-44-55;;FAIL
-m mac --mac-source 0g:11:22:33:44:55;;FAIL
-m mac --mac-source 000:11:22:33:44:55;;FAIL
-m mac --mac-source 00:11:22:33:44:55 --mac-source 00:11:22:33:44:56;;FAIL
-m mac;;FAIL
:OUTPUT
-m mac --mac-source 00:11:22:33:44:55;;FAIL
