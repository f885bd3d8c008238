# MASQUERADE: nat table, POSTROUTING only.
@family 46
*nat
:POSTROUTING
-j MASQUERADE;=;OK
-p tcp -j MASQUERADE --to-ports 1024-2000;=;OK
-p tcp -j MASQUERADE --to-ports 1024;=;OK
-p udp -j MASQUERADE --to-ports 1024 --random;=;OK
-p tcp -j MASQUERADE --to-ports 5-6;=;OK
-p tcp -j MASQUERADE --to-ports 80-90/85;-p tcp -j MASQUERADE --to-ports 80-90/0;OK
-j MASQUERADE --random;=;OK
-j MASQUERADE --random-fully;=;OK
-j MASQUERADE --random --random-fully;=;OK
-o eth0 -j MASQUERADE;=;OK
-j MASQUERADE --to-ports 1024;;FAIL
-p tcp -j MASQUERADE --to-ports 1024:2000;;FAIL
-p tcp -j MASQUERADE --to-ports foo;;FAIL
-j MASQUERADE --persistent;;FAIL
-j MASQUERADE --random --random;;FAIL
:PREROUTING
-j MASQUERADE;;FAIL
:INPUT
-j MASQUERADE;;FAIL
:OUTPUT
-j MASQUERADE;;FAIL
