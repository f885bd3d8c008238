// Package ipset is Linux's ipset in userspace: named sets of addresses,
// networks, ports, MAC addresses, marks and interfaces, of every type
// ipset has (bitmap:ip, bitmap:ip,mac, bitmap:port, the hash types and
// list:set), with their options (timeouts, counters, comments, skbinfo,
// nomatch, maxelem, forceadd, netmask), read from and written in ipset's
// save/restore format, for rules to test with -m set and change with
// -j SET.
//
// A packet's lookup costs one map access per prefix length a set holds
// (at most 33 for IPv4, 129 for IPv6), whatever the set's size, and
// allocates nothing; sets are sharded so that packets do not contend on
// one lock. Sets are found by name in a Sets, and a rule holds its set's
// Ref, so that swap exchanges what two names hold while packets flow.
package ipset
