package filter

// Action is how the traversal goes on after a target ran.
type Action uint8

// The actions. Accept, Drop, Queue and Stolen end the table; Continue goes
// to the next rule; Return, Jump and Goto move between chains.
const (
	Continue Action = iota
	Accept
	Drop
	Queue
	Return
	Jump
	Goto
	// Stolen: the target took the packet (NF_STOLEN), as SYNPROXY takes
	// the handshake it answers itself; what it sends instead is in the
	// effects.
	Stolen
)

var actionNames = [...]string{"CONTINUE", "ACCEPT", "DROP", "QUEUE", "RETURN", "JUMP", "GOTO", "STOLEN"}

// String returns the action's name in iptables' words, e.g. "ACCEPT".
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "UNKNOWN"
}

// Verdict is what a target decides.
type Verdict struct {
	Action Action
	// Queue is the queue number for Queue.
	Queue uint16
	// Bypass, for Queue, accepts the packet when no program listens on
	// the queue (--queue-bypass).
	Bypass bool
	// Chain is the destination of Jump and Goto, as an index into the
	// table's chains; Compile resolves it.
	Chain int
}
