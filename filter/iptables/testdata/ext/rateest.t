# rateest match: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns,
# after the RATEEST rules below that make the estimators it names (a match naming a missing one is refused: ENOENT).
:INPUT
@family 46
@before -A INPUT -j RATEEST --rateest-name M1 --rateest-interval 250.0ms --rateest-ewmalog 500.0ms
@before -A INPUT -j RATEEST --rateest-name M2 --rateest-interval 1.0s --rateest-ewmalog 8.0s
@before -A INPUT -j RATEEST --rateest-name abcdefghijklmno --rateest-interval 1.0s --rateest-ewmalog 8.0s
-m rateest --rateest M1 --rateest-gt --rateest-bps 1.5Mbit;-m rateest --rateest M1 --rateest-gt --rateest-bps 1500Kbit;OK
-m rateest --rateest M1 --rateest-gt --rateest-bps 100GBPS;-m rateest --rateest M1 --rateest-gt --rateest-bps 9726Mbit;OK
-m rateest --rateest M1 --rateest-gt --rateest-bps 2KiBps;-m rateest --rateest M1 --rateest-gt --rateest-bps 16384bit;OK
-m rateest --rateest M1 --rateest-gt --rateest-pps 0x10 --rateest-bps 9;-m rateest --rateest M1 --rateest-gt --rateest-bps 8bit --rateest-gt --rateest-pps 16;OK
-m rateest --rateest M1 --rateest-gt --rateest-lt --rateest-pps 7;-m rateest --rateest M1 --rateest-lt --rateest-pps 7;OK
-m rateest --rateest M1 ! --rateest-gt --rateest-pps;-m rateest --rateest M1 ! --rateest-gt --rateest-pps 0;OK
-m rateest --rateest abcdefghijklmnopqrstu --rateest-eq --rateest-pps 1;-m rateest --rateest abcdefghijklmno --rateest-eq --rateest-pps 1;OK
-m rateest --rateest1 M1 --rateest2 M2 --rateest-pps 1 --rateest-eq;-m rateest --rateest1 M1 --rateest-eq --rateest-pps --rateest2 M2;OK
-m rateest --rateest-delta --rateest1 M1 --rateest-bps1 1mbit --rateest-bps2 2mbit --rateest-gt --rateest2 M2;-m rateest --rateest-delta --rateest1 M1 --rateest-bps1 1000Kbit --rateest-gt --rateest-bps2 2000Kbit --rateest2 M2;OK
-m rateest --rateest-delta --rateest M1 --rateest-pps1 --rateest-lt --rateest-pps2;-m rateest --rateest-delta --rateest M1 --rateest-pps1 0 --rateest-lt --rateest-pps2 0;OK
-m rateest --rateest M1;;FAIL
-m rateest --rateest M1 --rateest-pps 1;;FAIL
-m rateest --rateest-pps 1 --rateest-eq;;FAIL
-m rateest --rateest NOPE --rateest-pps 1 --rateest-eq;;FAIL
-m rateest --rateest1 M1 --rateest2 NOPE --rateest-pps --rateest-eq;;FAIL
-m rateest --rateest M1 ! --rateest-pps 1 --rateest-eq;;FAIL
-m rateest --rateest M1 --rateest-pps 1x --rateest-eq;;FAIL
-m rateest --rateest M1 --rateest-bps 1x --rateest-eq;;FAIL
-m rateest --rateest M1 --rateest-bps 1 --rateest-bps2 2 --rateest-eq;;FAIL
-m rateest --rateest M1 --rateest-pps 1 --rateest-eq --rateest-eq;;FAIL
-m rateest ! --rateest M1 --rateest-pps 1 --rateest-eq;;FAIL
-m rateest --rateest M1 --rateest1 M2 --rateest-pps 1 --rateest-eq;;FAIL
-m rateest --rateest M1 --rateest-pps -1 --rateest-eq;;FAIL
