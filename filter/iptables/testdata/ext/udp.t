# udp match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
-p udp --dport 80;-p udp -m udp --dport 80;OK
-p udp --destination-port 80;-p udp -m udp --dport 80;OK
-p udp --sport 80;-p udp -m udp --sport 80;OK
-p udp --source-port 80;-p udp -m udp --sport 80;OK
-p udp -m udp --sport 1:1024;=;OK
-p udp -m udp --sport 1024:;-p udp -m udp --sport 1024:65535;OK
-p udp -m udp --sport :1024;-p udp -m udp --sport 0:1024;OK
-p udp -m udp --sport 0:65535;-p udp -m udp;OK
-p udp -m udp --sport 0:;-p udp -m udp;OK
-p udp -m udp --sport :;-p udp -m udp;OK
-p udp -m udp --dport 1024:1;=;OK
-p udp -m udp --dport 80:80;-p udp -m udp --dport 80;OK
-p udp -m udp ! --dport 80;=;OK
-p udp -m udp ! --sport 1:1024;=;OK
-p udp -m udp --sport 0;=;OK
-p udp -m udp --dport 65535;=;OK
-p udp -m udp --dport 65536;-p udp -m udp --dport 0;OK
-p udp -m udp --dport -1;;FAIL
-p udp -m udp --dport http;-p udp -m udp --dport 80;OK
-p udp -m udp --dport ssh;-p udp -m udp --dport 22;OK
-p udp -m udp --dport https;-p udp -m udp --dport 443;OK
-p udp -m udp --dport ftp:ssh;-p udp -m udp --dport 21:22;OK
-p udp -m udp --dport nosuchservice;;FAIL
-p udp -m udp --dport 80 --sport 1024:65535;-p udp -m udp --sport 1024:65535 --dport 80;OK
-p udp -m udp --sport 1024:65535 --dport 80;=;OK
-p udp -m udp --dport 80 --dport 81;;FAIL
-p udp -m udp --dport;;FAIL
-p udp -m udp --dport 0x50;;FAIL
-p udp -m udp --dport 080;-p udp -m udp --dport 80;OK
-p udp -m udp --dport 80,81;;FAIL
-p udp --dport 22 -j ACCEPT;-p udp -m udp --dport 22 -j ACCEPT;OK
-m udp --dport 22;;FAIL
-p 6 -m udp --dport 22;;FAIL
-p udp -m udp;=;OK
-p udp -m udp --dport 00080;-p udp -m udp --dport 80;OK
-p udp -m udp --dport 80:;-p udp -m udp --dport 80:65535;OK
-p udp -m udp --dport :80;-p udp -m udp --dport 0:80;OK
-p udp -m udp --dport 1:65534;=;OK
-p udp -m udp --dport domain;-p udp -m udp --dport 53;OK
-p udp -m udp --dport smtp;-p udp -m udp --dport 25;OK
-p udp -m udp --dport telnet;-p udp -m udp --dport 23;OK
-p udp -m udp --dport ntp;-p udp -m udp --dport 123;OK
-p udp -m udp --dport www;-p udp -m udp --dport 80;OK
-p tcp -m udp --dport 53;;FAIL
-p udp -m udp --dport 53;=;OK
-p udplite -m udp --dport 53;;FAIL
-p udp --dport 53 --sport 67:68;-p udp -m udp --sport 67:68 --dport 53;OK
-p udp -m udp --dport 53 --tcp-flags SYN SYN;;FAIL
-p udp -m udp --dport 70000;-p udp -m udp --dport 4464;OK
-p udp -m udp --dport 4294967296;-p udp -m udp --dport 0;OK
-p udp -m udp --dport 4294967295;;FAIL
-p udp -m udp --dport 65535:65536;-p udp -m udp --dport 65535:0;OK
-p udp -m udp --dport 1:2:3;;FAIL
-p udp -m udp --dport +5;-p udp -m udp --dport 5;OK
-p udp -m udp --dport " 5";-p udp -m udp --dport 5;OK
-p udp -m udp --dport 5x;;FAIL
-p udp -m udp --dport http:80;-p udp -m udp --dport 80;OK
# rules combining several matches, in several tables
@family 46
*raw
:PREROUTING,OUTPUT
-p udp -m udp --dport 53 -j ACCEPT;=;OK
# iptables-nft reads its payload expressions back as one udp match, at the
# first one's place, each port as the last match set it.
-p udp -m udp --sport 67 -m udp --dport 68;-p udp -m udp --sport 67 --dport 68;OK
-p udp -m udp ! --sport 67 -m udp --dport 68;-p udp -m udp ! --sport 67 --dport 68;OK
-p udp -m udp --sport 1 -m udp --sport 2;-p udp -m udp --sport 2;OK
-p udp -m mark --mark 1 -m udp --dport 5 -m udp --sport 6;-p udp -m mark --mark 0x1 -m udp --sport 6 --dport 5;OK
-p udp -m udp -m udp --dport 4;=;OK
