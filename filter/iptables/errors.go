package iptables

import (
	"errors"
	"fmt"
)

// Sentinel errors callers can test for with errors.Is.
var (
	// ErrUnknownOption: an option no loaded extension understands.
	ErrUnknownOption = errors.New("unknown option")
	// ErrUnknownExtension: -m or -j names an extension that does not
	// exist (or is not a chain).
	ErrUnknownExtension = errors.New("unknown extension")
	// ErrUnsupported: an extension iptables has that nfgo does not
	// implement yet.
	ErrUnsupported = errors.New("unsupported")
	// ErrBadArgument: an option's value is malformed or out of range.
	ErrBadArgument = errors.New("bad argument")
	// ErrSyntax: a line iptables-restore would not parse.
	ErrSyntax = errors.New("syntax error")
)

// ParseError is an error at one line of a ruleset file.
type ParseError struct {
	Line int
	Err  error
}

// Error formats the error with its line and location.
func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the underlying error, for errors.Is and errors.As.
func (e *ParseError) Unwrap() error { return e.Err }

// badArg returns an ErrBadArgument error in iptables' phrasing.
func badArg(option, value, why string) error {
	if why == "" {
		return fmt.Errorf("%w: invalid value %q for --%s", ErrBadArgument, value, option)
	}
	return fmt.Errorf("%w: invalid value %q for --%s: %s", ErrBadArgument, value, option, why)
}
