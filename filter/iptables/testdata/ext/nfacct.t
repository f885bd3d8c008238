# nfacct match: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns,
# after "nfacct add" of the objects below. iptables-save prints two spaces before the name.
@nfacct foo
@nfacct localhost_nps_accepted_pkts
@nfacct xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
:INPUT,FORWARD,OUTPUT
@family 46
-m nfacct --nfacct-name foo;-m nfacct --nfacct-name  foo;OK
-m nfacct --nfacct-name localhost_nps_accepted_pkts;-m nfacct --nfacct-name  localhost_nps_accepted_pkts;OK
-m nfacct --nfacct-name xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx;-m nfacct --nfacct-name  xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx;OK
-m nfacct --nfacct-name xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxy;-m nfacct --nfacct-name  xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx;OK
-m nfacct;;FAIL
-m nfacct --nfacct-name "";;FAIL
-m nfacct --nfacct-name bar;;FAIL
-m nfacct --nfacct-name foo --nfacct-name foo;;FAIL
