# HMARK target (libxt_HMARK.c, xt_HMARK.c): checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns. Any table, any chain; no defaults, so only the options given are saved.
@family 46
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING
-j HMARK --hmark-tuple ct --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-rnd 0x00000004 --hmark-mod 42 --hmark-tuple ct;OK
-j HMARK --hmark-tuple spi --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-spi-mask 0xffffffff --hmark-rnd 0x00000004 --hmark-mod 42;OK
-j HMARK --hmark-tuple sport,dport,proto --hmark-mod 42 --hmark-rnd 0x4;-j HMARK --hmark-sport-mask 0xffff --hmark-dport-mask 0xffff --hmark-proto-mask 0xffff --hmark-rnd 0x00000004 --hmark-mod 42;OK
-j HMARK --hmark-tuple SP,Dp,P --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-sport-mask 0xffff --hmark-dport-mask 0xffff --hmark-proto-mask 0xffff --hmark-rnd 0x00000004 --hmark-mod 42;OK
-j HMARK --hmark-sport-mask 3 --hmark-tuple sport --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-sport-mask 0xffff --hmark-rnd 0x00000004 --hmark-mod 42;OK
-j HMARK --hmark-src-prefix 8 --hmark-dst-prefix 9 --hmark-mod 3 --hmark-rnd 4;-j HMARK --hmark-src-prefix 8 --hmark-dst-prefix 9 --hmark-rnd 0x00000004 --hmark-mod 3;OK
-j HMARK --hmark-src-prefix 0 --hmark-mod 3 --hmark-rnd 4;-j HMARK --hmark-src-prefix 0 --hmark-rnd 0x00000004 --hmark-mod 3;OK
-j HMARK --hmark-sport 5 --hmark-mod 3 --hmark-rnd 4;-j HMARK --hmark-sport 0x0005 --hmark-rnd 0x00000004 --hmark-mod 3;OK
-j HMARK --hmark-dport 0x1234 --hmark-dport-mask 0xff --hmark-mod 3 --hmark-rnd 4;-j HMARK --hmark-dport-mask 0x00ff --hmark-dport 0x1234 --hmark-rnd 0x00000004 --hmark-mod 3;OK
-j HMARK --hmark-spi 7 --hmark-spi-mask 9 --hmark-mod 3 --hmark-rnd 4;-j HMARK --hmark-spi-mask 0x00000009 --hmark-spi 0x00000007 --hmark-rnd 0x00000004 --hmark-mod 3;OK
-j HMARK --hmark-spi-mask 9 --hmark-sport 1 --hmark-mod 3 --hmark-rnd 4;-j HMARK --hmark-spi-mask 0x00000009 --hmark-sport 0x0001 --hmark-rnd 0x00000004 --hmark-mod 3;OK
-j HMARK --hmark-proto-mask 0x1ff --hmark-mod 3 --hmark-rnd 4 --hmark-offset 4294967295;-j HMARK --hmark-proto-mask 0x1ff --hmark-rnd 0x00000004 --hmark-mod 3 --hmark-offset 4294967295;OK
-j HMARK --hmark-proto-mask 1 --hmark-mod 4294967295 --hmark-rnd 0xffffffff;-j HMARK --hmark-proto-mask 0x01 --hmark-rnd 0xffffffff --hmark-mod 4294967295;OK
-j HMARK --hmark-proto-mask 0 --hmark-mod 1 --hmark-rnd 0 --hmark-offset 0;-j HMARK --hmark-proto-mask 0x00 --hmark-rnd 0x00000000 --hmark-mod 1 --hmark-offset 0;OK
-p udp -j HMARK --hmark-tuple ct,sport --hmark-mod 10 --hmark-rnd 1 --hmark-offset 100;-p udp -j HMARK --hmark-sport-mask 0xffff --hmark-rnd 0x00000001 --hmark-mod 10 --hmark-offset 100 --hmark-tuple ct;OK
-j HMARK;;FAIL
-j HMARK --hmark-mod 42 --hmark-rnd 4;;FAIL
-j HMARK --hmark-mod 3 --hmark-rnd 4 --hmark-offset 5;;FAIL
-j HMARK --hmark-src-prefix 8 --hmark-rnd 4;;FAIL
-j HMARK --hmark-src-prefix 8 --hmark-mod 3;;FAIL
-j HMARK --hmark-src-prefix 8 --hmark-mod 0 --hmark-rnd 4;;FAIL
-j HMARK --hmark-src-prefix 8 --hmark-mod 4294967296 --hmark-rnd 4;;FAIL
-j HMARK --hmark-src-prefix 8 --hmark-mod 3 --hmark-rnd 4 --hmark-mod 5;;FAIL
-j HMARK ! --hmark-src-prefix 8 --hmark-mod 3 --hmark-rnd 4;;FAIL
-j HMARK --hmark-tuple src,dst,sport,dport,spi,proto --hmark-mod 42 --hmark-rnd 4;;FAIL
-j HMARK --hmark-tuple spi --hmark-dport-mask 1 --hmark-mod 3 --hmark-rnd 4;;FAIL
-j HMARK --hmark-spi-mask 1 --hmark-sport-mask 1 --hmark-mod 3 --hmark-rnd 4;;FAIL
-j HMARK --hmark-tuple src --hmark-src-prefix 16 --hmark-mod 42 --hmark-rnd 4;;FAIL
-j HMARK --hmark-tuple proto --hmark-proto-mask 1 --hmark-mod 42 --hmark-rnd 4;;FAIL
-j HMARK --hmark-tuple src --hmark-tuple dst --hmark-mod 42 --hmark-rnd 4;;FAIL
-j HMARK --hmark-tuple src, --hmark-mod 42 --hmark-rnd 4;;FAIL
-j HMARK --hmark-tuple ,src --hmark-mod 42 --hmark-rnd 4;;FAIL
-j HMARK --hmark-tuple src,,dst --hmark-mod 42 --hmark-rnd 4;;FAIL
-j HMARK --hmark-tuple foo --hmark-mod 42 --hmark-rnd 4;;FAIL
-j HMARK --hmark-tuple srcx --hmark-mod 42 --hmark-rnd 4;;FAIL
-j HMARK --hmark-src-prefix foo --hmark-mod 42 --hmark-rnd 4;;FAIL
-j HMARK --hmark-proto-mask 65536 --hmark-mod 3 --hmark-rnd 4;;FAIL
-j HMARK --hmark-sport-mask 65536 --hmark-mod 3 --hmark-rnd 4;;FAIL
-j HMARK --hmark-rnd 4294967296 --hmark-mod 3 --hmark-src-prefix 1;;FAIL
# the kernel's hmark_tg_check: an SPI value with a port value (EINVAL)
-j HMARK --hmark-sport 5 --hmark-spi 7 --hmark-mod 3 --hmark-rnd 4;;FAIL
-j HMARK --hmark-dport 5 --hmark-spi 7 --hmark-mod 3 --hmark-rnd 4;;FAIL
*filter
:INPUT,FORWARD,OUTPUT
@family 4
*mangle
:PREROUTING,OUTPUT
-j HMARK --hmark-tuple src,dst,sport,dport,proto,ct --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-src-prefix 32 --hmark-dst-prefix 32 --hmark-sport-mask 0xffff --hmark-dport-mask 0xffff --hmark-proto-mask 0xffff --hmark-rnd 0x00000004 --hmark-mod 42 --hmark-tuple ct;OK
-j HMARK --hmark-tuple S,DsT --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-src-prefix 32 --hmark-dst-prefix 32 --hmark-rnd 0x00000004 --hmark-mod 42;OK
-j HMARK --hmark-src-prefix 16 --hmark-tuple src --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-src-prefix 32 --hmark-rnd 0x00000004 --hmark-mod 42;OK
-j HMARK --hmark-src-prefix 32 --hmark-dst-prefix 24 --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-src-prefix 32 --hmark-dst-prefix 24 --hmark-rnd 0x00000004 --hmark-mod 42;OK
-j HMARK --hmark-src-prefix 255.255.0.0 --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-src-prefix 16 --hmark-rnd 0x00000004 --hmark-mod 42;OK
-j HMARK --hmark-src-prefix 255.0.255.0 --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-src-prefix 32 --hmark-rnd 0x00000004 --hmark-mod 42;OK
-j HMARK --hmark-src-prefix 33 --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-src-prefix 32 --hmark-rnd 0x00000004 --hmark-mod 42;OK
-j HMARK --hmark-dst-prefix 0xff000000 --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-dst-prefix 8 --hmark-rnd 0x00000004 --hmark-mod 42;OK
-j HMARK --hmark-src-prefix ffff:: --hmark-mod 42 --hmark-rnd 4;;FAIL
*filter
:INPUT,FORWARD,OUTPUT
-j HMARK --hmark-tuple src,dst --hmark-mod 2 --hmark-rnd 1;-j HMARK --hmark-src-prefix 32 --hmark-dst-prefix 32 --hmark-rnd 0x00000001 --hmark-mod 2;OK
*raw
:PREROUTING,OUTPUT
-j HMARK --hmark-tuple src --hmark-mod 2 --hmark-rnd 1;-j HMARK --hmark-src-prefix 32 --hmark-rnd 0x00000001 --hmark-mod 2;OK
*nat
:PREROUTING,INPUT,OUTPUT,POSTROUTING
-j HMARK --hmark-tuple src --hmark-mod 2 --hmark-rnd 1;-j HMARK --hmark-src-prefix 32 --hmark-rnd 0x00000001 --hmark-mod 2;OK
@family 6
*mangle
:PREROUTING,OUTPUT
-j HMARK --hmark-tuple src,dst,sport,dport,proto,ct --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-src-prefix 128 --hmark-dst-prefix 128 --hmark-sport-mask 0xffff --hmark-dport-mask 0xffff --hmark-proto-mask 0xffff --hmark-rnd 0x00000004 --hmark-mod 42 --hmark-tuple ct;OK
-j HMARK --hmark-src-prefix 64 --hmark-dst-prefix 33 --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-src-prefix 64 --hmark-dst-prefix 33 --hmark-rnd 0x00000004 --hmark-mod 42;OK
-j HMARK --hmark-src-prefix ffff:ffff:: --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-src-prefix 32 --hmark-rnd 0x00000004 --hmark-mod 42;OK
-j HMARK --hmark-src-prefix ff00:ff:: --hmark-mod 42 --hmark-rnd 4;-j HMARK --hmark-src-prefix 128 --hmark-rnd 0x00000004 --hmark-mod 42;OK
-j HMARK --hmark-src-prefix 129 --hmark-mod 42 --hmark-rnd 4;;FAIL
-j HMARK --hmark-src-prefix 255.255.0.0 --hmark-mod 42 --hmark-rnd 4;;FAIL
*filter
:INPUT,FORWARD,OUTPUT
-j HMARK --hmark-tuple src,dst --hmark-mod 2 --hmark-rnd 1;-j HMARK --hmark-src-prefix 128 --hmark-dst-prefix 128 --hmark-rnd 0x00000001 --hmark-mod 2;OK
