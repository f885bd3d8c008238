# state match: generated with iptables 1.8.9 (nf_tables), iptables-restore + iptables-save in a netns
@family 46
-m state --state NEW;=;OK
-m state --state ESTABLISHED;=;OK
-m state --state RELATED;=;OK
-m state --state INVALID;=;OK
-m state --state UNTRACKED;=;OK
-m state --state NEW,ESTABLISHED;=;OK
-m state --state ESTABLISHED,NEW;-m state --state NEW,ESTABLISHED;OK
-m state --state RELATED,ESTABLISHED;=;OK
-m state --state INVALID,NEW,ESTABLISHED,RELATED,UNTRACKED;-m state --state INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED;OK
-m state ! --state NEW;=;OK
-m state ! --state ESTABLISHED,RELATED;-m state ! --state RELATED,ESTABLISHED;OK
-m state --state new;-m state --state NEW;OK
-m state --state FOO;;FAIL
-m state --state NEW,;;FAIL
-m state --state SNAT;;FAIL
-m state;;FAIL
-m state --state NEW --state INVALID;;FAIL
