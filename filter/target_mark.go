package filter

// MarkTarget is -j MARK (xt_MARK revision 2): the packet mark becomes
// (mark &^ Mask) ^ Mark. Every form iptables accepts reduces to this one,
// which is why iptables-save prints them all as --set-xmark Mark/Mask:
// --set-mark v/m is Mark v, Mask v|m; --and-mark v is Mark 0, Mask ^v;
// --or-mark v is Mark v, Mask v; --xor-mark v is Mark v, Mask 0.
type MarkTarget struct {
	Mark, Mask uint32
}

// Name returns "MARK".
func (*MarkTarget) Name() string { return "MARK" }

// Do sets c.Mark and continues: MARK is not terminating.
func (t *MarkTarget) Do(c *Context) Verdict {
	c.Mark = (c.Mark &^ t.Mask) ^ t.Mark
	return Verdict{Action: Continue}
}
