package filter

import "errors"

// PolicyElement is one element of -m policy: the IPsec transform's
// request id, SPI, protocol, mode and tunnel endpoints, each tested when
// set.
type PolicyElement struct {
	ReqID                 uint32
	HasReqID, InvertReqID bool
	SPI                   uint32
	HasSPI, InvertSPI     bool
	Proto                 uint8
	HasProto, InvertProto bool
	Tunnel                bool // --mode tunnel (else transport)
	HasMode, InvertMode   bool
	TunnelSrc, TunnelDst  Net
	HasSrc, InvertSrc     bool
	HasDst, InvertDst     bool
}

// PolicyMatch is -m policy (xt_policy.c): the IPsec policy a packet was
// decapsulated by (Out false, --dir in) or will be encapsulated by
// (--dir out). nfgo has no IPsec state, so no packet has a policy, as a
// kernel with no xfrm state sees them: --pol none matches every packet
// and --pol ipsec none, whatever the elements say.
type PolicyMatch struct {
	Out      bool
	None     bool // --pol none
	Strict   bool
	Elements []PolicyElement
}

// Name returns "policy".
func (*PolicyMatch) Name() string { return "policy" }

// Errors of CheckRule, the kernel's EINVAL.
var (
	ErrPolicyDirIn  = errors.New("policy: --dir in is not valid in OUTPUT and POSTROUTING")
	ErrPolicyDirOut = errors.New("policy: --dir out is not valid in PREROUTING and INPUT")
	ErrPolicyElems  = errors.New("policy: more than 4 elements")
)

// PolicyMaxElements is XT_POLICY_MAX_ELEM.
const PolicyMaxElements = 4

// CheckRule is policy_mt_check: the direction against the hooks the
// rule is reached from.
func (m *PolicyMatch) CheckRule(_ *Rule, at Site) error {
	switch {
	case !m.Out && at.Hooks&Hooks(Output, Postrouting) != 0:
		return ErrPolicyDirIn
	case m.Out && at.Hooks&Hooks(Prerouting, Input) != 0:
		return ErrPolicyDirOut
	case len(m.Elements) > PolicyMaxElements:
		return ErrPolicyElems
	}
	return nil
}

// Match is policy_mt for a packet without IPsec: only --pol none.
func (m *PolicyMatch) Match(*Context) bool { return m.None }
