package policy

import (
	"strings"
	"unicode/utf8"
)

// glob reports whether s matches pattern, where '*' matches any run of
// characters (':' and '/' included) and '?' exactly one character. It is
// case-sensitive and runs in O(len(pattern)*len(s)) at worst.
func glob(pattern, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0 // just after the last '*' seen, and where s was then
	for si < len(s) {
		if pi < len(pattern) {
			pc, pw := utf8.DecodeRuneInString(pattern[pi:])
			_, sw := utf8.DecodeRuneInString(s[si:])
			switch {
			case pc == '*':
				pi += pw
				star, mark = pi, si
				continue
			case pc == '?' || pattern[pi:pi+pw] == s[si:si+sw]:
				pi, si = pi+pw, si+sw
				continue
			}
		}
		if star < 0 {
			return false
		}
		// Let the last '*' swallow one more character and retry.
		_, w := utf8.DecodeRuneInString(s[mark:])
		mark += w
		pi, si = star, mark
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// arnLike is ArnLike and ArnEquals (which AWS treats alike): each of the
// six ':'-separated fields of value (the last keeps any further ':') must
// match the same field of pattern, so '*' does not cross a ':' before the
// resource field. A pattern or value with fewer fields matches only when
// the pattern is "*".
func arnLike(pattern, value string) bool {
	pp := strings.SplitN(pattern, ":", 6)
	vp := strings.SplitN(value, ":", 6)
	if len(pp) != 6 || len(vp) != 6 {
		return strings.Trim(pattern, "*") == "" && pattern != ""
	}
	for i := range pp {
		if !glob(pp[i], vp[i]) {
			return false
		}
	}
	return true
}

// actionMatches reports whether action matches one of the patterns,
// case-insensitively.
func actionMatches(patterns []string, action string) bool {
	action = strings.ToLower(action)
	for _, p := range patterns {
		if glob(strings.ToLower(p), action) {
			return true
		}
	}
	return false
}

// resourceMatches reports whether resource matches one of the patterns,
// case-sensitively.
func resourceMatches(patterns []string, resource string) bool {
	for _, p := range patterns {
		if glob(p, resource) {
			return true
		}
	}
	return false
}

// principalMatches reports whether the caller is one of the principals.
// "*" is everyone, anonymous callers included. An ARN other than an
// account's root ARN is that principal only. An account, named by its id
// or its root ARN, is the account's root principal; with members set it
// is also every other principal of the account. An anonymous caller
// belongs to no account.
func principalMatches(principals []string, req Request, members bool) bool {
	account := callerAccount(req)
	root := account != "" && rootAccount(req.Principal) == account
	for _, p := range principals {
		switch {
		case p == "*":
			return true
		case p == "":
		case namedAccount(p) != "":
			if account == namedAccount(p) && (root || members) {
				return true
			}
		case p == req.Principal:
			return true
		}
	}
	return false
}

// callerAccount returns the account the caller belongs to: Request.Account,
// else the account field of Request.Principal; "" for an anonymous caller.
func callerAccount(req Request) string {
	if anonymous(req.Principal) {
		return ""
	}
	if req.Account != "" {
		return req.Account
	}
	return accountOf(req.Principal)
}

// anonymous reports whether a request principal names no one.
func anonymous(principal string) bool { return principal == "" || principal == "*" }

// namedAccount returns the account a policy principal names, as a 12-digit
// id or as its root ARN, or "" when it names no account.
func namedAccount(p string) string {
	if isAccountID(p) {
		return p
	}
	if a := rootAccount(p); isAccountID(a) {
		return a
	}
	return ""
}

// accountOf returns the account field of an ARN, or "".
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// rootAccount returns the account of "arn:<partition>:iam::<account>:root",
// or "" for anything else.
func rootAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[3] != "" || parts[5] != "root" {
		return ""
	}
	return parts[4]
}
