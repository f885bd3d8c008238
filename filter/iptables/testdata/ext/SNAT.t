# SNAT: nat table, POSTROUTING and INPUT.
*nat
:INPUT,POSTROUTING
-j SNAT --to-source 1.2.3.4;=;OK
-j SNAT --to 1.2.3.4;-j SNAT --to-source 1.2.3.4;OK
-j SNAT --to-source 1.2.3.4-1.2.3.10;=;OK
-j SNAT --to-source 1.2.3.10-1.2.3.4;=;OK
-p tcp -j SNAT --to-source 1.2.3.4:1000-2000;=;OK
-p udp -j SNAT --to-source 1.2.3.4:1000;=;OK
-p tcp -j SNAT --to-source :1000;=;OK
-p tcp -j SNAT --to-source 1.2.3.4:80-80;-p tcp -j SNAT --to-source 1.2.3.4:80;OK
-p 6 -j SNAT --to-source 1.2.3.4:80;-p tcp -j SNAT --to-source 1.2.3.4:80;OK
-p sctp -j SNAT --to-source 1.2.3.4:5;=;OK
-p dccp -j SNAT --to-source 1.2.3.4:5;=;OK
-p icmp -j SNAT --to-source 1.2.3.4:5;=;OK
! -p tcp -j SNAT --to-source 1.2.3.4:5;=;OK
-p tcp -j SNAT --to-source 1.2.3.4:0;=;OK
-p tcp -j SNAT --to-source 1.2.3.4:http;-p tcp -j SNAT --to-source 1.2.3.4:80;OK
-p tcp -j SNAT --to-source 1.2.3.4:0x50;-p tcp -j SNAT --to-source 1.2.3.4:80;OK
-p tcp -j SNAT --to-source 1.2.3.4:80-90/85;-p tcp -j SNAT --to-source 1.2.3.4:80-90/0;OK
-p tcp -j SNAT --to-source 1.2.3.4-1.2.3.5:1024-65535 --random --persistent;=;OK
-j SNAT --to-source 1.2.3.4 --random;=;OK
-j SNAT --to-source 1.2.3.4 --random-fully;=;OK
-j SNAT --to-source 1.2.3.4 --persistent;=;OK
-j SNAT --to-source 1.2.3.4 --persistent --random --random-fully;-j SNAT --to-source 1.2.3.4 --random --random-fully --persistent;OK
-j SNAT --to-source 1.2.3.4:1000;;FAIL
-p udplite -j SNAT --to-source 1.2.3.4:5;;FAIL
-p tcp -j SNAT --to-source 1.2.3.4:2000-1000;;FAIL
-p tcp -j SNAT --to-source 1.2.3.4:65536;;FAIL
-p tcp -j SNAT --to-source 1.2.3.4:80-http;;FAIL
-p tcp -j SNAT --to-source 1.2.3.4:80:90;;FAIL
-p tcp -j SNAT --to-source 1.2.3.4:80x;;FAIL
-p tcp -j SNAT --to-source 1.2.3.4:;;FAIL
-j SNAT --to-source 1.2.3.4 --to-source 1.2.3.5;;FAIL
-j SNAT;;FAIL
-j SNAT --to-source foo;;FAIL
-j SNAT --to-source 1.2.3.4/24;;FAIL
-j SNAT --to-source [1.2.3.4];;FAIL
-j SNAT --to-source 1.2.3.4-;;FAIL
-j SNAT --to-source 2001:db8::1;;FAIL
-j SNAT --to-source 1.2.3.4 --random --random;;FAIL
-j SNAT --to-source 1.2.3.4 ! --random;;FAIL
:PREROUTING
-j SNAT --to-source 1.2.3.4;;FAIL
:OUTPUT
-j SNAT --to-source 1.2.3.4;;FAIL
*filter
:INPUT
-j SNAT --to-source 1.2.3.4;;FAIL
*mangle
:POSTROUTING
-j SNAT --to-source 1.2.3.4;;FAIL
@family 6
*nat
:INPUT,POSTROUTING
-j SNAT --to-source 2001:db8::1;=;OK
-j SNAT --to-source 2001:db8::1-2001:db8::10;=;OK
-j SNAT --to-source 2001:DB8::1;-j SNAT --to-source 2001:db8::1;OK
-j SNAT --to-source ::ffff:1.2.3.4;=;OK
-j SNAT --to-source [2001:db8::1];-j SNAT --to-source 2001:db8::1;OK
-p tcp -j SNAT --to-source [2001:db8::1]:80;=;OK
-p tcp -j SNAT --to-source [2001:db8::1-2001:db8::3]:80-90;=;OK
-p tcp -j SNAT --to-source [2001:db8::1]:80-90/85;-p tcp -j SNAT --to-source [2001:db8::1]:80-90/0;OK
-p tcp -j SNAT --to-source []:80;-p tcp -j SNAT --to-source :80;OK
-p tcp -j SNAT --to-source :80;=;OK
-p icmp -j SNAT --to-source [::1]:80;=;OK
-p udp -j SNAT --to-source [2001:db8::1]:53 --random-fully --persistent;=;OK
-p ipv6-icmp -j SNAT --to-source [::1]:80;;FAIL
-p tcp -j SNAT --to-source 1:80;;FAIL
-j SNAT --to-source 1.2.3.4;;FAIL
-j SNAT --to-source [2001:db8::1;;FAIL
:PREROUTING
-j SNAT --to-source 2001:db8::1;;FAIL
