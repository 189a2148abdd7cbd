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

// principalMatches reports whether the caller is one of the principals:
// "*" is everyone; an account id or an account's root ARN is every
// principal of that account; any other ARN is that principal only.
func principalMatches(principals []string, req Request) bool {
	account := req.Account
	if account == "" {
		account = accountOf(req.Principal)
	}
	for _, p := range principals {
		switch {
		case p == "*":
			return true
		case p == "":
		case isAccountID(p), isAccountID(rootAccount(p)):
			if account != "" && (account == p || account == rootAccount(p)) {
				return true
			}
		case p == req.Principal:
			return true
		}
	}
	return false
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
