package filter

// StandardTarget is ACCEPT, DROP, QUEUE or RETURN: the verdicts built into
// every table.
type StandardTarget struct {
	Verdict Action
}

// Do returns the standard verdict.
func (t *StandardTarget) Do(*Context) Verdict { return Verdict{Action: t.Verdict} }

// The standard targets, shared by every rule that uses them.
var (
	AcceptTarget = &StandardTarget{Verdict: Accept}
	DropTarget   = &StandardTarget{Verdict: Drop}
	ReturnTarget = &StandardTarget{Verdict: Return}
	// QueueTarget is -j QUEUE: NFQUEUE to queue 0, without bypass. The
	// legacy iptables backend has it; iptables-nft needs the kernel's
	// nft queue support, which not every kernel has built.
	QueueTarget = &StandardTarget{Verdict: Queue}
)

// JumpTarget is -j CHAIN (a jump, which returns) or -g CHAIN (a goto, which
// does not).
type JumpTarget struct {
	Chain string
	Goto  bool
}

// Do is never called: the traversal resolves jumps itself, from the chain
// index Compile stored. It returns Continue so a stray call is harmless.
func (t *JumpTarget) Do(*Context) Verdict { return Verdict{} }
