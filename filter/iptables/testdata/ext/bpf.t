# bpf match: checked with iptables 1.8.9 (nf_tables) on kernel 6.18, iptables-restore + iptables-save in a netns.
# --object-pinned fails in both: iptables finds no pinned object, nfgo cannot run an eBPF program.
:INPUT,FORWARD,OUTPUT
@family 46
-m bpf --bytecode "4,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0";=;OK
-m bpf --bytecode "1,6 0 0 0";=;OK
-m bpf --bytecode "0,6 0 0 0";;FAIL
-m bpf --bytecode "1 ,6 0 0 0";;FAIL
-m bpf --bytecode "2,6 0 0 0";;FAIL
-m bpf --bytecode "1,6 0 0 0,6 0 0 0";;FAIL
-m bpf --bytecode "1,6 0 0";;FAIL
-m bpf --bytecode "1,6 0 0 1xyz";-m bpf --bytecode "1,6 0 0 1";OK
-m bpf --bytecode "1, 6 0 0 -1";-m bpf --bytecode "1,6 0 0 4294967295";OK
-m bpf --bytecode "1,6 0 0 0,";-m bpf --bytecode "1,6 0 0 0";OK
-m bpf --bytecode "2,96 0 0 0,6 0 0 0";;FAIL
-m bpf --bytecode "3,2 0 0 0,96 0 0 0,6 0 0 0";=;OK
-m bpf --bytecode "4,21 0 1 0,2 0 0 1,96 0 0 1,6 0 0 0";;FAIL
-m bpf --bytecode "2,96 0 0 16,6 0 0 0";;FAIL
-m bpf --bytecode "1,48 0 0 0";;FAIL
-m bpf --bytecode "2,52 0 0 0,22 0 0 0";;FAIL
-m bpf --bytecode "2,100 0 0 32,22 0 0 0";;FAIL
-m bpf --bytecode "2,100 0 0 31,22 0 0 0";=;OK
-m bpf --bytecode "2,5 0 0 1,6 0 0 0";;FAIL
-m bpf --bytecode "3,5 0 0 1,6 0 0 0,6 0 0 1";=;OK
-m bpf --bytecode "2,21 1 0 0,6 0 0 0";;FAIL
-m bpf --bytecode "2,32 0 0 4294963200,22 0 0 0";=;OK
-m bpf --bytecode "2,32 0 0 4294963220,22 0 0 0";=;OK
-m bpf --bytecode "2,32 0 0 4294963201,22 0 0 0";;FAIL
-m bpf --bytecode "2,48 0 0 4293918729,22 0 0 0";=;OK
-m bpf --bytecode "1,300 0 0 0";;FAIL
-m bpf --bytecode "65,6 0 0 0";;FAIL
-m bpf;;FAIL
-m bpf --object-pinned /sys/fs/bpf/x;;FAIL
-m bpf --bytecode "1,6 0 0 0" --bytecode "1,6 0 0 1";;FAIL
