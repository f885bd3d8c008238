# owner match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
:OUTPUT
-m owner --uid-owner 0;=;OK
-m owner --uid-owner 0-100;=;OK
-m owner --uid-owner 1:5;-m owner --uid-owner 1-5;OK
-m owner --uid-owner 5-5;-m owner --uid-owner 5;OK
-m owner --uid-owner 5-0x10;-m owner --uid-owner 5-16;OK
-m owner --uid-owner 07;-m owner --uid-owner 7;OK
-m owner --uid-owner 0x10;-m owner --uid-owner 16;OK
-m owner --uid-owner 4294967294;=;OK
-m owner --uid-owner 4294967295;;FAIL
-m owner --uid-owner -1;;FAIL
-m owner --uid-owner 1-;;FAIL
-m owner --uid-owner 10-5;;FAIL
-m owner --uid-owner root;-m owner --uid-owner 0;OK
-m owner --gid-owner root;-m owner --gid-owner 0;OK
-m owner --uid-owner root-5;;FAIL
-m owner --uid-owner nfgo-no-such-user;;FAIL
-m owner --uid-owner 1 --uid-owner 2;;FAIL
-m owner ! --uid-owner root --gid-owner 5;-m owner ! --uid-owner 0 --gid-owner 5;OK
-m owner --socket-exists;=;OK
-m owner ! --socket-exists;=;OK
-m owner --socket-exists --uid-owner 5;=;OK
-m owner --gid-owner 5 --suppl-groups;=;OK
-m owner --suppl-groups --gid-owner 5;;FAIL
-m owner --suppl-groups;;FAIL
-m owner --gid-owner 5 ! --suppl-groups;;FAIL
-m owner --gid-owner 1-2 --suppl-groups --suppl-groups;;FAIL
-m owner --gid-owner 5 ! --uid-owner 6 --socket-exists --suppl-groups;-m owner --socket-exists ! --uid-owner 6 --gid-owner 5 --suppl-groups;OK
-m owner;;FAIL
:INPUT
-m owner --uid-owner 0;;FAIL
*nat
:POSTROUTING
-m owner --uid-owner 0;=;OK
