# multiport match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
-p tcp -m multiport --dports 80,443;=;OK
-p tcp -m multiport --destination-ports 80,443;-p tcp -m multiport --dports 80,443;OK
-p tcp -m multiport --sports 80,443;=;OK
-p tcp -m multiport --source-ports 80;-p tcp -m multiport --sports 80;OK
-p tcp -m multiport --ports 80,443;=;OK
-p tcp -m multiport --ports 80:90,443;=;OK
-p tcp -m multiport ! --ports 80:90,443;=;OK
-p tcp -m multiport ! --dports 22;=;OK
-p tcp -m multiport ! --sports 22,23;=;OK
-p udp -m multiport --dports 53,67:68;=;OK
-p udplite -m multiport --dports 53;=;OK
-p sctp -m multiport --dports 53;=;OK
-p dccp -m multiport --dports 53;=;OK
-p icmp -m multiport --dports 53;;FAIL
-m multiport --dports 53;;FAIL
! -p tcp -m multiport --dports 53;;FAIL
-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15;=;OK
-p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16;;FAIL
-p tcp -m multiport --dports 1:2,3:4,5:6,7:8,9:10,11:12,13:14,15;=;OK
-p tcp -m multiport --dports 1:2,3:4,5:6,7:8,9:10,11:12,13:14,15:16;;FAIL
-p tcp -m multiport --dports 1:2,3:4,5:6,7:8,9:10,11:12,13:14;=;OK
-p tcp -m multiport --dports http,https;-p tcp -m multiport --dports 80,443;OK
-p tcp -m multiport --dports 80:;;FAIL
-p tcp -m multiport --dports :80;;FAIL
-p tcp -m multiport --dports 90:80;;FAIL
-p tcp -m multiport --dports 80:80;;FAIL
-p tcp -m multiport --dports 80,;;FAIL
-p tcp -m multiport --dports ,80;;FAIL
-p tcp -m multiport --dports 80,,443;;FAIL
-p tcp -m multiport --dports 65536;;FAIL
-p tcp -m multiport --dports 0;=;OK
-p tcp -m multiport --dports 443,80;=;OK
-p tcp -m multiport --dports 80,80;=;OK
-p tcp -m multiport --sports 1 --dports 2;;FAIL
-p tcp -m multiport --dports 2 --sports 1;;FAIL
-p tcp -m multiport --dports 2 --ports 1;;FAIL
-p tcp -m multiport;;FAIL
-p tcp -m multiport --dports foo;;FAIL
-p tcp -m multiport --dports 1:2:3;;FAIL
-p tcp -m multiport --dports 80 -m multiport --sports 90;=;OK
-p tcp -m multiport --ports 0:65535;=;OK
# rules combining several matches, in several tables
@family 46
*filter
:INPUT
-p tcp -m multiport --dports 80,443 -m conntrack --ctstate NEW -m limit --limit 10/sec --limit-burst 20 -j ACCEPT;=;OK
@family 46
*mangle
:PREROUTING,POSTROUTING
-p udp -m multiport --sports 67,68 -j ACCEPT;=;OK
