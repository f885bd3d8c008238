package filter

import "errors"

// SECMARKTarget is -j SECMARK (xt_SECMARK.c): it gives the packet the
// security mark of an SELinux context. Mapping a context to a mark is
// the security module's (security_secctx_to_secid), and userspace has
// none: nfgo refuses every SECMARK rule as a kernel without SELinux or
// Smack refuses it (ENOENT, "unable to map security context"), after
// the kernel's table check (mangle and security only, EINVAL).
type SECMARKTarget struct {
	// Context is --selctx.
	Context string
}

// Name returns "SECMARK".
func (*SECMARKTarget) Name() string { return "SECMARK" }

// Allowed restricts SECMARK to the mangle and security tables.
func (*SECMARKTarget) Allowed() (TableMask, HookMask) { return Tables(Mangle, Security), 0 }

// ErrSecmarkNoLSM is CheckRule's error for every SECMARK rule.
var ErrSecmarkNoLSM = errors.New("SECMARK: unable to map security context: no security module maps contexts in userspace (ENOENT, as in a kernel without SELinux or Smack)")

// CheckRule refuses the rule: no security module maps the context.
func (*SECMARKTarget) CheckRule(*Rule, Site) error { return ErrSecmarkNoLSM }

// Do continues; no rule with SECMARK ever loads.
func (*SECMARKTarget) Do(*Context) Verdict { return Verdict{Action: Continue} }

// ConnSecmarkMode is CONNSECMARK's --save or --restore.
type ConnSecmarkMode uint8

// The modes, with the kernel's values.
const (
	ConnSecmarkSave ConnSecmarkMode = iota + 1
	ConnSecmarkRestore
)

// CONNSECMARKTarget is -j CONNSECMARK (xt_CONNSECMARK.c): --save copies
// the packet's security mark to its connection when the connection has
// none, --restore the connection's to a packet that has none. Without a
// security module nothing has a security mark (SECMARK cannot load, and
// NFQUEUE hands over the context, not the mark), so the target changes
// nothing, as in a kernel without SELinux or Smack; the rules load, in
// the mangle and security tables as the kernel's do.
type CONNSECMARKTarget struct {
	Mode ConnSecmarkMode
}

// Name returns "CONNSECMARK".
func (*CONNSECMARKTarget) Name() string { return "CONNSECMARK" }

// Allowed restricts CONNSECMARK to the mangle and security tables.
func (*CONNSECMARKTarget) Allowed() (TableMask, HookMask) { return Tables(Mangle, Security), 0 }

// NeedsConntrack reports true: the kernel's takes conntrack.
func (*CONNSECMARKTarget) NeedsConntrack() bool { return true }

// ErrConnSecmarkMode is CheckRule's error for a mode other than save or
// restore.
var ErrConnSecmarkMode = errors.New("CONNSECMARK: invalid mode")

// CheckRule refuses a mode other than save and restore (EINVAL).
func (t *CONNSECMARKTarget) CheckRule(*Rule, Site) error {
	if t.Mode != ConnSecmarkSave && t.Mode != ConnSecmarkRestore {
		return ErrConnSecmarkMode
	}
	return nil
}

// Do continues: no packet or connection has a security mark to copy.
func (*CONNSECMARKTarget) Do(*Context) Verdict { return Verdict{Action: Continue} }
