package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

func TestParseForms(t *testing.T) {
	cases := []struct {
		name string
		kind Kind
		doc  string
		want *Document
	}{
		{
			"statement object, strings", Identity,
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"codeartifact:*","Resource":"*"}}`,
			&Document{Version: "2012-10-17", Statements: []Statement{{Effect: EffectAllow, Actions: []string{"codeartifact:*"}, Resources: []string{"*"}}}},
		},
		{
			"statement array, arrays, NotAction, NotResource, Id, Sid", Identity,
			`{"Id":"p1","Statement":[{"Sid":"A1","Effect":"Deny","NotAction":["codeartifact:Get*","sts:GetCallerIdentity"],"NotResource":["arn:aws:codeartifact:*:*:domain/d"]}]}`,
			&Document{ID: "p1", Statements: []Statement{{Sid: "A1", Effect: EffectDeny, NotActions: []string{"codeartifact:Get*", "sts:GetCallerIdentity"}, NotResources: []string{"arn:aws:codeartifact:*:*:domain/d"}}}},
		},
		{
			"principal star, no resource", Resource,
			`{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"codeartifact:ReadFromRepository"}]}`,
			&Document{Version: "2008-10-17", Statements: []Statement{{Effect: EffectAllow, Principals: []string{"*"}, Actions: []string{"codeartifact:ReadFromRepository"}}}},
		},
		{
			"principal AWS forms", Resource,
			`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:user/path/alice","*"]},"Action":"*"},
			  {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"codeartifact:Delete*","Resource":"*"}]}`,
			&Document{Statements: []Statement{
				{Effect: EffectAllow, Principals: []string{"123456789012", "arn:aws:iam::123456789012:user/path/alice", "*"}, Actions: []string{"*"}},
				{Effect: EffectDeny, NotPrincipals: []string{"arn:aws:iam::123456789012:root"}, Actions: []string{"codeartifact:Delete*"}, Resources: []string{"*"}},
			}},
		},
		{
			"conditions in document order, JSON scalars kept as text", Identity,
			`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
			  "StringLike":{"aws:username":["a*","b?"],"aws:PrincipalAccount":"123456789012"},
			  "Bool":{"aws:SecureTransport":true},
			  "ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":[1,2.5,"x"]},
			  "Null":{"aws:TokenIssueTime":"false"}}}}`,
			&Document{Statements: []Statement{{Effect: EffectAllow, Actions: []string{"*"}, Resources: []string{"*"}, Conditions: []Condition{
				{Operator: "StringLike", Key: "aws:username", Values: []string{"a*", "b?"}},
				{Operator: "StringLike", Key: "aws:PrincipalAccount", Values: []string{"123456789012"}},
				{Operator: "Bool", Key: "aws:SecureTransport", Values: []string{"true"}},
				{Operator: "ForAnyValue:StringEqualsIfExists", Key: "aws:TagKeys", Values: []string{"1", "2.5", "x"}},
				{Operator: "Null", Key: "aws:TokenIssueTime", Values: []string{"false"}},
			}}}},
		},
		{
			"variables are literal before 2012-10-17", Identity,
			`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${aws:username}"}}`,
			&Document{Version: "2008-10-17", Statements: []Statement{{Effect: EffectAllow, Actions: []string{"*"}, Resources: []string{"arn:aws:s3:::b/${aws:username}"}}}},
		},
		{
			"resource-based sid may have spaces", Resource,
			`{"Statement":{"Sid":"read for all","Effect":"Allow","Principal":"*","Action":"*"}}`,
			&Document{Statements: []Statement{{Sid: "read for all", Effect: EffectAllow, Principals: []string{"*"}, Actions: []string{"*"}}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.doc, tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const ok = `"Effect":"Allow","Action":"codeartifact:*"`
	identity := func(stmt string) string { return `{"Version":"2012-10-17","Statement":[{` + stmt + `}]}` }
	cases := []struct {
		name   string
		kind   Kind
		doc    string
		substr string
	}{
		{"not JSON", Identity, `{"Statement":`, "Syntax errors in policy"},
		{"trailing junk", Identity, identity(ok+`,"Resource":"*"`) + "x", "Syntax errors in policy"},
		{"not an object", Identity, `[]`, "policy document must be a JSON object"},
		{"not UTF-8", Identity, identity(ok + `,"Resource":"arn:` + "\xff" + `"`), "not valid UTF-8"},
		{"unknown kind", Kind(0), identity(ok + `,"Resource":"*"`), "unknown policy kind"},
		{"version", Identity, `{"Version":"2012-10-18","Statement":{` + ok + `,"Resource":"*"}}`, `Version must be "2012-10-17" or "2008-10-17"`},
		{"version not string", Identity, `{"Version":2012,"Statement":{` + ok + `,"Resource":"*"}}`, "Version must be a string"},
		{"unknown top-level element", Identity, `{"Statement":{` + ok + `,"Resource":"*"},"Extra":1}`, `unknown element "Extra"`},
		{"lower-case element", Identity, `{"statement":{` + ok + `,"Resource":"*"}}`, `unknown element "statement"`},
		{"duplicate key", Identity, `{"Statement":{` + ok + `,"Effect":"Deny","Resource":"*"}}`, `"Effect" twice`},
		{"no statement", Identity, `{"Version":"2012-10-17"}`, "must contain a Statement"},
		{"empty statement list", Identity, `{"Statement":[]}`, "Statement must not be empty"},
		{"statement not object", Identity, `{"Statement":["x"]}`, "Statement[0] must be a JSON object"},
		{"statement null", Identity, `{"Statement":null}`, "must be a JSON object"},
		{"unknown statement element", Identity, identity(ok + `,"Resource":"*","Actions":"x:y"`), `Statement[0] has an unknown element "Actions"`},
		{"no effect", Identity, identity(`"Action":"a:b","Resource":"*"`), "Effect is required"},
		{"effect case", Identity, identity(`"Effect":"allow","Action":"a:b","Resource":"*"`), `Effect must be "Allow" or "Deny", not "allow"`},
		{"no action", Identity, identity(`"Effect":"Allow","Resource":"*"`), "must contain actions"},
		{"action and notaction", Identity, identity(ok + `,"NotAction":"a:b","Resource":"*"`), "Action or NotAction, not both"},
		{"action without vendor", Identity, identity(`"Effect":"Allow","Action":"ListDomains","Resource":"*"`), "prefaced by a vendor"},
		{"action empty array", Identity, identity(`"Effect":"Allow","Action":[],"Resource":"*"`), "Action must not be an empty array"},
		{"action number", Identity, identity(`"Effect":"Allow","Action":7,"Resource":"*"`), "Action must be a string or an array of strings"},
		{"action array with number", Identity, identity(`"Effect":"Allow","Action":["a:b",7],"Resource":"*"`), "Action must be a string or an array of strings"},
		{"identity principal", Identity, identity(ok + `,"Principal":"*","Resource":"*"`), "should not specify a principal"},
		{"identity no resource", Identity, identity(ok), "must contain resources"},
		{"identity sid", Identity, identity(`"Sid":"not ok",` + ok + `,"Resource":"*"`), "(Sid \"not ok\"): Statement IDs (SID) must be alpha-numeric"},
		{"duplicate sid", Identity, `{"Statement":[{"Sid":"A",` + ok + `,"Resource":"*"},{"Sid":"A",` + ok + `,"Resource":"*"}]}`, "must be unique"},
		{"resource and notresource", Identity, identity(ok + `,"Resource":"*","NotResource":"*"`), "Resource or NotResource, not both"},
		{"resource not arn", Identity, identity(ok + `,"Resource":"domain/d"`), `Resource "domain/d" must be in ARN format or "*"`},
		{"resource variable", Identity, identity(ok + `,"Resource":"arn:aws:s3:::b/${aws:username}"`), "policy variables"},
		{"resource policy without principal", Resource, identity(ok), "must contain Principal or NotPrincipal"},
		{"principal and notprincipal", Resource, identity(ok + `,"Principal":"*","NotPrincipal":"*"`), "Principal or NotPrincipal, not both"},
		{"principal string not star", Resource, identity(ok + `,"Principal":"123456789012"`), `must be "*" or an object`},
		{"principal service", Resource, identity(ok + `,"Principal":{"Service":"codebuild.amazonaws.com"}`), `principal type "Service" is not supported`},
		{"principal unknown type", Resource, identity(ok + `,"Principal":{"aws":"*"}`), `unknown principal type "aws"`},
		{"principal empty object", Resource, identity(ok + `,"Principal":{}`), "at least one principal"},
		{"principal bad account", Resource, identity(ok + `,"Principal":{"AWS":"12345"}`), "Invalid principal in policy"},
		{"principal wildcard arn", Resource, identity(ok + `,"Principal":{"AWS":"arn:aws:iam::123456789012:user/*"}`), "Invalid principal in policy"},
		{"principal s3 arn", Resource, identity(ok + `,"Principal":{"AWS":"arn:aws:s3:::bucket"}`), "Invalid principal in policy"},
		{"condition unknown operator", Identity, identity(ok + `,"Resource":"*","Condition":{"StringEqualz":{"aws:username":"a"}}`), `condition operator "StringEqualz" is not supported`},
		{"condition numeric", Identity, identity(ok + `,"Resource":"*","Condition":{"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}`), `"NumericLessThan" is not supported`},
		{"condition NullIfExists", Identity, identity(ok + `,"Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}`), "is not supported"},
		{"condition ForAnyValue:Null", Identity, identity(ok + `,"Resource":"*","Condition":{"ForAnyValue:Null":{"aws:username":"true"}}`), "is not supported"},
		{"condition operator case", Identity, identity(ok + `,"Resource":"*","Condition":{"stringequals":{"aws:username":"a"}}`), "is not supported"},
		{"condition no keys", Identity, identity(ok + `,"Resource":"*","Condition":{"StringEquals":{}}`), "has no condition keys"},
		{"condition key without vendor", Identity, identity(ok + `,"Resource":"*","Condition":{"StringEquals":{"username":"a"}}`), "prefaced by a vendor"},
		{"condition null value", Identity, identity(ok + `,"Resource":"*","Condition":{"StringEquals":{"aws:username":null}}`), "values must be strings, booleans or numbers"},
		{"condition object value", Identity, identity(ok + `,"Resource":"*","Condition":{"StringEquals":{"aws:username":{"a":1}}}`), "values must be strings, booleans or numbers"},
		{"condition empty values", Identity, identity(ok + `,"Resource":"*","Condition":{"StringEquals":{"aws:username":[]}}`), "must not be an empty array"},
		{"condition bool value", Identity, identity(ok + `,"Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}`), `Bool takes "true" or "false", not "yes"`},
		{"condition variable", Identity, identity(ok + `,"Resource":"*","Condition":{"StringEquals":{"aws:username":"${aws:username}"}}`), "policy variables"},
		{"condition not object", Identity, identity(ok + `,"Resource":"*","Condition":"x"`), "Condition must be a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse(tc.doc, tc.kind)
			if err == nil {
				t.Fatalf("parsed: %+v", d)
			}
			if !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("%v does not wrap domain.ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.substr) {
				t.Fatalf("got %q, want it to contain %q", err, tc.substr)
			}
		})
	}
}

func TestParseLength(t *testing.T) {
	// doc returns a valid policy of exactly n characters, white space not
	// counted, with as much white space again.
	doc := func(kind Kind, n int) string {
		head := `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:`
		if kind == Identity {
			head = `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:`
		}
		tail := `"}}`
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail + strings.Repeat(" \n\t\r", n/4)
	}
	cases := []struct {
		name string
		kind Kind
		n    int
		ok   bool
	}{
		{"identity at limit", Identity, MaxIdentityLength, true},
		{"identity over", Identity, MaxIdentityLength + 1, false},
		{"resource at limit", Resource, MaxResourceLength, true},
		{"resource over", Resource, MaxResourceLength + 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := doc(tc.kind, tc.n)
			if got := length(d); got != tc.n {
				t.Fatalf("test document is %d characters, want %d", got, tc.n)
			}
			_, err := Parse(d, tc.kind)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "characters long") {
				t.Fatalf("unexpected error %v", err)
			}
		})
	}
	if _, err := Parse(strings.Repeat(" ", maxRawLength+1), Resource); err == nil || !strings.Contains(err.Error(), "bytes long") {
		t.Fatalf("huge document: %v", err)
	}
}
