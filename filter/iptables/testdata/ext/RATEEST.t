# RATEEST target: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns.
# The ewmalog is weighed against the interval as given (300 below), not as rounded.
# The interval is rounded up to 250ms << k; the ewmalog becomes interval << e.
:INPUT
@family 46
-j RATEEST --rateest-name RE1 --rateest-interval 250.0ms --rateest-ewmalog 500.0ms;=;OK
-j RATEEST --rateest-name RE2 --rateest-interval 1s --rateest-ewmalog 8s;-j RATEEST --rateest-name RE2 --rateest-interval 1.0s --rateest-ewmalog 8.0s;OK
-j RATEEST --rateest-name abcdefghijklmnopqrstu --rateest-interval 8s --rateest-ewmalog 8000s;-j RATEEST --rateest-name abcdefghijklmno --rateest-interval 8.0s --rateest-ewmalog 2048.0s;OK
-j RATEEST --rateest-name R5 --rateest-interval 1S --rateest-ewmalog 2.5E1SeCs;-j RATEEST --rateest-name R5 --rateest-interval 1.0s --rateest-ewmalog 16.0s;OK
-j RATEEST --rateest-name R6 --rateest-interval 300 --rateest-ewmalog 20000;-j RATEEST --rateest-name R6 --rateest-interval 250.0ms --rateest-ewmalog 16.0s;OK
-j RATEEST --rateest-name R7 --rateest-interval 0.6s --rateest-ewmalog 30000msecs;-j RATEEST --rateest-name R7 --rateest-interval 1.0s --rateest-ewmalog 32.0s;OK
-j RATEEST --rateest-name R8 --rateest-interval 300 --rateest-ewmalog 1;;FAIL
-j RATEEST --rateest-name R8 --rateest-interval 9s --rateest-ewmalog 8s;;FAIL
-j RATEEST --rateest-name R8 --rateest-interval 1x --rateest-ewmalog 2s;;FAIL
-j RATEEST --rateest-name R8 --rateest-interval 1s --rateest-ewmalog 2 s;;FAIL
-j RATEEST --rateest-name R8 --rateest-interval 1s;;FAIL
-j RATEEST --rateest-interval 1s --rateest-ewmalog 8s;;FAIL
-j RATEEST --rateest-name R8 --rateest-name R9 --rateest-interval 1s --rateest-ewmalog 8s;;FAIL
-j RATEEST --rateest-name R8 ! --rateest-interval 1s --rateest-ewmalog 8s;;FAIL
