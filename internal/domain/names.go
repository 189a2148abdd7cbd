package domain

import (
	"regexp"
	"unicode"
	"unicode/utf8"
)

// Name rules, from the botocore codeartifact service model (2018-09-22).
// A bounded repetition like {1,99} compiles to one instruction per
// repetition (tens of KB of heap for each pattern, for the process's
// life), so the patterns say + or * and the length is checked apart.
var (
	domainNameRE     = regexp.MustCompile(`^[a-z][a-z0-9\-]*[a-z0-9]$`)
	repositoryNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._\-]+$`)
	packagePartRE    = regexp.MustCompile(`^[^#/[:space:]]+$`)
	externalConnRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._\-:]+$`)
	revisionRE       = regexp.MustCompile(`^[^[:space:]]+$`)
)

// Printable reports whether s has no character of Unicode category C
// (control, format, private use, surrogate): the models' \P{C}*. A byte
// that is not UTF-8 counts as U+FFFD, as it does for regexp.
func Printable(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.C, r) {
			return false
		}
	}
	return true
}

// ValidateDomainName checks a domain name (2-50 chars, lowercase, digits, '-').
func ValidateDomainName(s string) error {
	if len(s) > 50 || !domainNameRE.MatchString(s) {
		return Invalid("domain name %q must match [a-z][a-z0-9\\-]{0,48}[a-z0-9]", s)
	}
	return nil
}

// ValidateRepositoryName checks a repository name (2-100 chars).
func ValidateRepositoryName(s string) error {
	if len(s) > 100 || !repositoryNameRE.MatchString(s) {
		return Invalid("repository name %q must match [A-Za-z0-9][A-Za-z0-9._\\-]{1,99}", s)
	}
	return nil
}

// ValidateExternalConnectionName checks an external connection name.
func ValidateExternalConnectionName(s string) error {
	if len(s) > 100 || !externalConnRE.MatchString(s) {
		return Invalid("external connection name %q is not valid", s)
	}
	return nil
}

func validatePart(field, s string, optional bool) error {
	if s == "" && optional {
		return nil
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 255 || !packagePartRE.MatchString(s) {
		return Invalid("%s %q must be 1-255 characters without '#', '/' or whitespace", field, s)
	}
	return nil
}

// ValidatePackageRef checks a format, namespace and name. Generic and Maven
// packages require a namespace.
func ValidatePackageRef(p PackageRef) error {
	if err := ValidateFormat(p.Format); err != nil {
		return err
	}
	if err := validatePart("namespace", p.Namespace, true); err != nil {
		return err
	}
	if err := validatePart("package", p.Name, false); err != nil {
		return err
	}
	if p.Namespace == "" && (p.Format == FormatGeneric || p.Format == FormatMaven) {
		return Invalid("namespace is required for %s packages", p.Format)
	}
	return nil
}

// ValidateVersion checks a package version string.
func ValidateVersion(v string) error { return validatePart("version", v, false) }

// ValidateAssetName checks an asset name (1-255 printable characters).
func ValidateAssetName(s string) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 255 || s == "" || !Printable(s) || s == "." || s == ".." {
		return Invalid("asset name %q must be 1-255 printable characters", s)
	}
	return nil
}

// ValidateRevision checks a version revision.
func ValidateRevision(s string) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 50 || !revisionRE.MatchString(s) {
		return Invalid("revision %q is not valid", s)
	}
	return nil
}

// ValidateFormat checks that f is a known format.
func ValidateFormat(f Format) error {
	for _, k := range Formats {
		if f == k {
			return nil
		}
	}
	return Invalid("format %q must be one of npm, pypi, maven, generic", string(f))
}

// ValidateDescription checks a repository description (at most 1000 chars).
func ValidateDescription(s string) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 1000 || !Printable(s) {
		return Invalid("description must be at most 1000 printable characters")
	}
	return nil
}

// MaxUpstreams is the number of direct upstreams a repository may have.
const MaxUpstreams = 10

// MaxPolicyLength is the longest permissions policy document accepted.
const MaxPolicyLength = 7168
