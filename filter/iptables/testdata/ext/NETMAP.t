# NETMAP: nat table, any of its hooks.
*nat
:PREROUTING,INPUT,OUTPUT,POSTROUTING
-j NETMAP --to 10.0.0.0/8;=;OK
-j NETMAP --to 10.1.2.3/24;-j NETMAP --to 10.1.2.0/24;OK
-j NETMAP --to 10.1.2.3;-j NETMAP --to 10.1.2.3/32;OK
-j NETMAP --to 10.0.0.0/255.255.0.0;-j NETMAP --to 10.0.0.0/16;OK
-j NETMAP --to 1.2.3.0/24;=;OK
-j NETMAP --to 0.0.0.0/0;=;OK
-j NETMAP;;FAIL
-j NETMAP --to foo;;FAIL
-j NETMAP --to 10.0.0.0/8 --to 11.0.0.0/8;;FAIL
*filter
:INPUT
-j NETMAP --to 10.0.0.0/8;;FAIL
@family 6
*nat
:PREROUTING,INPUT,OUTPUT,POSTROUTING
-j NETMAP --to 2001:db8::/32;=;OK
-j NETMAP --to 2001:db8::5/64;-j NETMAP --to 2001:db8::/64;OK
-j NETMAP --to 2001:db8::1;-j NETMAP --to 2001:db8::1/128;OK
-j NETMAP --to 10.0.0.0/8;;FAIL
