package domain

import "testing"

func TestPrincipalARN(t *testing.T) {
	const account = "123456789012"
	cases := []struct {
		name string
		p    Principal
		want string
	}{
		{"root", Principal{Name: "root", Root: true}, "arn:aws:iam::123456789012:root"},
		{"root ignores name and path", Principal{Name: "admin", Path: "/ops/", Root: true}, "arn:aws:iam::123456789012:root"},
		{"user, default path", Principal{Name: "alice", Path: "/"}, "arn:aws:iam::123456789012:user/alice"},
		{"user, empty path", Principal{Name: "alice"}, "arn:aws:iam::123456789012:user/alice"},
		{"user, nested path", Principal{Name: "alice", Path: "/engineering/ci/"}, "arn:aws:iam::123456789012:user/engineering/ci/alice"},
		{"user named root", Principal{Name: "root"}, "arn:aws:iam::123456789012:user/root"},
		{"user name with IAM punctuation", Principal{Name: "a.b+c=d,e@f_g-h"}, "arn:aws:iam::123456789012:user/a.b+c=d,e@f_g-h"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.ARN(account); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
