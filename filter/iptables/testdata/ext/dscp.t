# dscp match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-m dscp --dscp 1;-m dscp --dscp 0x01;OK
-m dscp --dscp 0x20;=;OK
-m dscp ! --dscp 0x20;=;OK
-m dscp --dscp 63;-m dscp --dscp 0x3f;OK
-m dscp --dscp 64;;FAIL
-m dscp --dscp 0;-m dscp --dscp 0x00;OK
-m dscp --dscp foo;;FAIL
-m dscp --dscp-class CS0;-m dscp --dscp 0x00;OK
-m dscp --dscp-class CS1;-m dscp --dscp 0x08;OK
-m dscp --dscp-class CS2;-m dscp --dscp 0x10;OK
-m dscp --dscp-class CS3;-m dscp --dscp 0x18;OK
-m dscp --dscp-class CS4;-m dscp --dscp 0x20;OK
-m dscp --dscp-class CS5;-m dscp --dscp 0x28;OK
-m dscp --dscp-class CS6;-m dscp --dscp 0x30;OK
-m dscp --dscp-class CS7;-m dscp --dscp 0x38;OK
-m dscp --dscp-class BE;-m dscp --dscp 0x00;OK
-m dscp --dscp-class AF11;-m dscp --dscp 0x0a;OK
-m dscp --dscp-class AF12;-m dscp --dscp 0x0c;OK
-m dscp --dscp-class AF13;-m dscp --dscp 0x0e;OK
-m dscp --dscp-class AF21;-m dscp --dscp 0x12;OK
-m dscp --dscp-class AF22;-m dscp --dscp 0x14;OK
-m dscp --dscp-class AF23;-m dscp --dscp 0x16;OK
-m dscp --dscp-class AF31;-m dscp --dscp 0x1a;OK
-m dscp --dscp-class AF32;-m dscp --dscp 0x1c;OK
-m dscp --dscp-class AF33;-m dscp --dscp 0x1e;OK
-m dscp --dscp-class AF41;-m dscp --dscp 0x22;OK
-m dscp --dscp-class AF42;-m dscp --dscp 0x24;OK
-m dscp --dscp-class AF43;-m dscp --dscp 0x26;OK
-m dscp --dscp-class EF;-m dscp --dscp 0x2e;OK
-m dscp --dscp-class ef;-m dscp --dscp 0x2e;OK
-m dscp ! --dscp-class EF;-m dscp ! --dscp 0x2e;OK
-m dscp --dscp-class AF44;;FAIL
-m dscp --dscp 1 --dscp-class EF;;FAIL
-m dscp;;FAIL
# rules combining several matches, in several tables
@family 46
*filter
:INPUT
-m dscp --dscp-class AF41 -m tos --tos 0x10/0x3f -j ACCEPT;-m dscp --dscp 0x22 -m tos --tos 0x10/0x3f -j ACCEPT;OK
# class_to_dscp compares only the class name's length, for the match too.
-m dscp --dscp-class efx;-m dscp --dscp 0x2e;OK
