# nfgo's test fingerprints, written for its tests in the format of
# iptables' utils/pf.os, which nfnl_osf -f loads:
#
# window:ttl:df:size:options:genre:version:subtype:description
#
# Each kind of window (plain, any, Sx, Tx, %x) and option letter
# (M, N, S, T, W, E) appears, with and without DF.

S44:64:1:60:M*,S,T,N,W7:	Linux:4.x:ts:Linux with timestamps, window 44 MSS
S10:64:1:60:M*,S,T,N,W4:	Linux:3.x::Linux, window 10 MSS
16384:64:1:44:M1460:		*Linux:embedded::Linux with MSS only, plain window
64240:128:1:52:M*,N,W8,N,N,S:	Windows:10::Windows 10 and 11
8192:128:1:52:M*,N,W2,N,N,S:	Windows:7::Windows 7
65535:64:1:64:M*,N,W6,N,N,T,S,E,E:	MacOS:12::macOS with trailing end-of-list
%8192:64:1:60:M*,N,W%2,N,N,T:	Other:mod::any window that is a multiple of 8192
T4:64:0:48:M*,N,W0:		Tiny:mtu::window 4 MTU, no DF
*:255:0:44:M*:			@Scanner:any::any window, TTL 255, no DF
