# statistic match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-m statistic --mode random --probability 0.5;-m statistic --mode random --probability 0.50000000000;OK
-m statistic --mode random --probability 0.1;-m statistic --mode random --probability 0.10000000009;OK
-m statistic --mode random --probability 1;-m statistic --mode random --probability 1.00000000000;OK
-m statistic --mode random --probability 0;-m statistic --mode random --probability 0.00000000000;OK
-m statistic --mode random --probability 0.333;-m statistic --mode random --probability 0.33300000010;OK
-m statistic --mode random --probability 1.5;;FAIL
-m statistic --mode random --probability -0.5;;FAIL
-m statistic --mode random --probability foo;;FAIL
-m statistic --mode random ! --probability 0.25;-m statistic --mode random ! --probability 0.25000000000;OK
-m statistic --mode random;;FAIL
-m statistic --mode nth --every 2;;FAIL
-m statistic --mode nth --every 2 --packet 1;=;OK
-m statistic --mode nth ! --every 3 --packet 2;=;OK
-m statistic --mode nth --every 3 --packet 3;;FAIL
-m statistic --mode nth --every 0;;FAIL
-m statistic --mode nth --every 1;;FAIL
-m statistic --mode nth --packet 1;;FAIL
-m statistic --mode nth;;FAIL
-m statistic --mode random --every 2;;FAIL
-m statistic --mode nth --probability 0.5;;FAIL
-m statistic --mode foo;;FAIL
-m statistic --probability 0.5;;FAIL
-m statistic;;FAIL
-m statistic --mode nth --every 10 --packet 9;=;OK
-m statistic --mode random --probability 0.00001;-m statistic --mode random --probability 0.00001000008;OK
-m statistic --mode random --probability 0.99999;-m statistic --mode random --probability 0.99998999992;OK
-m statistic --mode random --probability .5;-m statistic --mode random --probability 0.50000000000;OK
-m statistic --mode nth --every 4294967295;;FAIL
-m statistic --mode nth --every 2 --packet 0;=;OK
-m statistic --mode nth --every 2 --packet 2;;FAIL
-m statistic --mode nth --every 0 --packet 0;;FAIL
-m statistic --mode nth --every 1 --packet 0;=;OK
-m statistic --mode nth --every 2 ! --packet 0;;FAIL
-m statistic --mode nth --packet 0 --every 2;-m statistic --mode nth --every 2 --packet 0;OK
-m statistic ! --mode nth --every 2 --packet 0;;FAIL
-m statistic --mode random --probability 0.5 --probability 0.6;;FAIL
-m statistic --mode random --probability 0x1p-1;-m statistic --mode random --probability 0.50000000000;OK
-m statistic --mode random --probability 1e-1;-m statistic --mode random --probability 0.10000000009;OK
-m statistic --mode random --probability " 0.5";-m statistic --mode random --probability 0.50000000000;OK
-m statistic --mode random --probability 0.5x;;FAIL
-m statistic --mode Random --probability 0.5;;FAIL
-m statistic --mode nth --every 4294967294 --packet 0;=;OK
-m statistic --mode nth --every 4294967295 --packet 0;=;OK
-m statistic --mode nth ! --every 2 ! --packet 0;;FAIL
-m statistic --mode random --probability 0.5 --mode random;;FAIL
# rules combining several matches, in several tables
@family 46
*filter
:INPUT
-m statistic --mode random --probability 0.01000000000 -m time --timestart 08:00 --timestop 18:00 --weekdays Mon,Tue,Wed,Thu,Fri -j DROP;-m statistic --mode random --probability 0.00999999978 -m time --timestart 08:00:00 --timestop 18:00:00 --weekdays Mon,Tue,Wed,Thu,Fri --datestop 2038-01-19T03:14:07 -j DROP;OK
