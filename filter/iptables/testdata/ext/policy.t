# policy match: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns.
:OUTPUT
@family 4
-m policy --dir out --pol ipsec --strict --reqid 1 --spi 16 --proto esp --mode tunnel --tunnel-src 1.2.3.4 --tunnel-dst 5.6.7.0/24;-m policy --dir out --pol ipsec --strict --reqid 1 --spi 0x10 --proto esp --mode tunnel --tunnel-dst 5.6.7.0/24 --tunnel-src 1.2.3.4;OK
-m policy --dir out --pol ipsec --strict ! --reqid 1 ! --spi 0x10 ! --proto 50 ! --mode transport --next --proto ah;-m policy --dir out --pol ipsec --strict ! --reqid 1 ! --spi 0x10 ! --proto esp ! --mode transport --next --proto ah;OK
-m policy --dir in --pol none;;FAIL
-m policy --dir out --pol none --reqid 1;-m policy --dir out --pol none;OK
-m policy --dir out --pol ipsec --tunnel-src 1.2.3.4;;FAIL
-m policy --dir out --pol ipsec --mode tunnel --tunnel-src 1.2.3.4/255.255.0.0;-m policy --dir out --pol ipsec --mode tunnel --tunnel-src 1.2.3.4/16;OK
-m policy --dir out --pol ipsec --proto udp;;FAIL
-m policy --dir out --pol foo;;FAIL
-m policy --dir sideways;;FAIL
-m policy --dir out --dir in;;FAIL
-m policy --dir out --pol ipsec --strict --proto esp --next --next;;FAIL
-m policy --dir out --pol ipsec --proto ah --next --proto esp;;FAIL
-m policy --pol none;;FAIL
:FORWARD
-m policy --dir in --pol ipsec;=;OK
-m policy --dir out --pol none;=;OK
-m policy --dir in;-m policy --dir in --pol ipsec;OK
-m policy --dir in --pol ipsec ! --proto esp;=;OK
-m policy --dir in --pol ipsec --mode transport;=;OK
@family 6
:OUTPUT
-m policy --dir out --pol ipsec --mode tunnel --tunnel-dst 2001:db8::/32;=;OK
