// Package nat chooses and applies network address translations for conntrack connections, as the kernel's nf_nat does.
package nat
