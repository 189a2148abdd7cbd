package iam

import (
	"context"
	"encoding/xml"
	"slices"
	"strings"

	"github.com/artifactd/registry/internal/domain"
)

// accessKey is the AccessKey shape: the only place a secret is ever sent.
type accessKey struct {
	UserName        string
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string
	SecretAccessKey string
	CreateDate      string
}

// accessKeyMetadata is the AccessKeyMetadata shape (no secret).
type accessKeyMetadata struct {
	UserName    string
	AccessKeyID string `xml:"AccessKeyId"`
	Status      string
	CreateDate  string
}

type createAccessKeyResult struct {
	XMLName   xml.Name `xml:"CreateAccessKeyResult"`
	AccessKey accessKey
}

type listAccessKeysResult struct {
	XMLName           xml.Name `xml:"ListAccessKeysResult"`
	AccessKeyMetadata list[accessKeyMetadata]
	IsTruncated       bool
	Marker            string `xml:",omitempty"`
}

func (h *Handler) createAccessKey(ctx context.Context, caller domain.Principal, p *params) (any, error) {
	name := p.get("UserName", existingUserNameRule, false)
	if p.err != nil {
		return nil, p.err
	}
	u, err := h.target(ctx, caller, "iam:CreateAccessKey", name)
	if err != nil {
		return nil, err
	}
	k, err := h.Store.CreateAccessKey(ctx, u.Name)
	if err != nil {
		return nil, err
	}
	return createAccessKeyResult{AccessKey: accessKey{
		UserName:        u.Name,
		AccessKeyID:     k.ID,
		Status:          k.Status,
		SecretAccessKey: k.Secret,
		CreateDate:      isoTime(k.CreatedAt),
	}}, nil
}

func (h *Handler) listAccessKeys(ctx context.Context, caller domain.Principal, p *params) (any, error) {
	name := p.get("UserName", existingUserNameRule, false)
	pg := p.pager()
	if p.err != nil {
		return nil, p.err
	}
	u, err := h.target(ctx, caller, "iam:ListAccessKeys", name)
	if err != nil {
		return nil, err
	}
	keys, err := h.Store.ListAccessKeys(ctx, u.Name)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(keys, func(a, b domain.AccessKey) int { return strings.Compare(a.ID, b.ID) })
	from, to, next := pg.cut(len(keys), func(i int) string { return keys[i].ID })
	res := listAccessKeysResult{IsTruncated: next != "", Marker: next, AccessKeyMetadata: list[accessKeyMetadata]{Members: []accessKeyMetadata{}}}
	for _, k := range keys[from:to] {
		res.AccessKeyMetadata.Members = append(res.AccessKeyMetadata.Members, accessKeyMetadata{
			UserName:    u.Name,
			AccessKeyID: k.ID,
			Status:      k.Status,
			CreateDate:  isoTime(k.CreatedAt),
		})
	}
	return res, nil
}

func (h *Handler) deleteAccessKey(ctx context.Context, caller domain.Principal, p *params) (any, error) {
	name := p.get("UserName", existingUserNameRule, false)
	id := p.get("AccessKeyId", accessKeyIDRule, true)
	if p.err != nil {
		return nil, p.err
	}
	u, err := h.target(ctx, caller, "iam:DeleteAccessKey", name)
	if err != nil {
		return nil, err
	}
	return nil, h.Store.DeleteAccessKey(ctx, u.Name, id)
}
