package traffic

import (
	"fmt"

	"github.com/artifactd/registry/internal/domain"
)

// Set names one of a deployment group's two target sets.
type Set uint8

// The target sets. Blue is the original set, serving before a blue/green
// deployment; Green is the replacement. Any stands for both in alarm rules
// and snapshots; Proxy methods reject it.
const (
	Blue Set = iota
	Green
	Any
)

// String returns "blue", "green" or "any".
func (s Set) String() string {
	switch s {
	case Blue:
		return "blue"
	case Green:
		return "green"
	case Any:
		return "any"
	}
	return fmt.Sprintf("Set(%d)", uint8(s))
}

// ParseSet reads "blue", "green" or "any" (also "original" and
// "replacement", CodeDeploy's words for blue and green).
func ParseSet(s string) (Set, error) {
	switch s {
	case "blue", "original":
		return Blue, nil
	case "green", "replacement":
		return Green, nil
	case "any", "":
		return Any, nil
	}
	return 0, domain.Invalid("target set %q is not one of blue, green, any", s)
}

// MarshalText writes the set's name, for JSON and YAML.
func (s Set) MarshalText() ([]byte, error) {
	if s > Any {
		return nil, domain.Invalid("unknown target set %d", uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a name ParseSet accepts.
func (s *Set) UnmarshalText(b []byte) error {
	v, err := ParseSet(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
