package conntrack

// EventType is the kind of a conntrack event, as conntrack -E names it.
type EventType uint8

// The event types.
const (
	EventNew EventType = iota
	EventUpdate
	EventDestroy
)

// String returns "NEW", "UPDATE" or "DESTROY".
func (t EventType) String() string {
	switch t {
	case EventNew:
		return "NEW"
	case EventUpdate:
		return "UPDATE"
	}
	return "DESTROY"
}

// emit reports a change of entry e. It is called with e's shard locked,
// so it must not block. Nothing listens yet.
func (t *Table) emit(EventType, *entry, int64) {}
