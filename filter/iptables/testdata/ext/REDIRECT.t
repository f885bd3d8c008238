# REDIRECT: nat table, PREROUTING and OUTPUT.
@family 46
*nat
:PREROUTING,OUTPUT
-j REDIRECT;=;OK
-p tcp -j REDIRECT --to-ports 8080;=;OK
-p tcp -j REDIRECT --to-ports 8080-8090;=;OK
-p tcp -j REDIRECT --to-ports 8080 --random;=;OK
-p udp --dport 53 -j REDIRECT --to-ports 5353;-p udp -m udp --dport 53 -j REDIRECT --to-ports 5353;OK
-j REDIRECT --random;=;OK
-p tcp -j REDIRECT --to-ports 8080:8090;;FAIL
-j REDIRECT --to-ports 8080;;FAIL
-p tcp -j REDIRECT --to-ports 8080-8090/8085;;FAIL
-p tcp -j REDIRECT --to-ports 8090-8080;;FAIL
-j REDIRECT --random-fully;;FAIL
:INPUT
-j REDIRECT;;FAIL
:POSTROUTING
-j REDIRECT;;FAIL
