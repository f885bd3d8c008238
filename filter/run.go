package filter

import "strconv"

// Result is the outcome of running one table for a packet.
type Result struct {
	// Verdict is Accept, Drop or Queue. A table that lets the packet
	// through ends in Accept.
	Verdict Verdict
	// Chain is the chain whose rule or policy decided; nil when the
	// program has no such table or no built-in chain at the hook.
	Chain *Chain
	// Rule is the 1-based number of the deciding rule in Chain, or 0 when
	// the policy decided.
	Rule int
	// HotDrop is true when a match dropped the packet as malformed.
	HotDrop bool
}

// Run runs the table's built-in chain for c.Hook over the packet in c and
// returns the verdict. It allocates nothing once c's stack has grown to the
// program's jump depth.
func (p *Program) Run(table TableID, c *Context) Result {
	pt := p.tables[table]
	if pt == nil || pt.entry[c.Hook] < 0 {
		return Result{Verdict: Verdict{Action: Accept}}
	}
	c.Table = table
	if cap(c.stack) < p.depth {
		c.stack = make([]frame, 0, p.depth)
	}
	c.stack = c.stack[:0]
	entry := pt.entry[c.Hook]
	ci, ri := entry, int32(0)
	size := c.Packet.Length
	addrs := loadAddrs(c.Packet)
	// A traced walk reports every rule, so it takes them all.
	indexed := c.Trace == nil
	c.cand.chain = -1
	for {
		pc := &pt.chains[ci]
		if pc.index != nil && indexed {
			if c.cand.chain != ci {
				c.cand.linear = !pc.index.load(&c.cand, ci, c, &addrs)
			}
			if !c.cand.linear {
				ri = c.cand.next(ri, int32(len(pc.rules)))
			}
		}
		if int(ri) >= len(pc.rules) {
			// Fell off the end: a built-in chain applies its policy; a
			// user chain returns.
			if pc.chain.Builtin {
				return p.policy(pc, c, size)
			}
			if c.Traced {
				c.traceLine(pc.chain.Name, "return", len(pc.rules)+1)
			}
			if len(c.stack) == 0 {
				return p.policy(&pt.chains[entry], c, size)
			}
			top := c.stack[len(c.stack)-1]
			c.stack = c.stack[:len(c.stack)-1]
			ci, ri = top.chain, top.rule
			continue
		}
		pr := &pc.rules[ri]
		r := pr.rule
		matched := pr.hdr.matches(c, &addrs) && matchAll(pr.matches, c)
		if c.HotDrop {
			return Result{Verdict: Verdict{Action: Drop}, Chain: pc.chain, Rule: int(ri) + 1, HotDrop: true}
		}
		if c.Trace != nil {
			c.Trace(TraceEvent{Table: table, Chain: pc.chain.Name, Rule: int(ri) + 1, Matched: matched, Verdict: pr.action})
		}
		if !matched {
			ri++
			continue
		}
		r.Counters.AddStripe(size, c.CounterStripe)
		if c.Traced {
			c.traceLine(pc.chain.Name, "rule", int(ri)+1)
		}
		action := pr.action
		var v Verdict
		if action == Continue && pr.target != nil {
			v = pr.target.Do(c)
			action = v.Action
		}
		switch action {
		case Continue:
			ri++
		case Accept, Drop, Queue, Stolen:
			v.Action = action
			return Result{Verdict: v, Chain: pc.chain, Rule: int(ri) + 1}
		case Return:
			if len(c.stack) == 0 {
				return p.policy(&pt.chains[entry], c, size)
			}
			top := c.stack[len(c.stack)-1]
			c.stack = c.stack[:len(c.stack)-1]
			ci, ri = top.chain, top.rule
		case Jump:
			c.stack = append(c.stack, frame{chain: ci, rule: ri + 1})
			ci, ri = pr.jump, 0
		case Goto:
			ci, ri = pr.jump, 0
		}
	}
}

func (p *Program) policy(pc *progChain, c *Context, size int) Result {
	pc.chain.Counters.AddStripe(size, c.CounterStripe)
	if c.Traced {
		c.traceLine(pc.chain.Name, "policy", len(pc.rules)+1)
	}
	if c.Trace != nil {
		c.Trace(TraceEvent{Table: c.Table, Chain: pc.chain.Name, Matched: true})
	}
	a := Accept
	if pc.chain.Policy == PolicyDrop {
		a = Drop
	}
	return Result{Verdict: Verdict{Action: a}, Chain: pc.chain}
}

func matchAll(ms []Match, c *Context) bool {
	for _, m := range ms {
		if !m.Match(c) {
			return false
		}
	}
	return true
}

// traceLine records what the kernel's TRACE prints for a traced packet
// (ipt_do_table's trace_packet): "TRACE: table:chain:kind:rulenum " and
// the packet as LOG prints it. It is the slow path: only TRACEd packets
// pay for it.
func (c *Context) traceLine(chain, kind string, rule int) {
	prefix := "TRACE: " + c.Table.String() + ":" + chain + ":" + kind + ":" + strconv.Itoa(rule) + " "
	c.Emit(Effect{Kind: EffectLog, Text: LogLine(c, prefix, 0)})
}
