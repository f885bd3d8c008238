package filter

// ClassifyTarget is -j CLASSIFY: it sets the packet's traffic-control
// class (skb->priority), major:minor, for a qdisc to use (xt_CLASSIFY.c).
type ClassifyTarget struct {
	// Priority is major<<16 | minor.
	Priority uint32
}

// Name returns "CLASSIFY".
func (*ClassifyTarget) Name() string { return "CLASSIFY" }

// Allowed restricts CLASSIFY to the FORWARD, OUTPUT and POSTROUTING hooks,
// as xt_CLASSIFY declares: the class only matters to the egress qdisc.
// It names no table (since it also serves arptables), so any table with
// those hooks may use it.
func (*ClassifyTarget) Allowed() (TableMask, HookMask) {
	return 0, Hooks(Forward, Output, Postrouting)
}

// Do sets the packet's priority and continues. nfgo has no queueing
// discipline; the priority is reported with the verdict.
func (t *ClassifyTarget) Do(c *Context) Verdict {
	c.Priority = t.Priority
	return Verdict{Action: Continue}
}
