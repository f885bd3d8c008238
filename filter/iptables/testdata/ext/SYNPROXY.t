# SYNPROXY target: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns.
*filter
:INPUT,FORWARD
@family 46
-p tcp -m tcp --dport 80 -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460;=;OK
-p tcp -j SYNPROXY;=;OK
-p tcp -j SYNPROXY --ecn --timestamp --sack-perm --mss 9 --wscale 1;-p tcp -j SYNPROXY --sack-perm --timestamp --wscale 1 --mss 9 --ecn;OK
-p tcp -j SYNPROXY --wscale 300;-p tcp -j SYNPROXY --wscale 44;OK
-p tcp -j SYNPROXY --mss 70000;-p tcp -j SYNPROXY --mss 4464;OK
-p tcp -j SYNPROXY --mss 0x5b4;-p tcp -j SYNPROXY --mss 1460;OK
-p tcp -j SYNPROXY --wscale 15;=;OK
-p tcp -j SYNPROXY --mss -1;;FAIL
-p tcp -j SYNPROXY --mss 4294967296;;FAIL
-p tcp -j SYNPROXY --mss 1460x;;FAIL
-p tcp -j SYNPROXY --mss 1 --mss 2;;FAIL
-p tcp -j SYNPROXY ! --ecn;;FAIL
-p tcp -j SYNPROXY --timestamps;;FAIL
-p tcp -j SYNPROXY --mss;;FAIL
-j SYNPROXY --sack-perm --timestamp --mss 1460 --wscale 9;;FAIL
! -p tcp -j SYNPROXY;;FAIL
-p udp -j SYNPROXY;;FAIL
:OUTPUT
@family 46
-p tcp -j SYNPROXY;;FAIL
*mangle
:INPUT,FORWARD
@family 46
-p tcp -j SYNPROXY --timestamp;=;OK
:PREROUTING,POSTROUTING
@family 46
-p tcp -j SYNPROXY;;FAIL
*raw
:PREROUTING,OUTPUT
@family 46
-p tcp -j SYNPROXY;;FAIL
*nat
:INPUT
@family 4
-p tcp -j SYNPROXY;=;OK
