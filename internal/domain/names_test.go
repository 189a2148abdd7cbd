package domain

import (
	"errors"
	"strings"
	"testing"
)

// nameCase is a value and whether the service model accepts it.
type nameCase struct {
	name string
	s    string
	want bool
}

// checkNames runs a validator over cases whose want is the model's answer.
// It first checks the case against the model (so the table is the model),
// then the validator against the case, skipping a disagreement a known
// bug explains and passing one a deliberate rule explains.
func checkNames(t *testing.T, validatorName string, cases []nameCase) {
	t.Helper()
	v := validatorNamed(t, validatorName)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if model := v.shape.accepts(tc.s); model != tc.want {
				t.Fatalf("%s %q: the model says %v; the table says %v", v.shape.name, tc.s, model, tc.want)
			}
			err := v.validate(tc.s)
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: %v does not wrap ErrInvalid", tc.s, err)
			}
			if got := err == nil; got != tc.want {
				d := known(v.name, tc.s)
				switch {
				case d == nil:
					t.Fatalf("%q: accepted=%v (%v), the model says %v", tc.s, got, err, tc.want)
				case d.fix == "":
					t.Logf("%q: deliberately stricter than the model: %s", tc.s, d.what)
				default:
					t.Skipf("%q: known bug: names.go %s; fix: %s", tc.s, d.what, d.fix)
				}
			}
		})
	}
}

// rep repeats s n times.
func rep(s string, n int) string { return strings.Repeat(s, n) }

func TestValidateDomainName(t *testing.T) {
	checkNames(t, "domain name", []nameCase{
		{"empty", "", false},
		{"1 char", "a", false},
		{"2 chars", "ab", true},
		{"letter then digit", "a1", true},
		{"leading digit", "1a", false},
		{"leading hyphen", "-ab", false},
		{"trailing hyphen", "ab-", false},
		{"inner hyphen", "a-b", true},
		{"double hyphen", "a--b", true},
		{"uppercase first", "Ab", false},
		{"uppercase last", "aB", false},
		{"underscore", "a_b", false},
		{"dot", "a.b", false},
		{"space", "a b", false},
		{"unicode letter", "café", false},
		{"cyrillic lookalike", "\u0430b", false},
		{"trailing newline", "ab\n", false},
		{"50 chars", "a" + rep("b", 49), true},
		{"51 chars", "a" + rep("b", 50), false},
		{"50 chars ending in hyphen", "a" + rep("b", 48) + "-", false},
	})
}

func TestValidateRepositoryName(t *testing.T) {
	checkNames(t, "repository name", []nameCase{
		{"empty", "", false},
		{"1 char", "a", false},
		{"2 chars", "ab", true},
		{"uppercase and digit", "A1", true},
		{"leading digit", "1a", true},
		{"mixed", "NPM-store_2.x", true},
		{"leading hyphen", "-ab", false},
		{"leading dot", ".ab", false},
		{"leading underscore", "_ab", false},
		{"trailing hyphen", "ab-", true},
		{"trailing dot", "ab.", true},
		{"space", "a b", false},
		{"slash", "a/b", false},
		{"colon", "a:b", false},
		{"unicode letter", "café", false},
		{"trailing newline", "ab\n", false},
		{"100 chars", rep("a", 100), true},
		{"101 chars", rep("a", 101), false},
	})
}

func TestValidateExternalConnectionName(t *testing.T) {
	checkNames(t, "external connection name", []nameCase{
		{"npmjs", "public:npmjs", true},
		{"maven central", "public:maven-central", true},
		{"1 char", "p", false},
		{"leading colon", ":npmjs", false},
		{"slash", "public/npmjs", false},
		{"100 chars", rep("a", 100), true},
		{"101 chars", rep("a", 101), false},
	})
}

// packagePartCases are common to namespaces, names and versions, which
// share one shape: 1-255 characters, none of them '#', '/' or white space.
func packagePartCases(typical string) []nameCase {
	return []nameCase{
		{"typical", typical, true},
		{"empty", "", false},
		{"1 char", "a", true},
		{"hash", "a#b", false},
		{"slash", "a/b", false},
		{"space", "a b", false},
		{"tab", "a\tb", false},
		{"newline", "a\nb", false},
		{"trailing newline", typical + "\n", false},
		{"vertical tab (Java \\s)", "a\vb", false},
		{"form feed", "a\fb", false},
		{"no-break space (Java \\s is ASCII)", "a\u00a0b", true},
		{"NUL (not excluded by the model)", "a\x00b", true},
		{"uppercase", "Left-Pad", true},
		{"accented", "pàckage", true},
		{"CJK", "日本語", true},
		{"dot dot", "..", true},
		{"255 chars", rep("a", 255), true},
		{"256 chars", rep("a", 256), false},
		{"255 two-byte chars", rep("é", 255), true},
		{"256 two-byte chars", rep("é", 256), false},
		{"255 four-byte chars", rep("📦", 255), true},
		{"invalid UTF-8", "a\xffb", false},
	}
}

func TestValidatePackageNamespace(t *testing.T) {
	checkNames(t, "namespace", packagePartCases("com.example"))
}

func TestValidatePackageName(t *testing.T) {
	checkNames(t, "package name", append(packagePartCases("left-pad"),
		nameCase{"npm scope in the name", "@acme/left-pad", false},
	))
}

func TestValidateVersion(t *testing.T) {
	checkNames(t, "version", append(packagePartCases("1.0.0"),
		nameCase{"semver pre-release and build", "1.0.0-beta.1+build.5", true},
		nameCase{"PEP 440 epoch and local", "1!2.0.post1+ubuntu.1", true},
		nameCase{"maven snapshot", "1.0-SNAPSHOT", true},
	))
}

func TestValidatePackageRef(t *testing.T) {
	long := rep("a", 256)
	cases := []struct {
		name string
		ref  PackageRef
		ok   bool
	}{
		{"npm without namespace", PackageRef{FormatNPM, "", "left-pad"}, true},
		{"npm with scope", PackageRef{FormatNPM, "acme", "left-pad"}, true},
		{"pypi", PackageRef{FormatPyPI, "", "requests"}, true},
		{"maven", PackageRef{FormatMaven, "org.apache.commons", "commons-lang3"}, true},
		{"maven without namespace", PackageRef{FormatMaven, "", "commons-lang3"}, false},
		{"generic", PackageRef{FormatGeneric, "tools", "cli"}, true},
		{"generic without namespace", PackageRef{FormatGeneric, "", "cli"}, false},
		{"no format", PackageRef{"", "", "left-pad"}, false},
		{"unknown format", PackageRef{"nuget", "", "Newtonsoft.Json"}, false},
		{"format case", PackageRef{"NPM", "", "left-pad"}, false},
		{"no name", PackageRef{FormatNPM, "", ""}, false},
		{"namespace with slash", PackageRef{FormatMaven, "org/apache", "x"}, false},
		{"namespace too long", PackageRef{FormatGeneric, long, "x"}, false},
		{"name too long", PackageRef{FormatNPM, "", long}, false},
		{"name with slash", PackageRef{FormatGeneric, "tools", "a/b"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePackageRef(tc.ref)
			if (err == nil) != tc.ok {
				t.Fatalf("%+v: err = %v, want ok=%v", tc.ref, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("%v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestValidateAssetName(t *testing.T) {
	checkNames(t, "asset name", []nameCase{
		{"tarball", "left-pad-1.0.0.tgz", true},
		{"wheel", "requests-2.31.0-py3-none-any.whl", true},
		{"empty", "", false},
		{"1 char", "a", true},
		{"space", "my file.txt", true},
		{"slash (allowed by the model)", "a/b", true},
		{"hash", "a#b", true},
		{"tab", "a\tb", false},
		{"newline", "a\nb", false},
		{"NUL", "a\x00", false},
		{"DEL", "a\x7f", false},
		{"soft hyphen (Cf)", "a\u00adb", false},
		{"zero-width space (Cf)", "a\u200bb", false},
		{"byte order mark (Cf)", "\ufeffa", false},
		{"private use (Co)", "a\ue000", false},
		{"unassigned (Cn)", "a\u0378", false},
		{"noncharacter (Cn)", "a\uffff", false},
		{"emoji", "📦.tgz", true},
		{"dot", ".", true},
		{"dot dot", "..", true},
		{"three dots", "...", true},
		{"255 two-byte chars", rep("é", 255), true},
		{"256 two-byte chars", rep("é", 256), false},
		{"invalid UTF-8", "a\xffb", false},
	})
}

func TestValidateRevision(t *testing.T) {
	checkNames(t, "revision", []nameCase{
		{"typical", "+Oz8skWbwY3k8M6SrNIqNj6bVH/ax+CxvkJx+No5j8I=", true},
		{"empty", "", false},
		{"1 char", "a", true},
		{"space", "a b", false},
		{"tab", "a\tb", false},
		{"vertical tab (Java \\s)", "a\vb", false},
		{"no-break space (Java \\s is ASCII)", "a\u00a0b", true},
		{"50 chars", rep("a", 50), true},
		{"51 chars", rep("a", 51), false},
		{"26 two-byte chars", rep("é", 26), true},
		{"50 two-byte chars", rep("é", 50), true},
		{"51 two-byte chars", rep("é", 51), false},
		{"invalid UTF-8", "a\xffb", false},
	})
}

func TestValidateDescription(t *testing.T) {
	checkNames(t, "description", []nameCase{
		{"empty", "", true},
		{"typical", "Proxy of the public npm registry.", true},
		{"unicode", "Dépôt 📦 日本語", true},
		{"1000 chars", rep("a", 1000), true},
		{"1001 chars", rep("a", 1001), false},
		{"1000 two-byte chars", rep("é", 1000), true},
		{"1001 two-byte chars", rep("é", 1001), false},
		{"newline", "line one\nline two", false},
		{"tab", "a\tb", false},
		{"NUL", "a\x00b", false},
		{"zero-width space", "a\u200bb", false},
		{"invalid UTF-8", "a\xffb", false},
	})
}

func TestValidateFormat(t *testing.T) {
	checkNames(t, "format", []nameCase{
		{"npm", "npm", true},
		{"pypi", "pypi", true},
		{"maven", "maven", true},
		{"generic", "generic", true},
		{"nuget (not implemented here)", "nuget", true},
		{"cargo (not implemented here)", "cargo", true},
		{"uppercase", "NPM", false},
		{"empty", "", false},
		{"trailing space", "npm ", false},
	})
	if len(Formats) != 4 {
		t.Errorf("Formats = %q", Formats)
	}
	for _, f := range Formats {
		if !formatShape.accepts(string(f)) {
			t.Errorf("format %q is not in the model", f)
		}
	}
}
