# AUDIT, TEE and IDLETIMER targets: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns.
:INPUT,FORWARD,OUTPUT
@family 4
-j AUDIT --type accept;=;OK
-j AUDIT --type drop;=;OK
-j AUDIT --type reject;=;OK
-j AUDIT;;FAIL
-j AUDIT --type foo;;FAIL
-j TEE --gateway 1.2.3.4;=;OK
-j TEE;;FAIL
-j TEE --gateway 1.2.3.4 --oif eth0;=;OK
-j TEE --gateway 1.2.3;-j TEE --gateway 1.2.0.3;OK
-j TEE --gateway 1.2.3.4 --oif eth0123456789012;-j TEE --gateway 1.2.3.4 --oif eth012345678901;OK
-j TEE --gateway ::1;;FAIL
-j IDLETIMER --timeout 10 --label foo;=;OK
-j IDLETIMER --timeout 0 --label foo;;FAIL
-j IDLETIMER --timeout 10 --label xxxxxxxxxxxxxxxxxxxxxxxxxxxx;-j IDLETIMER --timeout 10 --label xxxxxxxxxxxxxxxxxxxxxxxxxxx;OK
-j IDLETIMER --timeout 10 --label bar --alarm;=;OK
-j IDLETIMER --label foo;;FAIL
-j IDLETIMER --timeout 10 --label "";;FAIL
@family 6
-j TEE --gateway 2001:db8::1;=;OK
-j AUDIT --type drop;=;OK
