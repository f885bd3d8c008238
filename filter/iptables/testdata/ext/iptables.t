# The rule header (-p -s -d -i -o -f), standard targets, jumps and gotos.
@family 4
*filter
:INPUT,FORWARD,OUTPUT
-s 10.0.0.0/8;=;OK
-s 10.1.2.3/8;-s 10.0.0.0/8;OK
-s 10.1.2.3;-s 10.1.2.3/32;OK
-s 10.1.2.3/255.255.0.0;-s 10.1.0.0/16;OK
-s 10.1.2.3/255.0.255.0;-s 10.0.2.0/255.0.255.0;OK
! -s 192.168.0.0/16;=;OK
-s 0.0.0.0/0;;OK
-d 1.2.3.4;-d 1.2.3.4/32;OK
! -d 1.2.3.0/24 -j DROP;=;OK
--source 10.0.0.0/8 --destination 10.1.0.0/16;-s 10.0.0.0/8 -d 10.1.0.0/16;OK
-d 10.1.0.0/16 -s 10.0.0.0/8;-s 10.0.0.0/8 -d 10.1.0.0/16;OK
-s 10.0.0.0/33;;FAIL
-s 10.0.0.0/-1;;FAIL
-s 300.0.0.1;;FAIL
-s 10.0.0.1/255.255.0.1.1;;FAIL
-p tcp;=;OK
-p TCP;-p tcp;OK
-p 6;-p tcp;OK
! -p udp;=;OK
-p all;;OK
-p 0;;OK
-p 47;-p gre;OK
-p ospf;=;OK
-p 253;=;OK
-p icmpv6;-p ipv6-icmp;OK
-p 300;;FAIL
-p nosuchproto;;FAIL
-f;=;OK
! -f;=;OK
-p tcp -f -j DROP;=;OK
-j ACCEPT;=;OK
-j DROP;=;OK
-j RETURN;=;OK
-s 1.2.3.4 -p udp -j DROP;-s 1.2.3.4/32 -p udp -j DROP;OK
-p tcp -s 1.2.3.4 -d 5.6.7.8;-s 1.2.3.4/32 -d 5.6.7.8/32 -p tcp;OK
-j NOSUCHTARGET;;FAIL
-x;;FAIL
--bogus;;FAIL
-p tcp -p udp;;FAIL
-s 1.1.1.1 -s 2.2.2.2;;FAIL
! ! -s 1.1.1.1;;FAIL
-m nosuchmatch;;FAIL
:INPUT,FORWARD
-i eth0;=;OK
-i eth+;=;OK
! -i eth0;=;OK
-i lo -j ACCEPT;=;OK
-i abcdefghijklmno;=;OK
-i abcdefghijklmnop;;FAIL
--in-interface eth1;-i eth1;OK
:FORWARD,OUTPUT
-o eth1;=;OK
! -o ppp+;=;OK
-o eth0 -s 10.0.0.0/8;-s 10.0.0.0/8 -o eth0;OK
:FORWARD
-i eth0 -o eth1 -p udp -s 10.0.0.0/8 -d 192.168.0.0/16 -f -j DROP;-s 10.0.0.0/8 -d 192.168.0.0/16 -i eth0 -o eth1 -p udp -f -j DROP;OK
:INPUT
-o eth0;;FAIL
:OUTPUT
-i eth0;;FAIL
*mangle
:PREROUTING
-o eth0;;FAIL
-i eth0;=;OK
:POSTROUTING
-i eth0;;FAIL
-o eth0;=;OK
*raw
:PREROUTING
-s 10.0.0.0/8 -j DROP;=;OK
:OUTPUT
-d 10.0.0.0/8 -j ACCEPT;=;OK
@family 6
*filter
:INPUT
-s 2001:db8::1/32;-s 2001:db8::/32;OK
-s 2001:db8::1;-s 2001:db8::1/128;OK
! -d ::1;! -d ::1/128;OK
-s fe80::/10 -i eth0 -p ipv6-icmp -j ACCEPT;=;OK
-p icmpv6;-p ipv6-icmp;OK
-p 58;-p ipv6-icmp;OK
-s 2001:db8::/129;;FAIL
-s 10.0.0.1;;FAIL
-f;;FAIL
-p esp -j DROP;=;OK
@family 4
*filter
:INPUT
-s 10;-s 10.0.0.0/32;OK
-s 10.1/16;-s 10.1.0.0/16;OK
-s 010.1.2.3;-s 8.1.2.3/32;OK
-s 0x0a.1.2.3;-s 10.1.2.3/32;OK
-d 1.2.3.4/024;-d 1.2.0.0/20;OK
-s 1.2.3.4/0 -j DROP;-j DROP;OK
-s 0/0;;OK
-s 1.2.3.4/0.0.0.0;;OK
! -s 1.2.3.4/0;;FAIL
-s 10..1;;FAIL
-s 1.2.3.256;;FAIL
# getopt_long's --option=value form, for extension options
-p tcp --dport=22 -j ACCEPT;-p tcp -m tcp --dport 22 -j ACCEPT;OK
-p icmp --icmp-type=8;-p icmp -m icmp --icmp-type 8;OK
-m comment --comment=hello;-m comment --comment hello;OK
# "-i +" is any interface: iptables-save prints no test; "! -i +" stays
-i + -j ACCEPT;-j ACCEPT;OK
! -i + -j ACCEPT;=;OK
