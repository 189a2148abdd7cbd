package iam

import (
	"context"
	"encoding/xml"

	"github.com/artifactd/registry/internal/domain"
)

// getCallerIdentityResult is STS's GetCallerIdentityResponse.
type getCallerIdentityResult struct {
	XMLName xml.Name `xml:"GetCallerIdentityResult"`
	UserID  string   `xml:"UserId"`
	Account string
	Arn     string
}

// getCallerIdentity answers "who am I" for any authenticated caller, without
// consulting the Authorizer (AWS does not either). For the root principal,
// as on AWS, the user id is the account id.
func (h *Handler) getCallerIdentity(_ context.Context, caller domain.Principal, _ *params) (any, error) {
	userID := caller.UserID
	if caller.Root {
		userID = h.Account
	}
	return getCallerIdentityResult{UserID: userID, Account: h.Account, Arn: caller.ARN(h.Account)}, nil
}
