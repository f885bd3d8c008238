# REJECT: filter table only, INPUT/FORWARD/OUTPUT (ipt_REJECT, ip6t_REJECT).
:INPUT,FORWARD,OUTPUT
-j REJECT;-j REJECT --reject-with icmp-port-unreachable;OK
-j REJECT --reject-with icmp-net-unreachable;=;OK
-j REJECT --reject-with icmp-host-unreachable;=;OK
-j REJECT --reject-with icmp-port-unreachable;=;OK
-j REJECT --reject-with icmp-proto-unreachable;=;OK
-j REJECT --reject-with icmp-net-prohibited;=;OK
-j REJECT --reject-with icmp-host-prohibited;=;OK
-j REJECT --reject-with icmp-admin-prohibited;=;OK
-j REJECT --reject-with net-unreach;-j REJECT --reject-with icmp-net-unreachable;OK
-j REJECT --reject-with host-unreach;-j REJECT --reject-with icmp-host-unreachable;OK
-j REJECT --reject-with proto-unreach;-j REJECT --reject-with icmp-proto-unreachable;OK
-j REJECT --reject-with port-unreach;-j REJECT --reject-with icmp-port-unreachable;OK
-j REJECT --reject-with net-prohib;-j REJECT --reject-with icmp-net-prohibited;OK
-j REJECT --reject-with host-prohib;-j REJECT --reject-with icmp-host-prohibited;OK
-j REJECT --reject-with admin-prohib;-j REJECT --reject-with icmp-admin-prohibited;OK
# Prefixes and case are accepted: the first table entry that starts with the argument wins.
-j REJECT --reject-with icmp-h;-j REJECT --reject-with icmp-host-unreachable;OK
-j REJECT --reject-with ICMP-HOST-PROHIBITED;-j REJECT --reject-with icmp-host-prohibited;OK
-j REJECT --reject-with icmp-port-unreachablex;;FAIL
-j REJECT --reject-with echo-reply;;FAIL
-j REJECT --reject-with foo;;FAIL
-j REJECT --reject-with icmp6-port-unreachable;;FAIL
-j REJECT --reject-with icmp-host-unreachable --reject-with icmp-net-unreachable;;FAIL
! -j REJECT;;FAIL
-j REJECT ! --reject-with tcp-reset;;FAIL
-j REJECT --reject-with;;FAIL
# tcp-reset needs -p tcp without '!'.
-p tcp -j REJECT --reject-with tcp-reset;=;OK
-p tcp -j REJECT --reject-with tcp-rst;-p tcp -j REJECT --reject-with tcp-reset;OK
-p tcp -j REJECT --reject-with tcp-r;-p tcp -j REJECT --reject-with tcp-reset;OK
-p 6 -j REJECT --reject-with tcp-reset;-p tcp -j REJECT --reject-with tcp-reset;OK
-p tcp ! --syn -j REJECT --reject-with tcp-reset;-p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -j REJECT --reject-with tcp-reset;OK
-j REJECT --reject-with tcp-reset;;FAIL
! -p tcp -j REJECT --reject-with tcp-reset;;FAIL
-p udp -j REJECT --reject-with tcp-reset;;FAIL
-p tcp -j REJECT --reject-w icmp-host-prohibited;-p tcp -j REJECT --reject-with icmp-host-prohibited;OK
-p udp -j REJECT --reject-with icmp-port-unreachable;=;OK
-s 10.0.0.0/8 -p tcp -j REJECT --reject-with tcp-reset;=;OK
*mangle
:INPUT
-j REJECT;;FAIL
*raw
:PREROUTING
-j REJECT;;FAIL
*nat
:OUTPUT
-j REJECT;;FAIL
@family 6
*filter
:INPUT,FORWARD,OUTPUT
-j REJECT;-j REJECT --reject-with icmp6-port-unreachable;OK
-j REJECT --reject-with icmp6-no-route;=;OK
-j REJECT --reject-with icmp6-adm-prohibited;=;OK
-j REJECT --reject-with icmp6-addr-unreachable;=;OK
-j REJECT --reject-with icmp6-port-unreachable;=;OK
-j REJECT --reject-with icmp6-policy-fail;=;OK
-j REJECT --reject-with icmp6-reject-route;=;OK
-j REJECT --reject-with no-route;-j REJECT --reject-with icmp6-no-route;OK
-j REJECT --reject-with adm-prohibited;-j REJECT --reject-with icmp6-adm-prohibited;OK
-j REJECT --reject-with addr-unreach;-j REJECT --reject-with icmp6-addr-unreachable;OK
-j REJECT --reject-with port-unreach;-j REJECT --reject-with icmp6-port-unreachable;OK
-j REJECT --reject-with policy-fail;-j REJECT --reject-with icmp6-policy-fail;OK
-j REJECT --reject-with reject-route;-j REJECT --reject-with icmp6-reject-route;OK
-j REJECT --reject-with p;-j REJECT --reject-with icmp6-port-unreachable;OK
-j REJECT --reject-with ICMP6-P;-j REJECT --reject-with icmp6-port-unreachable;OK
-j REJECT --reject-with port-unreachable;;FAIL
-j REJECT --reject-with icmp6-not-neighbour;;FAIL
-j REJECT --reject-with icmp-port-unreachable;;FAIL
-p tcp -j REJECT --reject-with tcp-reset;=;OK
-p tcp -j REJECT --reject-with t;-p tcp -j REJECT --reject-with tcp-reset;OK
-p tcp -j REJECT --reject-with tcp-rst;;FAIL
-j REJECT --reject-with tcp-reset;;FAIL
-p udp -j REJECT --reject-with tcp-reset;;FAIL
*mangle
:FORWARD
-j REJECT;;FAIL
