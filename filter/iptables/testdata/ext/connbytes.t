# connbytes match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-m connbytes --connbytes 10 --connbytes-dir both --connbytes-mode packets;-m connbytes --connbytes 10 --connbytes-mode packets --connbytes-dir both;OK
-m connbytes --connbytes 10:20 --connbytes-dir original --connbytes-mode bytes;-m connbytes --connbytes 10:20 --connbytes-mode bytes --connbytes-dir original;OK
-m connbytes ! --connbytes 10:20 --connbytes-dir reply --connbytes-mode avgpkt;-m connbytes ! --connbytes 10:20 --connbytes-mode avgpkt --connbytes-dir reply;OK
-m connbytes --connbytes :10 --connbytes-dir reply --connbytes-mode bytes;-m connbytes --connbytes 0:10 --connbytes-mode bytes --connbytes-dir reply;OK
-m connbytes --connbytes 10: --connbytes-dir reply --connbytes-mode bytes;-m connbytes --connbytes 10 --connbytes-mode bytes --connbytes-dir reply;OK
-m connbytes --connbytes 10:20 --connbytes-mode avgpkt;;FAIL
-m connbytes --connbytes 10:20 --connbytes-dir reply;;FAIL
-m connbytes --connbytes 20:10 --connbytes-dir reply --connbytes-mode bytes;;FAIL
-m connbytes --connbytes-dir reply --connbytes-mode bytes;;FAIL
-m connbytes --connbytes 10 --connbytes-dir foo --connbytes-mode bytes;;FAIL
-m connbytes --connbytes 10 --connbytes-dir both --connbytes-mode foo;;FAIL
-m connbytes --connbytes 10:10 --connbytes-dir both --connbytes-mode packets;-m connbytes --connbytes 10:10 --connbytes-mode packets --connbytes-dir both;OK
-m connbytes --connbytes 10:18446744073709551615 --connbytes-dir both --connbytes-mode packets;-m connbytes --connbytes 10 --connbytes-mode packets --connbytes-dir both;OK
