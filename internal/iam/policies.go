package iam

import (
	"context"
	"encoding/xml"
	"net/url"
	"slices"
	"strings"

	"github.com/artifactd/registry/internal/domain"
)

type getUserPolicyResult struct {
	XMLName        xml.Name `xml:"GetUserPolicyResult"`
	UserName       string
	PolicyName     string
	PolicyDocument string
}

type listUserPoliciesResult struct {
	XMLName     xml.Name `xml:"ListUserPoliciesResult"`
	PolicyNames list[string]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// encodePolicy percent-encodes a policy document as IAM returns it (RFC 3986,
// space as %20); botocore decodes every policyDocumentType member with
// urllib's unquote before handing it to the caller.
func encodePolicy(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

func (h *Handler) putUserPolicy(ctx context.Context, caller domain.Principal, p *params) (any, error) {
	name := p.get("UserName", existingUserNameRule, true)
	policy := p.get("PolicyName", policyNameRule, true)
	doc := p.get("PolicyDocument", policyDocumentRule, true)
	if p.err != nil {
		return nil, p.err
	}
	u, err := h.target(ctx, caller, "iam:PutUserPolicy", name)
	if err != nil {
		return nil, err
	}
	if err := h.ValidatePolicy(doc); err != nil {
		return nil, malformedPolicy(err)
	}
	return nil, h.Store.PutUserPolicy(ctx, u.Name, policy, doc)
}

func (h *Handler) getUserPolicy(ctx context.Context, caller domain.Principal, p *params) (any, error) {
	name := p.get("UserName", existingUserNameRule, true)
	policy := p.get("PolicyName", policyNameRule, true)
	if p.err != nil {
		return nil, p.err
	}
	u, err := h.target(ctx, caller, "iam:GetUserPolicy", name)
	if err != nil {
		return nil, err
	}
	doc, err := h.Store.GetUserPolicy(ctx, u.Name, policy)
	if err != nil {
		return nil, err
	}
	return getUserPolicyResult{UserName: u.Name, PolicyName: policy, PolicyDocument: encodePolicy(doc)}, nil
}

func (h *Handler) listUserPolicies(ctx context.Context, caller domain.Principal, p *params) (any, error) {
	name := p.get("UserName", existingUserNameRule, true)
	pg := p.pager()
	if p.err != nil {
		return nil, p.err
	}
	u, err := h.target(ctx, caller, "iam:ListUserPolicies", name)
	if err != nil {
		return nil, err
	}
	names, err := h.Store.ListUserPolicies(ctx, u.Name)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	from, to, next := pg.cut(len(names), func(i int) string { return names[i] })
	return listUserPoliciesResult{
		PolicyNames: list[string]{Members: append([]string{}, names[from:to]...)},
		IsTruncated: next != "",
		Marker:      next,
	}, nil
}

func (h *Handler) deleteUserPolicy(ctx context.Context, caller domain.Principal, p *params) (any, error) {
	name := p.get("UserName", existingUserNameRule, true)
	policy := p.get("PolicyName", policyNameRule, true)
	if p.err != nil {
		return nil, p.err
	}
	u, err := h.target(ctx, caller, "iam:DeleteUserPolicy", name)
	if err != nil {
		return nil, err
	}
	return nil, h.Store.DeleteUserPolicy(ctx, u.Name, policy)
}
