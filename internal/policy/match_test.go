package policy

import (
	"strings"
	"testing"
)

func TestGlob(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "arn:aws:codeartifact:us-east-1:123456789012:repository/d/r", true},
		{"abc", "abc", true},
		{"abc", "abC", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "aéc", true},
		{"a??c", "aéc", false},
		{"a*c", "ac", true},
		{"a*c", "abbbbc", true},
		{"a*c", "abbbbd", false},
		{"*c", "abc:/c", true},
		{"a*b*c", "a-b-b-c", true},
		{"a*b*c", "a-c-b", false},
		{"**", "x", true},
		{"*?", "", false},
		{"*?", "x", true},
		{"arn:aws:codeartifact:*:*:package/d/r/*", "arn:aws:codeartifact:us-east-1:123456789012:package/d/r/npm//left-pad", true},
		{"arn:aws:codeartifact:*:*:package/d/r/*", "arn:aws:codeartifact:us-east-1:123456789012:repository/d/r", false},
		{"arn:aws:codeartifact:*", "arn:aws:codeartifact:us-east-1:1:domain/d", true},
		{"\xff*", "\xff\xfe", true},
		{"\xfe", "\xff", false},
		{"?", "\xff", true},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 200), false},
	}
	for _, tc := range cases {
		if got := glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestArnLike(t *testing.T) {
	cases := []struct {
		pattern, value string
		want           bool
	}{
		{"arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice", true},
		{"arn:aws:iam::123456789012:user/*", "arn:aws:iam::123456789012:user/alice", true},
		{"arn:aws:iam::*:root", "arn:aws:iam::123456789012:root", true},
		{"arn:aws:iam::*:root", "arn:aws:iam::123456789012:user/root", false},
		// '*' stays within its field when both are ARNs.
		{"arn:aws:iam:*:root", "arn:aws:iam::123456789012:root", false},
		{"arn:aws:codeartifact:*:*:repository/d/*", "arn:aws:codeartifact:us-east-1:123456789012:repository/d/r:x", true},
		{"arn:aws:iam::123456789012:user/Alice", "arn:aws:iam::123456789012:user/alice", false},
		{"*", "arn:aws:iam::123456789012:root", true},
		{"arn:aws:iam::123456789012:root", "not-an-arn", false},
		{"*", "not-an-arn", true},
		{"not-*", "not-an-arn", false},
		{"arn:aws:*", "arn:aws:iam::123456789012:root", false},
	}
	for _, tc := range cases {
		if got := arnLike(tc.pattern, tc.value); got != tc.want {
			t.Errorf("arnLike(%q, %q) = %v, want %v", tc.pattern, tc.value, got, tc.want)
		}
	}
}

func TestActionMatches(t *testing.T) {
	cases := []struct {
		patterns []string
		action   string
		want     bool
	}{
		{[]string{"*"}, "codeartifact:GetAuthorizationToken", true},
		{[]string{"codeartifact:*"}, "codeartifact:GetAuthorizationToken", true},
		{[]string{"codeartifact:*"}, "codepipeline:GetPipeline", false},
		{[]string{"CodeArtifact:get*"}, "codeartifact:GetAuthorizationToken", true},
		{[]string{"codeartifact:Get*"}, "codeartifact:ListDomains", false},
		{[]string{"codeartifact:Get*", "codeartifact:List*"}, "codeartifact:ListDomains", true},
		{[]string{"codeartifact:ReadFromRepository"}, "codeartifact:readfromrepository", true},
		{[]string{"codeartifact:?etDomain"}, "codeartifact:GetDomain", true},
		{[]string{"codeartifact:Get"}, "codeartifact:GetDomain", false},
	}
	for _, tc := range cases {
		if got := actionMatches(tc.patterns, tc.action); got != tc.want {
			t.Errorf("actionMatches(%q, %q) = %v, want %v", tc.patterns, tc.action, got, tc.want)
		}
	}
}

func TestPrincipalMatches(t *testing.T) {
	const (
		alice = "arn:aws:iam::123456789012:user/alice"
		root  = "arn:aws:iam::123456789012:root"
		other = "arn:aws:iam::210987654321:user/alice"
	)
	// want is the result for an allowing statement (members false), and
	// wantMembers for a denying one or NotPrincipal (members true).
	cases := []struct {
		name              string
		principals        []string
		req               Request
		want, wantMembers bool
	}{
		{"star, user", []string{"*"}, Request{Principal: alice}, true, true},
		{"star, anonymous", []string{"*"}, Request{}, true, true},
		{"star, anonymous as *", []string{"*"}, Request{Principal: "*"}, true, true},
		{"account id, user", []string{"123456789012"}, Request{Principal: alice}, false, true},
		{"account id, root", []string{"123456789012"}, Request{Principal: root}, true, true},
		{"account id, other account", []string{"123456789012"}, Request{Principal: other}, false, false},
		{"account id, root of other account", []string{"123456789012"}, Request{Principal: "arn:aws:iam::210987654321:root"}, false, false},
		{"account id, anonymous", []string{"123456789012"}, Request{}, false, false},
		{"account id, anonymous with Account", []string{"123456789012"}, Request{Principal: "*", Account: "123456789012"}, false, false},
		{"account id, explicit Account", []string{"123456789012"}, Request{Principal: "x", Account: "123456789012"}, false, true},
		{"account id, explicit Account, root", []string{"123456789012"}, Request{Principal: root, Account: "123456789012"}, true, true},
		{"account id, Account disagrees with root", []string{"123456789012"}, Request{Principal: root, Account: "210987654321"}, false, false},
		{"root arn, user", []string{root}, Request{Principal: alice}, false, true},
		{"root arn, root", []string{root}, Request{Principal: root}, true, true},
		{"root arn, other account", []string{root}, Request{Principal: other}, false, false},
		{"root arn in another partition", []string{"arn:aws-cn:iam::123456789012:root"}, Request{Principal: alice}, false, true},
		{"root arn in another partition, root", []string{"arn:aws-cn:iam::123456789012:root"}, Request{Principal: root}, true, true},
		{"user arn, same user", []string{alice}, Request{Principal: alice}, true, true},
		{"user arn, other user", []string{alice}, Request{Principal: "arn:aws:iam::123456789012:user/bob"}, false, false},
		{"user arn, same name in another account", []string{alice}, Request{Principal: other}, false, false},
		{"user arn, root of its account", []string{alice}, Request{Principal: root}, false, false},
		{"user arn case", []string{alice}, Request{Principal: "arn:aws:iam::123456789012:user/Alice"}, false, false},
		{"user arn, anonymous", []string{alice}, Request{}, false, false},
		{"user named root", []string{"arn:aws:iam::123456789012:user/root"}, Request{Principal: alice}, false, false},
		{"user named root, root", []string{"arn:aws:iam::123456789012:user/root"}, Request{Principal: root}, false, false},
		{"caller is a user named root", []string{"123456789012"}, Request{Principal: "arn:aws:iam::123456789012:user/root"}, false, true},
		{"list with account", []string{other, "123456789012"}, Request{Principal: alice}, false, true},
		{"list with user", []string{"123456789012", alice}, Request{Principal: alice}, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := principalMatches(tc.principals, tc.req, false); got != tc.want {
				t.Errorf("members=false: got %v, want %v", got, tc.want)
			}
			if got := principalMatches(tc.principals, tc.req, true); got != tc.wantMembers {
				t.Errorf("members=true: got %v, want %v", got, tc.wantMembers)
			}
		})
	}
}

// BenchmarkGlobWorstCase measures the O(len(pattern)*len(s)) bound: a
// star, then a long literal that almost matches at every offset of a long
// resource ARN.
func BenchmarkGlobWorstCase(b *testing.B) {
	pattern := "*" + strings.Repeat("a", 1023) + "b"
	s := strings.Repeat("a", 2048)
	for b.Loop() {
		if glob(pattern, s) {
			b.Fatal("matched")
		}
	}
}
