# ECN and TCPOPTSTRIP targets: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns.
*mangle
:FORWARD
@family 4
-p tcp -j ECN --ecn-tcp-remove;=;OK
-j ECN --ecn-ip-ect 1;=;OK
-p tcp -j ECN --ecn-tcp-cwr 1 --ecn-tcp-ece 0 --ecn-ip-ect 2;-p tcp -j ECN --ecn-tcp-ece 0 --ecn-tcp-cwr 1 --ecn-ip-ect 2;OK
-p tcp -j ECN --ecn-tcp-remove --ecn-ip-ect 0;-p tcp -j ECN --ecn-tcp-ece 0 --ecn-tcp-cwr 0 --ecn-ip-ect 0;OK
-j ECN --ecn-tcp-remove;;FAIL
-p tcp -j ECN --ecn-tcp-cwr 2;;FAIL
-j ECN --ecn-ip-ect 4;;FAIL
-j ECN;;FAIL
-p tcp -j ECN --ecn-tcp-ece 1 --ecn-tcp-ece 0;;FAIL
@family 46
-p tcp -j TCPOPTSTRIP --strip-options mss,wscale,sack-permitted,sack,timestamp,md5;-p tcp -j TCPOPTSTRIP --strip-options 2,3,4,5,8,19;OK
-p tcp -j TCPOPTSTRIP --strip-options 2,3,200;=;OK
-j TCPOPTSTRIP --strip-options mss;;FAIL
-p tcp -j TCPOPTSTRIP;=;OK
-p tcp -j TCPOPTSTRIP --strip-options foo;;FAIL
-p tcp -j TCPOPTSTRIP --strip-options 256;;FAIL
-p tcp -j TCPOPTSTRIP --strip-options 0,1;;FAIL
*filter
:INPUT
@family 4
-p tcp -j ECN --ecn-tcp-remove;;FAIL
-p tcp -j TCPOPTSTRIP --strip-options mss;;FAIL
