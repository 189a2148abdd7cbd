package policy

import "testing"

func TestConditionHolds(t *testing.T) {
	ctx := map[string][]string{
		"aws:username":         {"alice"},
		"aws:PrincipalArn":     {"arn:aws:iam::123456789012:user/alice"},
		"aws:SecureTransport":  {"true"},
		"aws:TagKeys":          {"team", "env"},
		"codeartifact:Missing": {},
	}
	cases := []struct {
		op, key string
		values  []string
		want    bool
	}{
		{"StringEquals", "aws:username", []string{"alice"}, true},
		{"StringEquals", "aws:username", []string{"Alice"}, false},
		{"StringEquals", "aws:username", []string{"bob", "alice"}, true}, // values are ORed
		{"StringEquals", "AWS:USERNAME", []string{"alice"}, true},        // keys are case-insensitive
		{"StringEquals", "aws:nothing", []string{"alice"}, false},
		{"StringEquals", "codeartifact:Missing", []string{""}, false}, // no values is absent
		{"StringNotEquals", "aws:username", []string{"bob"}, true},
		{"StringNotEquals", "aws:username", []string{"bob", "alice"}, false},
		{"StringNotEquals", "aws:nothing", []string{"bob"}, true}, // negated, absent: true
		{"StringEqualsIgnoreCase", "aws:username", []string{"ALICE"}, true},
		{"StringNotEqualsIgnoreCase", "aws:username", []string{"ALICE"}, false},
		{"StringLike", "aws:username", []string{"al*"}, true},
		{"StringLike", "aws:username", []string{"AL*"}, false},
		{"StringLike", "aws:username", []string{"a?ice"}, true},
		{"StringNotLike", "aws:username", []string{"b*"}, true},
		{"StringNotLike", "aws:username", []string{"a*"}, false},
		{"StringNotLike", "aws:nothing", []string{"a*"}, true},
		{"ArnEquals", "aws:PrincipalArn", []string{"arn:aws:iam::123456789012:user/alice"}, true},
		{"ArnLike", "aws:PrincipalArn", []string{"arn:aws:iam::*:user/*"}, true},
		{"ArnLike", "aws:PrincipalArn", []string{"arn:aws:iam::*:role/*"}, false},
		{"ArnNotEquals", "aws:PrincipalArn", []string{"arn:aws:iam::123456789012:user/bob"}, true},
		{"ArnNotLike", "aws:PrincipalArn", []string{"arn:aws:iam::123456789012:*"}, false},
		{"ArnLike", "aws:nothing", []string{"*"}, false},
		{"Bool", "aws:SecureTransport", []string{"true"}, true},
		{"Bool", "aws:SecureTransport", []string{"TRUE"}, true},
		{"Bool", "aws:SecureTransport", []string{"false"}, false},
		{"Bool", "aws:nothing", []string{"false"}, false},
		{"StringEqualsIfExists", "aws:nothing", []string{"x"}, true},
		{"StringEqualsIfExists", "aws:username", []string{"x"}, false},
		{"StringEqualsIfExists", "aws:username", []string{"alice"}, true},
		{"StringNotEqualsIfExists", "aws:username", []string{"alice"}, false},
		{"BoolIfExists", "aws:nothing", []string{"true"}, true},
		{"ArnLikeIfExists", "aws:PrincipalArn", []string{"arn:aws:iam::*:role/*"}, false},
		{"Null", "aws:nothing", []string{"true"}, true},
		{"Null", "aws:username", []string{"true"}, false},
		{"Null", "aws:username", []string{"false"}, true},
		{"Null", "aws:nothing", []string{"false"}, false},
		// Multi-valued keys.
		{"StringEquals", "aws:TagKeys", []string{"env"}, true},
		{"ForAnyValue:StringEquals", "aws:TagKeys", []string{"env"}, true},
		{"ForAnyValue:StringEquals", "aws:TagKeys", []string{"cost"}, false},
		{"ForAnyValue:StringEquals", "aws:nothing", []string{"env"}, false},
		{"ForAllValues:StringEquals", "aws:TagKeys", []string{"env", "team"}, true},
		{"ForAllValues:StringEquals", "aws:TagKeys", []string{"env"}, false},
		{"ForAllValues:StringEquals", "aws:nothing", []string{"env"}, true},
		{"ForAnyValue:StringNotEquals", "aws:TagKeys", []string{"env"}, true},
		{"ForAnyValue:StringNotEquals", "aws:TagKeys", []string{"env", "team"}, false},
		{"ForAllValues:StringNotEquals", "aws:TagKeys", []string{"cost"}, true},
		{"ForAllValues:StringNotEquals", "aws:TagKeys", []string{"env"}, false},
		{"ForAllValues:StringLike", "aws:TagKeys", []string{"*e*"}, true},
		{"ForAnyValue:StringEqualsIfExists", "aws:nothing", []string{"x"}, true},
		// Unknown operators never hold (Parse rejects them).
		{"NumericLessThan", "aws:username", []string{"1"}, false},
		{"StringNotEqualz", "aws:nothing", []string{"x"}, false},
	}
	for _, tc := range cases {
		c := Condition{Operator: tc.op, Key: tc.key, Values: tc.values}
		if got := c.holds(ctx); got != tc.want {
			t.Errorf("%s %s %q: got %v, want %v", tc.op, tc.key, tc.values, got, tc.want)
		}
	}
}

func TestConditionsAreANDed(t *testing.T) {
	doc := mustParse(t, Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*",
		"Condition":{"StringEquals":{"aws:username":"alice","aws:PrincipalAccount":["111111111111","123456789012"]},
		             "Bool":{"aws:SecureTransport":"true"}}}}`)
	cases := []struct {
		name string
		ctx  map[string][]string
		want Decision
	}{
		{"all hold", map[string][]string{"aws:username": {"alice"}, "aws:PrincipalAccount": {"123456789012"}, "aws:SecureTransport": {"true"}}, Allow},
		{"second key fails", map[string][]string{"aws:username": {"alice"}, "aws:PrincipalAccount": {"999999999999"}, "aws:SecureTransport": {"true"}}, NotApplicable},
		{"second operator fails", map[string][]string{"aws:username": {"alice"}, "aws:PrincipalAccount": {"111111111111"}, "aws:SecureTransport": {"false"}}, NotApplicable},
		{"key absent", map[string][]string{"aws:username": {"alice"}, "aws:SecureTransport": {"true"}}, NotApplicable},
		{"no context", nil, NotApplicable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := doc.Evaluate(Request{Action: "a:b", Resource: "arn:x", Context: tc.ctx}); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
