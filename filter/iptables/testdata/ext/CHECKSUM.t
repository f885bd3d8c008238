# CHECKSUM target: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING
-j CHECKSUM --checksum-fill;=;OK
-p udp -m udp --dport 68 -j CHECKSUM --checksum-fill;=;OK
-j CHECKSUM;;FAIL
-j CHECKSUM ! --checksum-fill;;FAIL
*filter
:INPUT
-j CHECKSUM --checksum-fill;;FAIL
