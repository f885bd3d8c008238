# connlabel match: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns,
# without /etc/xtables/connlabel.conf (labels are numbers; names are tested in connlabel_test.go with a file in place).
:INPUT,FORWARD,OUTPUT
@family 46
-m connlabel --label "40";=;OK
-m connlabel ! --label "40";=;OK
-m connlabel --label "41" --set;=;OK
-m connlabel ! --label "41" --set;=;OK
-m connlabel --label 0x7f;-m connlabel --label "127";OK
-m connlabel --label 010 --set;-m connlabel --label "8" --set;OK
-m connlabel --label 4294967297;-m connlabel --label "1";OK
-m connlabel --set --label 3;-m connlabel --label "3" --set;OK
-m connlabel --label "128";;FAIL
-m connlabel --label "2048";;FAIL
-m connlabel --label "foobar_not_there";;FAIL
-m connlabel --label "";;FAIL
-m connlabel --label -1;;FAIL
-m connlabel --label 1x;;FAIL
-m connlabel --set;;FAIL
-m connlabel --label 1 --label 2;;FAIL
-m connlabel --label 1 ! --set;;FAIL
