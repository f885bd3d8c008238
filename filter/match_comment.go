package filter

// CommentMatch is -m comment: it always matches and carries a note for
// people reading the ruleset.
type CommentMatch struct {
	Comment string
}

// Name returns "comment".
func (*CommentMatch) Name() string { return "comment" }

// Match always reports true.
func (*CommentMatch) Match(*Context) bool { return true }
