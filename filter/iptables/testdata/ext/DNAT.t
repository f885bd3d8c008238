# DNAT: nat table, PREROUTING and OUTPUT; a port range may have a base (/port).
*nat
:PREROUTING,OUTPUT
-j DNAT --to-destination 1.2.3.4;=;OK
-j DNAT --to 1.2.3.4;-j DNAT --to-destination 1.2.3.4;OK
-p tcp -j DNAT --to-destination 1.2.3.4:80;=;OK
-p tcp -j DNAT --to-destination 1.2.3.4-1.2.3.5:80-81 --random --persistent;=;OK
-p tcp -j DNAT --to-destination 1.2.3.4:80-90/85;=;OK
-p tcp -j DNAT --to-destination 1.2.3.4:80-90/http;-p tcp -j DNAT --to-destination 1.2.3.4:80-90/80;OK
-p udp -j DNAT --to-destination :53;=;OK
-p tcp --dport 80 -j DNAT --to-destination 10.0.0.1:8080;-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:8080;OK
-j DNAT --to-destination 1.2.3.4 --random;=;OK
-j DNAT --to-destination 1.2.3.4 --persistent;=;OK
-j DNAT --to-destination 1.2.3.4 --random-fully;;FAIL
-p tcp -j DNAT --to-destination 1.2.3.4:80/90;;FAIL
-p tcp -j DNAT --to-destination 1.2.3.4:80-90/0;;FAIL
-p tcp -j DNAT --to-destination 1.2.3.4:80-90/85x;-p tcp -j DNAT --to-destination 1.2.3.4:80-90/85;OK
-p tcp -j DNAT --to-destination 1.2.3.4:1000-;;FAIL
-j DNAT --to-destination "";;FAIL
-j DNAT;;FAIL
-j DNAT --to-destination 1.2.3.4:80;;FAIL
:INPUT,POSTROUTING
-j DNAT --to-destination 1.2.3.4;;FAIL
*filter
:INPUT
-j DNAT --to-destination 1.2.3.4;;FAIL
@family 6
*nat
:PREROUTING,OUTPUT
-j DNAT --to-destination 2001:db8::1;=;OK
-p tcp -j DNAT --to-destination [2001:db8::1]:80;=;OK
-p tcp -j DNAT --to-destination [2001:db8::1]:80-90/85;=;OK
-p tcp -j DNAT --to-destination [2001:db8::1-2001:db8::2]:443 --persistent;=;OK
-j DNAT --to-destination 1.2.3.4;;FAIL
