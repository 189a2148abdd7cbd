package codeartifact

import (
	"net/http"
	"strings"
	"testing"
)

// TestPackageGroupErrors: bad patterns and parameters are
// ValidationExceptions naming the field, unknown groups and domains are
// ResourceNotFoundException, a duplicate is ConflictException, each in
// the model's shape.
func TestPackageGroupErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seed(t, fxRepo)
	h.call(t, "CreatePackageGroup", params{"domain": fxDomain, "packageGroup": "/npm/acme/*"}).ok(t)

	grp := params{"domain": fxDomain, "packageGroup": "/npm/acme/*"}
	for _, tc := range []struct {
		name, op string
		in       params
		field    string // the message names it
	}{
		{"create bad pattern", "CreatePackageGroup", params{"domain": fxDomain, "packageGroup": "/npm/acme"}, "packageGroup"},
		{"create word-boundary prefix", "CreatePackageGroup", params{"domain": fxDomain, "packageGroup": "/npm/acme/foo-~"}, "packageGroup"},
		{"create unknown format", "CreatePackageGroup", params{"domain": fxDomain, "packageGroup": "/rpm/*"}, "packageGroup"},
		{"create namespace for pypi", "CreatePackageGroup", params{"domain": fxDomain, "packageGroup": "/pypi/ns/*"}, "packageGroup"},
		{"create no pattern", "CreatePackageGroup", params{"domain": fxDomain}, "packageGroup"},
		{"create long contact", "CreatePackageGroup", params{"domain": fxDomain, "packageGroup": "/npm/x/*", "contactInfo": strings.Repeat("c", 1001)}, "contactInfo"},
		{"describe bad pattern", "DescribePackageGroup", params{"domain": fxDomain, "packageGroup": "npm"}, "packageGroup"},
		{"bad restriction type", "UpdatePackageGroupOriginConfiguration", grp.with("restrictions", map[string]string{"UPLOAD": "BLOCK"}), "restrictions"},
		{"bad mode", "UpdatePackageGroupOriginConfiguration", grp.with("restrictions", map[string]string{"PUBLISH": "DENY"}), "restrictions"},
		{"root inherits", "UpdatePackageGroupOriginConfiguration", params{"domain": fxDomain, "packageGroup": "/*", "restrictions": map[string]string{"PUBLISH": "INHERIT"}}, "restrictions"},
		{"bad allowed repository", "UpdatePackageGroupOriginConfiguration", grp.with("addAllowedRepositories", []map[string]string{{"repositoryName": "-x", "originRestrictionType": "PUBLISH"}}), "addAllowedRepositories"},
		{"bad allowed type", "UpdatePackageGroupOriginConfiguration", grp.with("removeAllowedRepositories", []map[string]string{{"repositoryName": fxRepo, "originRestrictionType": "X"}}), "removeAllowedRepositories"},
		{"bad originRestrictionType", "ListAllowedRepositoriesForGroup", grp.with("originRestrictionType", "X"), "originRestrictionType"},
		{"associated bad format", "GetAssociatedPackageGroup", params{"domain": fxDomain, "format": "rpm", "package": "x"}, "format"},
		{"bad next token", "ListPackageGroups", params{"domain": fxDomain, "nextToken": "!!"}, "nextToken"},
		{"delete root", "DeletePackageGroup", params{"domain": fxDomain, "packageGroup": "/*"}, "packageGroup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := h.call(t, tc.op, tc.in).fail(t, http.StatusBadRequest, "ValidationException")
			if msg, _ := e["message"].(string); !strings.Contains(msg, tc.field) {
				t.Errorf("message %q does not name %s", msg, tc.field)
			}
		})
	}

	h.call(t, "CreatePackageGroup", grp).fail(t, http.StatusConflict, "ConflictException")
	h.call(t, "CreatePackageGroup", params{"domain": fxDomain, "packageGroup": "/*"}).fail(t, http.StatusConflict, "ConflictException")
	other := params{"domain": fxDomain, "packageGroup": "/npm/other/*"}
	for _, tc := range []struct {
		op string
		in params
	}{
		{"DescribePackageGroup", other},
		{"UpdatePackageGroup", other.with("description", "d")},
		{"UpdatePackageGroupOriginConfiguration", other.with("restrictions", map[string]string{"PUBLISH": "BLOCK"})},
		{"DeletePackageGroup", other},
		{"ListSubPackageGroups", other},
		{"ListAssociatedPackages", other},
		{"ListAllowedRepositoriesForGroup", other.with("originRestrictionType", "PUBLISH")},
		{"UpdatePackageGroupOriginConfiguration", grp.with("addAllowedRepositories", []map[string]string{{"repositoryName": "ghost", "originRestrictionType": "PUBLISH"}})},
		{"ListPackageGroups", params{"domain": "nope"}},
		{"GetAssociatedPackageGroup", params{"domain": "nope", "format": "npm", "package": "x"}},
		{"CreatePackageGroup", params{"domain": "nope", "packageGroup": "/npm/*"}},
	} {
		h.call(t, tc.op, tc.in).fail(t, http.StatusNotFound, "ResourceNotFoundException")
	}
	// Nothing was changed by the failures.
	out := h.call(t, "ListPackageGroups", params{"domain": fxDomain}).ok(t)
	if n := len(get(out, "packageGroups").([]any)); n != 2 {
		t.Errorf("%d groups after failed calls, want /* and /npm/acme/*: %v", n, out)
	}
}

// TestListPackageGroupsPages: pages of ListPackageGroups and
// ListSubPackageGroups cover every group once, in pattern order.
func TestListPackageGroupsPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seed(t)
	want := []string{"/*", "/npm/*", "/npm/a/*", "/npm/b/*", "/npm/c/*", "/npm/c/x$"}
	for _, p := range want[1:] {
		h.call(t, "CreatePackageGroup", params{"domain": fxDomain, "packageGroup": p}).ok(t)
	}
	var got []string
	token := ""
	for i := 0; i < 10; i++ {
		in := params{"domain": fxDomain, "maxResults": 2}
		if token != "" {
			in["nextToken"] = token
		}
		out := h.call(t, "ListPackageGroups", in).ok(t)
		for _, g := range get(out, "packageGroups").([]any) {
			got = append(got, str(g, "pattern"))
		}
		if token = str(out, "nextToken"); token == "" {
			break
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("paged groups %v, want %v", got, want)
	}
	out := h.call(t, "ListSubPackageGroups", params{"domain": fxDomain, "packageGroup": "/npm/*"}).ok(t)
	var subs []string
	for _, g := range get(out, "packageGroups").([]any) {
		subs = append(subs, str(g, "pattern"))
	}
	if strings.Join(subs, " ") != "/npm/a/* /npm/b/* /npm/c/*" {
		t.Errorf("direct children of /npm/*: %v", subs)
	}
}
