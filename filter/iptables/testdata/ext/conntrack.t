# conntrack match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-m conntrack --ctstate NEW;=;OK
-m conntrack --ctstate NEW,ESTABLISHED;=;OK
-m conntrack --ctstate ESTABLISHED,RELATED;-m conntrack --ctstate RELATED,ESTABLISHED;OK
-m conntrack ! --ctstate INVALID;=;OK
-m conntrack --ctstate SNAT;=;OK
-m conntrack --ctstate DNAT;=;OK
-m conntrack --ctstate SNAT,DNAT;=;OK
-m conntrack --ctstate UNTRACKED;=;OK
-m conntrack --ctstate INVALID,ESTABLISHED,NEW,RELATED,UNTRACKED,SNAT,DNAT;-m conntrack --ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED,SNAT,DNAT;OK
-m conntrack --ctstate foo;;FAIL
-m conntrack --ctstate new;-m conntrack --ctstate NEW;OK
-m conntrack --ctproto tcp;-m conntrack --ctproto 6;OK
-m conntrack --ctproto 6;=;OK
-m conntrack --ctproto udp;-m conntrack --ctproto 17;OK
-m conntrack ! --ctproto tcp;-m conntrack ! --ctproto 6;OK
-m conntrack --ctproto all;-m conntrack --ctproto 0;OK
-m conntrack --ctproto 0;=;OK
-m conntrack --ctproto foo;;FAIL
-m conntrack --ctstatus EXPECTED;=;OK
-m conntrack --ctstatus SEEN_REPLY;=;OK
-m conntrack --ctstatus ASSURED;=;OK
-m conntrack --ctstatus CONFIRMED;=;OK
-m conntrack --ctstatus NONE;=;OK
-m conntrack --ctstatus ASSURED,CONFIRMED;=;OK
-m conntrack ! --ctstatus ASSURED;=;OK
-m conntrack --ctstatus foo;;FAIL
-m conntrack --ctexpire 10;=;OK
-m conntrack --ctexpire 10:20;=;OK
-m conntrack ! --ctexpire 10:20;=;OK
-m conntrack --ctexpire 20:10;=;OK
-m conntrack --ctexpire 10:10;-m conntrack --ctexpire 10;OK
-m conntrack --ctexpire foo;;FAIL
-m conntrack --ctdir ORIGINAL;=;OK
-m conntrack --ctdir REPLY;=;OK
-m conntrack --ctdir original;-m conntrack --ctdir ORIGINAL;OK
-m conntrack ! --ctdir REPLY;;FAIL
-m conntrack --ctdir foo;;FAIL
-m conntrack --ctproto tcp --ctorigsrcport 80;-m conntrack --ctproto 6 --ctorigsrcport 80;OK
-m conntrack --ctproto tcp --ctorigdstport 80;-m conntrack --ctproto 6 --ctorigdstport 80;OK
-m conntrack --ctproto tcp --ctreplsrcport 80;-m conntrack --ctproto 6 --ctreplsrcport 80;OK
-m conntrack --ctproto tcp --ctrepldstport 80;-m conntrack --ctproto 6 --ctrepldstport 80;OK
-m conntrack --ctproto tcp --ctorigsrcport 80:90;-m conntrack --ctproto 6 --ctorigsrcport 80:90;OK
-m conntrack --ctproto tcp ! --ctorigdstport 80;-m conntrack --ctproto 6 ! --ctorigdstport 80;OK
-m conntrack --ctorigdstport 80;=;OK
-m conntrack --ctproto tcp --ctorigdstport 65536;-m conntrack --ctproto 6 --ctorigdstport 0;OK
-m conntrack --ctproto tcp --ctorigdstport http;-m conntrack --ctproto 6 --ctorigdstport 80;OK
-m conntrack;;FAIL
-m conntrack --ctstate NEW --ctstatus ASSURED --ctexpire 5 --ctdir REPLY;=;OK
-m conntrack --ctdir REPLY --ctexpire 5 --ctstatus ASSURED --ctstate NEW --ctproto udp;-m conntrack --ctstate NEW --ctproto 17 --ctstatus ASSURED --ctexpire 5 --ctdir REPLY;OK
@family 4
-m conntrack --ctorigsrc 1.2.3.4;=;OK
-m conntrack --ctorigdst 1.2.3.0/24;=;OK
-m conntrack --ctreplsrc 1.2.3.4/32;-m conntrack --ctreplsrc 1.2.3.4;OK
-m conntrack ! --ctrepldst 10.0.0.0/8;=;OK
-m conntrack --ctorigsrc 1.2.3.4/255.255.0.0;-m conntrack --ctorigsrc 1.2.3.4/16;OK
-m conntrack --ctorigsrc 1.2.3.4/255.0.255.0;-m conntrack --ctorigsrc 1.2.3.4;OK
-m conntrack --ctorigsrc 0.0.0.0/0;=;OK
-m conntrack --ctorigsrc foo;;FAIL
-m conntrack --ctorigsrc 1.2.3.4/33;-m conntrack --ctorigsrc 1.2.3.4;OK
-m conntrack --ctorigsrc ::1;;FAIL
-m conntrack --ctorigdst 10.0.0.1 --ctorigsrc 10.0.0.2 --ctstate NEW;-m conntrack --ctstate NEW --ctorigsrc 10.0.0.2 --ctorigdst 10.0.0.1;OK
@family 6
-m conntrack --ctorigsrc ::1;=;OK
-m conntrack --ctorigdst 2001:db8::/32;=;OK
-m conntrack ! --ctreplsrc 2001:db8::1/128;-m conntrack ! --ctreplsrc 2001:db8::1;OK
-m conntrack --ctrepldst fe80::/10;=;OK
-m conntrack --ctorigsrc 1.2.3.4;;FAIL
# rules combining several matches, in several tables
@family 46
*filter
:INPUT
-p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m comment --comment ssh -j ACCEPT;=;OK
@family 46
*filter
:INPUT
-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT;=;OK
@family 46
*filter
:INPUT
-m conntrack --ctstate INVALID -j DROP;=;OK
@family 46
*filter
:INPUT
-p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -m conntrack --ctstate NEW -j DROP;=;OK
@family 46
*mangle
:PREROUTING,POSTROUTING
-p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT;=;OK
@family 46
*nat
:PREROUTING,POSTROUTING
-p tcp -m tcp --dport 8080 -m conntrack --ctstate DNAT -j ACCEPT;=;OK
