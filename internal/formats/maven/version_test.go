package maven

import (
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// The vectors below are Maven's own, from ComparableVersionTest
// (apache/maven, compat/maven-artifact/src/test/java/org/apache/maven/
// artifact/versioning/ComparableVersionTest.java).

var versionsQualifier = []string{
	"1-alpha2snapshot", "1-alpha2", "1-alpha-123", "1-beta-2", "1-beta123", "1-m2", "1-m11", "1-rc", "1-cr2",
	"1-rc123", "1-SNAPSHOT", "1", "1-sp", "1-sp2", "1-sp123", "1-abc", "1-def", "1-pom-1", "1-1-snapshot",
	"1-1", "1-2", "1-123",
}

var versionsNumber = []string{
	"2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1", "2.1.0.1", "2.2",
	"2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11", "11.a", "11b", "11c", "11m",
}

func checkOrder(t *testing.T, versions ...string) {
	t.Helper()
	for i := 0; i < len(versions); i++ {
		for j := i + 1; j < len(versions); j++ {
			lo, hi := versions[i], versions[j]
			if c := CompareVersions(lo, hi); c >= 0 {
				t.Errorf("expected %s < %s, got %d", lo, hi, c)
			}
			if c := CompareVersions(hi, lo); c <= 0 {
				t.Errorf("expected %s > %s, got %d", hi, lo, c)
			}
		}
	}
}

func checkEqual(t *testing.T, a, b string) {
	t.Helper()
	if c := CompareVersions(a, b); c != 0 {
		t.Errorf("expected %s == %s, got %d", a, b, c)
	}
	if c := CompareVersions(b, a); c != 0 {
		t.Errorf("expected %s == %s, got %d", b, a, c)
	}
}

func TestVersionOrder(t *testing.T) {
	t.Run("qualifiers", func(t *testing.T) { checkOrder(t, versionsQualifier...) })
	t.Run("numbers", func(t *testing.T) { checkOrder(t, versionsNumber...) })
	t.Run("comparing", func(t *testing.T) {
		for _, p := range [][2]string{
			{"1", "2"}, {"1.5", "2"}, {"1", "2.5"}, {"1.0", "1.1"}, {"1.1", "1.2"}, {"1.0.0", "1.1"}, {"1.0.1", "1.1"}, {"1.1", "1.2.0"},
			{"1.0-alpha-1", "1.0"}, {"1.0-alpha-1", "1.0-alpha-2"}, {"1.0-alpha-1", "1.0-beta-1"},
			{"1.0-beta-1", "1.0-SNAPSHOT"}, {"1.0-SNAPSHOT", "1.0"}, {"1.0-alpha-1-SNAPSHOT", "1.0-alpha-1"},
			{"1.0", "1.0-1"}, {"1.0-1", "1.0-2"}, {"1.0.0", "1.0-1"},
			{"2.0-1", "2.0.1"}, {"2.0.1-klm", "2.0.1-lmn"}, {"2.0.1", "2.0.1-xyz"},
			{"2.0.1", "2.0.1-123"}, {"2.0.1-xyz", "2.0.1-123"},
			// leading zeroes
			{"0.7", "2"}, {"0.2", "1.0.7"},
			// digits after letters
			{"J", "7"}, {"c", "7"},
			// lexicographic, also beyond ASCII
			{"aardvark", "zebra"}, {"zebra", "ζέβρα"},
			// MNG-6964
			{"1-0.alpha", "1"}, {"1-0.beta", "1"}, {"1-0.alpha", "1-0.beta"},
			// MNG-7714
			{"1.0.final-redhat", "1.0-sp1-redhat"}, {"1.0.final-redhat", "1.0-sp-1-redhat"}, {"1.0.final-redhat", "1.0-sp.1-redhat"},
		} {
			checkOrder(t, p[0], p[1])
		}
	})
	t.Run("MNG-5568 transitivity", func(t *testing.T) {
		a, b, c := "6.1.0", "6.1.0rc3", "6.1H.5-beta"
		checkOrder(t, b, a)
		checkOrder(t, b, c)
		checkOrder(t, a, c)
	})
	t.Run("MNG-6572 long numbers", func(t *testing.T) {
		checkOrder(t, "20190126.230843", "1234567890.12345", "123456789012345.1H.5-beta", "12345678901234567890.1H.5-beta")
	})
	t.Run("MNG-7644", func(t *testing.T) {
		for _, x := range []string{"abc", "alpha", "a", "beta", "b", "def", "milestone", "m", "RC"} {
			checkOrder(t, "1.0.0."+x+"1", "1.0.0-"+x+"2")
			checkEqual(t, "2-"+x, "2.0."+x)
			checkEqual(t, "2-"+x, "2.0.0."+x)
			checkEqual(t, "2.0."+x, "2.0.0."+x)
		}
	})
}

func TestVersionEqual(t *testing.T) {
	for _, p := range [][2]string{
		{"1", "1"}, {"1", "1.0"}, {"1", "1.0.0"}, {"1.0", "1.0.0"}, {"1", "1-0"}, {"1", "1.0-0"}, {"1.0", "1.0-0"},
		// no separator between number and character
		{"1a", "1-a"}, {"1a", "1.0-a"}, {"1a", "1.0.0-a"}, {"1.0a", "1-a"}, {"1.0.0a", "1-a"},
		{"1x", "1-x"}, {"1x", "1.0-x"}, {"1x", "1.0.0-x"}, {"1.0x", "1-x"}, {"1.0.0x", "1-x"}, {"1cr", "1rc"},
		// special aliases a, b and m for alpha, beta and milestone
		{"1a1", "1-alpha-1"}, {"1b2", "1-beta-2"}, {"1m3", "1-milestone-3"},
		// case insensitive
		{"1X", "1x"}, {"1A", "1a"}, {"1B", "1b"}, {"1M", "1m"}, {"1Cr", "1Rc"}, {"1cR", "1rC"},
		{"1m3", "1Milestone3"}, {"1m3", "1MileStone3"}, {"1m3", "1MILESTONE3"},
		// same order though not equal in Java
		{"1ga", "1"}, {"1release", "1"}, {"1final", "1"}, {"1Ga", "1"}, {"1GA", "1"}, {"1RELEASE", "1"},
		{"1RELeaSE", "1"}, {"1Final", "1"}, {"1FinaL", "1"}, {"1FINAL", "1"},
		// locale independent
		{"1-abcdefghijklmnopqrstuvwxyz", "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
	} {
		checkEqual(t, p[0], p[1])
	}
	for _, digit := range []string{"1", "0"} {
		var arr []string
		for n := 1; n <= 19; n++ {
			arr = append(arr, strings.Repeat("0", n-1)+digit)
		}
		for i := range arr {
			for j := i; j < len(arr); j++ {
				checkEqual(t, arr[i], arr[j])
			}
		}
	}
}

// TestSortVersions: sorting a shuffled copy of Maven's ordered lists
// gives them back, whatever the input order (a total order).
func TestSortVersions(t *testing.T) {
	for _, list := range [][]string{versionsQualifier, versionsNumber} {
		for seed := int64(0); seed < 20; seed++ {
			vs := slices.Clone(list)
			rand.New(rand.NewSource(seed)).Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
			SortVersions(vs)
			if !slices.Equal(vs, list) {
				t.Fatalf("sorted %v", vs)
			}
		}
	}
}

// TestVersionOrderIsMavens documents an intransitive corner of Maven's
// ordering that the port keeps (see FuzzCompareVersions).
func TestVersionOrderIsMavens(t *testing.T) {
	checkOrder(t, "0", "aaa-0")
	checkOrder(t, "aaa-0", "0A0")
	checkOrder(t, "0A0", "0")
}
