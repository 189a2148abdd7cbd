package iam

import (
	"context"
	"encoding/xml"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// user is the User shape. Path and UserName are omitted only for the root
// principal, as AWS omits them.
type user struct {
	Path       string `xml:",omitempty"`
	UserName   string `xml:",omitempty"`
	UserID     string `xml:"UserId"`
	Arn        string
	CreateDate string
}

// list is a query-protocol list: <Name><member>..</member>...</Name>. It is
// written even when empty, so clients see [] rather than nothing.
type list[T any] struct {
	Members []T `xml:"member"`
}

type createUserResult struct {
	XMLName xml.Name `xml:"CreateUserResult"`
	User    user
}

type getUserResult struct {
	XMLName xml.Name `xml:"GetUserResult"`
	User    user
}

type listUsersResult struct {
	XMLName     xml.Name `xml:"ListUsersResult"`
	Users       list[user]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// isoTime formats a time as IAM does: ISO 8601, UTC, whole seconds.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func (h *Handler) userShape(p domain.Principal) user {
	if p.Root {
		return user{UserID: h.Account, Arn: p.ARN(h.Account), CreateDate: isoTime(p.CreatedAt)}
	}
	return user{Path: p.Path, UserName: p.Name, UserID: p.UserID, Arn: p.ARN(h.Account), CreateDate: isoTime(p.CreatedAt)}
}

// target resolves the user an action applies to (name, or the caller when
// name is "") and authorizes the caller for the action on it. A user that
// does not exist is reported as such only to a caller allowed to act on that
// name at path "/", so refused callers cannot probe for names.
func (h *Handler) target(ctx context.Context, caller domain.Principal, action, name string) (domain.Principal, error) {
	if name == "" {
		if caller.Root {
			return domain.Principal{}, validationError("Must specify userName when calling with non-User credentials")
		}
		name = caller.Name
	}
	u, err := h.Store.GetUser(ctx, name)
	if errors.Is(err, domain.ErrNotFound) {
		if aerr := h.authorize(ctx, caller, action, domain.Principal{Name: name, Path: "/"}.ARN(h.Account)); aerr != nil {
			return domain.Principal{}, aerr
		}
	}
	if err != nil {
		return domain.Principal{}, err
	}
	return u, h.authorize(ctx, caller, action, u.ARN(h.Account))
}

func (h *Handler) createUser(ctx context.Context, caller domain.Principal, p *params) (any, error) {
	name := p.get("UserName", userNameRule, true)
	path := p.get("Path", pathRule, false)
	p.unsupported("Tags.", "PermissionsBoundary")
	if p.err != nil {
		return nil, p.err
	}
	if path == "" {
		path = "/"
	}
	if err := h.authorize(ctx, caller, "iam:CreateUser", domain.Principal{Name: name, Path: path}.ARN(h.Account)); err != nil {
		return nil, err
	}
	u, err := h.Store.CreateUser(ctx, name, path)
	if err != nil {
		return nil, err
	}
	return createUserResult{User: h.userShape(u)}, nil
}

func (h *Handler) getUser(ctx context.Context, caller domain.Principal, p *params) (any, error) {
	name := p.get("UserName", existingUserNameRule, false)
	if p.err != nil {
		return nil, p.err
	}
	if name == "" && caller.Root {
		if err := h.authorize(ctx, caller, "iam:GetUser", caller.ARN(h.Account)); err != nil {
			return nil, err
		}
		return getUserResult{User: h.userShape(caller)}, nil
	}
	u, err := h.target(ctx, caller, "iam:GetUser", name)
	if err != nil {
		return nil, err
	}
	return getUserResult{User: h.userShape(u)}, nil
}

func (h *Handler) listUsers(ctx context.Context, caller domain.Principal, p *params) (any, error) {
	prefix := p.get("PathPrefix", pathPrefixRule, false)
	pg := p.pager()
	if p.err != nil {
		return nil, p.err
	}
	if prefix == "" {
		prefix = "/"
	}
	if err := h.authorize(ctx, caller, "iam:ListUsers", "arn:aws:iam::"+h.Account+":user"+prefix+"*"); err != nil {
		return nil, err
	}
	all, err := h.Store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	users := slices.DeleteFunc(all, func(u domain.Principal) bool { return u.Root || !strings.HasPrefix(u.Path, prefix) })
	slices.SortFunc(users, func(a, b domain.Principal) int { return strings.Compare(a.Name, b.Name) })
	from, to, next := pg.cut(len(users), func(i int) string { return users[i].Name })
	res := listUsersResult{IsTruncated: next != "", Marker: next, Users: list[user]{Members: []user{}}}
	for _, u := range users[from:to] {
		res.Users.Members = append(res.Users.Members, h.userShape(u))
	}
	return res, nil
}

func (h *Handler) deleteUser(ctx context.Context, caller domain.Principal, p *params) (any, error) {
	name := p.get("UserName", existingUserNameRule, true)
	if p.err != nil {
		return nil, p.err
	}
	u, err := h.target(ctx, caller, "iam:DeleteUser", name)
	if err != nil {
		return nil, err
	}
	return nil, h.Store.DeleteUser(ctx, u.Name)
}
