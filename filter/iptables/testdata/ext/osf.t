# osf match: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns.
# IPv4 only, -p tcp, at PREROUTING, INPUT and FORWARD; a genre of 32 bytes or more is cut to 31.
:INPUT,FORWARD
@family 4
-p tcp -m osf --genre Linux;=;OK
-p tcp -m osf ! --genre Windows;=;OK
-p tcp -m osf --genre Linux --ttl 0 --log 0;=;OK
-p tcp -m osf --log 2 --ttl 1 --genre Linux;-p tcp -m osf --genre Linux --ttl 1 --log 2;OK
-p tcp -m osf --genre abcdefghijabcdefghijabcdefghijabcdefghij;-p tcp -m osf --genre abcdefghijabcdefghijabcdefghija;OK
-p tcp -m osf --genre Linux --ttl 3;;FAIL
-p tcp -m osf --genre Linux --log 3;;FAIL
-p tcp -m osf --ttl 1;;FAIL
-p tcp -m osf --genre Linux --genre Windows;;FAIL
-p tcp -m osf --genre Linux ! --ttl 1;;FAIL
-m osf --genre Linux;;FAIL
-p udp -m osf --genre Linux;;FAIL
! -p tcp -m osf --genre Linux;;FAIL
:OUTPUT
-p tcp -m osf --genre Linux;;FAIL
