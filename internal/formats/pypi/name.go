package pypi

import (
	"regexp"
	"strings"

	"github.com/artifactd/registry/internal/domain"
)

// Project names (https://packaging.python.org/en/latest/specifications/name-normalization/):
// ASCII letters, digits, '.', '_' and '-', starting and ending with a
// letter or digit.
var nameRE = regexp.MustCompile(`^(?i:[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)

// maxNameLen bounds project names (the control plane's package name limit).
const maxNameLen = 255

// ValidName reports whether s is a valid project name.
func ValidName(s string) bool { return len(s) <= maxNameLen && nameRE.MatchString(s) }

// Normalize returns the normalised form of a project name (PEP 503): lower
// case, with every run of '.', '_' and '-' replaced by one '-'. It is the
// package name in the control plane and in index URLs.
func Normalize(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '.' || c == '_' || c == '-' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	if sep {
		b.WriteByte('-') // only for names ending in a separator, which are invalid anyway
	}
	return b.String()
}

// ref is the control-plane reference of a project: format "pypi", no
// namespace, the normalised name.
func ref(name string) domain.PackageRef {
	return domain.PackageRef{Format: domain.FormatPyPI, Name: Normalize(name)}
}

// checkName returns ErrInvalid unless s is a valid project name.
func checkName(field, s string) error {
	if !ValidName(s) {
		return domain.Invalid("%s %q is not a valid project name (letters, digits, '.', '_' and '-', starting and ending with a letter or digit)", field, s)
	}
	return nil
}
