# esp and ah matches: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-p esp -m esp --espspi 5;=;OK
-p esp -m esp ! --espspi 5:10;=;OK
-p esp -m esp --espspi 0:4294967295;-p esp -m esp;OK
-p esp -m esp --espspi 10:5;=;OK
-p esp -m esp;=;OK
-p esp -m esp --espspi 4294967296;;FAIL
-m esp --espspi 5;;FAIL
-p udp -m esp --espspi 5;;FAIL
-p esp -m esp --espspi 5 --espspi 6;;FAIL
@family 4
-p ah -m ah --ahspi 7;=;OK
-p ah -m ah ! --ahspi 7:9;=;OK
-p ah -m ah;=;OK
-m ah --ahspi 7;;FAIL
