# TPROXY target and socket match: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns.
*mangle
:PREROUTING
@family 4
-p tcp -j TPROXY --on-port 15001;-p tcp -j TPROXY --on-port 15001 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0;OK
-p tcp -j TPROXY --on-port 15001 --on-ip 127.0.0.1 --tproxy-mark 0x1/0x1;=;OK
-p udp -j TPROXY --on-port 53 --tproxy-mark 5;-p udp -j TPROXY --on-port 53 --on-ip 0.0.0.0 --tproxy-mark 0x5/0xffffffff;OK
-j TPROXY --on-port 1;;FAIL
! -p tcp -j TPROXY --on-port 1;;FAIL
-p tcp -j TPROXY;;FAIL
-p tcp -j TPROXY --on-ip 1.2.3.4;;FAIL
-p tcp -j TPROXY --on-port 0;-p tcp -j TPROXY --on-port 0 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0;OK
-p tcp -j TPROXY --on-port 70000;-p tcp -j TPROXY --on-port 4464 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0;OK
-p tcp -j TPROXY --on-port http;-p tcp -j TPROXY --on-port 80 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0;OK
-p tcp -j TPROXY --on-port -1;;FAIL
-p tcp -j TPROXY --on-port 0x10;;FAIL
-p tcp -j TPROXY --on-port nosuchsvc;;FAIL
-p tcp -j TPROXY --on-port 1 --on-ip 1.2.3;-p tcp -j TPROXY --on-port 1 --on-ip 1.2.0.3 --tproxy-mark 0x0/0x0;OK
-p tcp -j TPROXY --on-port 1 --on-ip ::1;;FAIL
-p tcp -j TPROXY --on-port 1 --tproxy-mark 0x1/0x2/0x3;;FAIL
-p tcp -j TPROXY --on-port 1 --tproxy-mark 0x1/0xffffffff;-p tcp -j TPROXY --on-port 1 --on-ip 0.0.0.0 --tproxy-mark 0x1/0xffffffff;OK
-p tcp -m socket -j ACCEPT;=;OK
-p tcp -m socket --transparent --nowildcard --restore-skmark;=;OK
-m socket --nowildcard;=;OK
-m socket --transparent --transparent;;FAIL
@family 6
-p tcp -j TPROXY --on-port 15001 --on-ip ::1 --tproxy-mark 0x1/0x1;=;OK
-p tcp -j TPROXY --on-port 15001;-p tcp -j TPROXY --on-port 15001 --on-ip :: --tproxy-mark 0x0/0x0;OK
-m socket --transparent;=;OK
:OUTPUT
@family 4
-p tcp -j TPROXY --on-port 1;;FAIL
-m socket;;FAIL
*filter
:INPUT
-p tcp -j TPROXY --on-port 1;;FAIL
-m socket;=;OK
