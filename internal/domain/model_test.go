package domain

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// shape is a string shape of the CodeArtifact service model, the source of
// truth for names.go: botocore/data/codeartifact/2018-09-22/service-2.json
// (https://github.com/boto/botocore/tree/develop/botocore/data/codeartifact).
type shape struct {
	name     string   // the shape's name in the model
	min, max int      // length in characters (Unicode code points)
	pattern  string   // as the model writes it
	enum     []string // the allowed values, for an enum shape
	re       *regexp.Regexp
}

// javaClasses rewrites the model's Java regular expressions for Go's
// regexp. Java's \s is [ \t\n\x0B\f\r]: ASCII only, like Go's, but with
// the vertical tab Go's lacks; that is POSIX [:space:] in Go (the model
// writes \s only inside a bracket expression). \p{C} means the same in
// both, unassigned code points included.
var javaClasses = strings.NewReplacer(`\s`, `[:space:]`, `\S`, `[^[:space:]]`)

// stringShape returns a shape whose pattern must match the whole value,
// as the service matches it.
func stringShape(name string, min, max int, pattern string) shape {
	re := regexp.MustCompile(`^(?:` + javaClasses.Replace(pattern) + `)$`)
	return shape{name: name, min: min, max: max, pattern: pattern, re: re}
}

// The shapes names.go implements, copied from the model.
// TestModelShapes compares them with the model itself.
var (
	domainNameShape       = stringShape("DomainName", 2, 50, `[a-z][a-z0-9\-]{0,48}[a-z0-9]`)
	repositoryNameShape   = stringShape("RepositoryName", 2, 100, `[A-Za-z0-9][A-Za-z0-9._\-]{1,99}`)
	externalConnShape     = stringShape("ExternalConnectionName", 2, 100, `[A-Za-z0-9][A-Za-z0-9._\-:]{1,99}`)
	packageNamespaceShape = stringShape("PackageNamespace", 1, 255, `[^#/\s]+`)
	packageNameShape      = stringShape("PackageName", 1, 255, `[^#/\s]+`)
	packageVersionShape   = stringShape("PackageVersion", 1, 255, `[^#/\s]+`)
	assetNameShape        = stringShape("AssetName", 1, 255, `\P{C}+`)
	revisionShape         = stringShape("PackageVersionRevision", 1, 50, `\S+`)
	descriptionShape      = stringShape("Description", 0, 1000, `\P{C}*`)
	formatShape           = shape{name: "PackageFormat", enum: []string{"npm", "pypi", "maven", "nuget", "generic", "ruby", "swift", "cargo"}}
	statusShape           = shape{name: "PackageVersionStatus", enum: []string{"Published", "Unfinished", "Unlisted", "Archived", "Disposed", "Deleted"}}
)

// accepts reports whether the service accepts s for the shape: valid
// UTF-8 (the model's strings are Unicode text), a length in range and a
// match of the pattern; or, for an enum, one of its values.
func (sh shape) accepts(s string) bool {
	if sh.enum != nil {
		return slices.Contains(sh.enum, s)
	}
	n := utf8.RuneCountInString(s)
	return utf8.ValidString(s) && sh.min <= n && n <= sh.max && sh.re.MatchString(s)
}

// A validator is one of names.go's string validators with the model shape
// it implements.
type validator struct {
	name     string
	validate func(string) error
	shape    shape
}

// validators lists every string validator of names.go. Namespaces are
// checked as Maven's, which require one (the model's minimum is 1); names
// as npm's.
var validators = []validator{
	{"domain name", ValidateDomainName, domainNameShape},
	{"repository name", ValidateRepositoryName, repositoryNameShape},
	{"external connection name", ValidateExternalConnectionName, externalConnShape},
	{"namespace", func(s string) error {
		return ValidatePackageRef(PackageRef{Format: FormatMaven, Namespace: s, Name: "x"})
	}, packageNamespaceShape},
	{"package name", func(s string) error { return ValidatePackageRef(PackageRef{Format: FormatNPM, Name: s}) }, packageNameShape},
	{"version", ValidateVersion, packageVersionShape},
	{"asset name", ValidateAssetName, assetNameShape},
	{"revision", ValidateRevision, revisionShape},
	{"description", ValidateDescription, descriptionShape},
	{"format", func(s string) error { return ValidateFormat(Format(s)) }, formatShape},
}

func validatorNamed(t testing.TB, name string) validator {
	t.Helper()
	for _, v := range validators {
		if v.name == name {
			return v
		}
	}
	t.Fatalf("no validator %q", name)
	return validator{}
}

// A divergence is a known disagreement between names.go and the model.
// Deliberate ones are this registry's own, stricter rules; the others are
// bugs in names.go, and fix says how to mend them. Tests skip a case a
// bug explains, and TestKnownDivergences fails once names.go is fixed, so
// that the entry gets deleted.
type divergence struct {
	validators []string
	what       string
	fix        string // "" for a deliberate divergence
	hits       func(s string) bool
	example    string
}

var divergences = []divergence{
	{
		validators: []string{"asset name"},
		what:       `refuses "." and "..", which the model allows, so that an asset name is never a path step`,
		hits:       func(s string) bool { return s == "." || s == ".." },
		example:    "..",
	},
	{
		validators: []string{"format"},
		what:       "accepts only the formats this registry implements, not all the model's",
		hits:       func(s string) bool { return slices.Contains(formatShape.enum, s) },
		example:    "nuget",
	},
}

func isOther(r rune) bool { return unicode.Is(unicode.C, r) }

// known returns the divergence that explains validator v disagreeing with
// the model on s, or nil.
func known(v, s string) *divergence {
	for i := range divergences {
		d := &divergences[i]
		if slices.Contains(d.validators, v) && d.hits(s) {
			return d
		}
	}
	return nil
}

// TestKnownDivergences checks that each divergence still holds, so the
// list stays true: delete an entry once names.go agrees with the model.
func TestKnownDivergences(t *testing.T) {
	for _, d := range divergences {
		for _, name := range d.validators {
			v := validatorNamed(t, name)
			if !d.hits(d.example) {
				t.Errorf("%s: the example %q does not hit the divergence", name, d.example)
			}
			if (v.validate(d.example) == nil) == v.shape.accepts(d.example) {
				t.Errorf("%s: names.go now agrees with the model on %q; delete the divergence %q", name, d.example, d.what)
			}
		}
	}
}

// TestModelShapes compares the shapes above with the botocore model named
// by $CODEARTIFACT_SERVICE_MODEL (service-2.json or service-2.json.gz),
// e.g. $(python3 -c 'import botocore, os; print(os.path.dirname(botocore.__file__))')/data/codeartifact/2018-09-22/service-2.json.gz.
func TestModelShapes(t *testing.T) {
	path := os.Getenv("CODEARTIFACT_SERVICE_MODEL")
	if path == "" {
		t.Skip("set CODEARTIFACT_SERVICE_MODEL to botocore's codeartifact service-2.json(.gz) to compare")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = gz
	}
	var model struct {
		Shapes map[string]struct {
			Min     *int     `json:"min"`
			Max     *int     `json:"max"`
			Pattern string   `json:"pattern"`
			Enum    []string `json:"enum"`
		} `json:"shapes"`
	}
	if err := json.NewDecoder(r).Decode(&model); err != nil {
		t.Fatal(err)
	}
	for _, sh := range []shape{domainNameShape, repositoryNameShape, externalConnShape, packageNamespaceShape, packageNameShape,
		packageVersionShape, assetNameShape, revisionShape, descriptionShape, formatShape, statusShape} {
		m, ok := model.Shapes[sh.name]
		if !ok {
			t.Errorf("%s: not in the model", sh.name)
			continue
		}
		if sh.enum != nil {
			if !slices.Equal(m.Enum, sh.enum) {
				t.Errorf("%s: model enum %q, ours %q", sh.name, m.Enum, sh.enum)
			}
			continue
		}
		lo, hi := 0, -1
		if m.Min != nil {
			lo = *m.Min
		}
		if m.Max != nil {
			hi = *m.Max
		}
		if lo != sh.min || hi != sh.max || m.Pattern != sh.pattern {
			t.Errorf("%s: model min %d max %d pattern %q; ours %d %d %q", sh.name, lo, hi, m.Pattern, sh.min, sh.max, sh.pattern)
		}
	}
}
