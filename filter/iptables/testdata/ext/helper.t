# helper match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-m helper --helper ftp;=;OK
-m helper ! --helper ftp;=;OK
-m helper --helper sip;=;OK
-m helper --helper ftp-21;=;OK
-m helper --helper "";=;OK
-m helper --helper "a b";=;OK
-m helper --helper 0123456789012345678901234567890;-m helper --helper 01234567890123456789012345678;OK
-m helper --helper 01234567890123456789012345678901;-m helper --helper 01234567890123456789012345678;OK
-m helper;;FAIL
-m helper --helper ftp --helper sip;;FAIL
