package maven

import (
	"slices"
	"strings"
)

// Version ordering is Maven's ComparableVersion, ported from
// org.apache.maven.artifact.versioning.ComparableVersion (apache/maven,
// compat/maven-artifact; the rules are described at
// https://maven.apache.org/pom.html#version-order-specification):
//
//   - "." and "-" separate items, and so does a change between digits and
//     letters ("1.0alpha1" is [1, [alpha, 1]]); a "-" (or a digit/letter
//     change) opens a sub-list, which sorts below a number: 1-1 < 1.1.
//   - Numbers compare numerically; trailing zeros (and empty sub-lists)
//     are dropped, so 1 == 1.0 == 1-0.
//   - Known qualifiers, case-insensitive, from lowest: alpha (a), beta
//     (b), milestone (m), rc (cr), snapshot, "" (and ga, final, release),
//     sp; unknown qualifiers sort after them, lexically.
//   - A letter run directly followed by digits ("rc1", "alpha-2") is one
//     item, ordered by its qualifier, then its number.
//
// One deliberate difference: only ASCII digits are digits. Java's
// Character.isDigit also accepts other scripts' digits in two places,
// where Maven then fails on Integer.parseInt; here they are letters.

// Version is a parsed Maven version, ready to be compared.
type Version struct {
	raw   string
	items *listItem
}

// ParseVersion parses a version string; every string is a version.
func ParseVersion(s string) Version { return Version{raw: s, items: parseItems(s)} }

// String returns the version as it was given.
func (v Version) String() string { return v.raw }

// Compare returns -1, 0 or +1 as v sorts before, the same as, or after w.
func (v Version) Compare(w Version) int {
	if v.items == nil || w.items == nil {
		return compareItems(orEmpty(v.items), orEmpty(w.items))
	}
	return compareItems(v.items, w.items)
}

// CompareVersions compares two version strings in Maven's order.
func CompareVersions(a, b string) int { return ParseVersion(a).Compare(ParseVersion(b)) }

func orEmpty(l *listItem) *listItem {
	if l == nil {
		return &listItem{}
	}
	return l
}

// item is one element of a parsed version: a number, a qualifier string,
// a qualifier+number combination or a sub-list.
type item interface{ isNull() bool }

// numKind mirrors Maven's IntItem, LongItem and BigIntegerItem: numbers of
// different kinds compare by kind (int < long < big) before value.
type numKind uint8

const (
	kindInt numKind = iota
	kindLong
	kindBig
)

type numberItem struct {
	kind   numKind
	digits string // decimal, without leading zeros; "" for zero
}

type stringItem struct{ value string }

type comboItem struct {
	str   stringItem
	digit numberItem
}

type listItem struct{ items []item }

func (n numberItem) isNull() bool { return n.digits == "" }
func (s stringItem) isNull() bool { return s.value == "" }
func (comboItem) isNull() bool    { return false }
func (l *listItem) isNull() bool  { return len(l.items) == 0 }

func newNumber(buf string) numberItem {
	if buf == "" {
		buf = "0"
	}
	// Maven strips leading zeros but keeps an all-zero run as it is, and
	// picks the kind by the remaining length.
	stripped := strings.TrimLeft(buf, "0")
	kindOf := stripped
	if stripped == "" {
		kindOf = buf
	}
	k := kindBig
	switch {
	case len(kindOf) <= 9:
		k = kindInt
	case len(kindOf) <= 18:
		k = kindLong
	}
	return numberItem{kind: k, digits: stripped}
}

var qualifierOrder = map[string]int{"alpha": 0, "beta": 1, "milestone": 2, "rc": 3, "snapshot": 4, "": 5, "sp": 6}

const releaseIndex = 5

func newString(value string, followedByDigit bool) stringItem {
	if followedByDigit && len(value) == 1 {
		switch value {
		case "a":
			value = "alpha"
		case "b":
			value = "beta"
		case "m":
			value = "milestone"
		}
	}
	if value == "cr" {
		value = "rc"
	}
	return stringItem{value}
}

// comparableQualifier returns a string that sorts qualifiers in Maven's
// order: known ones by index, unknown ones after them, lexically.
func comparableQualifier(q string) string {
	switch q {
	case "ga", "final", "release":
		return "5"
	}
	if i, ok := qualifierOrder[q]; ok {
		return string(rune('0' + i))
	}
	return "7-" + q
}

func newCombo(value string) comboItem {
	value = strings.ReplaceAll(value, "-", "")
	i := strings.IndexFunc(value, isDigit)
	if i < 0 {
		i = len(value)
	}
	return comboItem{str: newString(value[:i], true), digit: newNumber(value[i:])}
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func parseItem(combination, digit bool, buf string) item {
	switch {
	case combination:
		return newCombo(buf)
	case digit:
		return newNumber(buf)
	}
	return newString(buf, false)
}

// parseItems is ComparableVersion.parseVersion.
func parseItems(version string) *listItem {
	version = strings.ToLower(version)
	root := &listItem{}
	list := root
	stack := []*listItem{root}
	push := func() {
		l := &listItem{}
		list.items = append(list.items, l)
		list = l
		stack = append(stack, l)
	}
	isDigitRun, isCombination := false, false
	start := 0
	for i := 0; i < len(version); i++ {
		c := version[i]
		switch {
		case c == '.':
			if i == start {
				list.items = append(list.items, numberItem{kind: kindInt})
			} else {
				list.items = append(list.items, parseItem(isCombination, isDigitRun, version[start:i]))
			}
			isCombination = false
			start = i + 1
		case c == '-':
			if i == start {
				list.items = append(list.items, numberItem{kind: kindInt})
			} else {
				// X-1 is read as X1.
				if !isDigitRun && i != len(version)-1 && version[i+1] >= '0' && version[i+1] <= '9' {
					isCombination = true
					continue
				}
				list.items = append(list.items, parseItem(isCombination, isDigitRun, version[start:i]))
			}
			start = i + 1
			if len(list.items) > 0 {
				push()
			}
			isCombination = false
		case c >= '0' && c <= '9':
			if !isDigitRun && i > start {
				isCombination = true // X1
				if len(list.items) > 0 {
					push()
				}
			}
			isDigitRun = true
		default:
			if isDigitRun && i > start {
				list.items = append(list.items, parseItem(isCombination, true, version[start:i]))
				start = i
				push()
				isCombination = false
			}
			isDigitRun = false
		}
	}
	if len(version) > start {
		// 1.0.0.X1 < 1.0.0-X2: a trailing .X is read as -X.
		if !isDigitRun && len(list.items) > 0 {
			push()
		}
		list.items = append(list.items, parseItem(isCombination, isDigitRun, version[start:]))
	}
	for i := len(stack) - 1; i >= 0; i-- {
		stack[i].normalize()
	}
	return root
}

// normalize drops null items (zeros, empty lists) that end a list or
// precede a qualifier.
func (l *listItem) normalize() {
	for i := len(l.items) - 1; i >= 0; i-- {
		if !l.items[i].isNull() {
			continue
		}
		remove := i == len(l.items)-1
		if !remove {
			switch next := l.items[i+1].(type) {
			case stringItem:
				remove = true
			case *listItem:
				if len(next.items) > 0 {
					switch next.items[0].(type) {
					case comboItem, stringItem:
						remove = true
					}
				}
			}
		}
		if remove {
			l.items = append(l.items[:i], l.items[i+1:]...)
		}
	}
}

// compareItems compares a with b, where b may be nil (a missing item).
func compareItems(a, b item) int {
	switch x := a.(type) {
	case numberItem:
		return x.compare(b)
	case stringItem:
		return x.compare(b)
	case comboItem:
		return x.compare(b)
	case *listItem:
		return x.compare(b)
	}
	return 0
}

func (n numberItem) compare(b item) int {
	switch y := b.(type) {
	case nil:
		if n.isNull() {
			return 0
		}
		return 1
	case numberItem:
		if n.kind != y.kind {
			return cmp(int(n.kind), int(y.kind))
		}
		if len(n.digits) != len(y.digits) {
			return cmp(len(n.digits), len(y.digits))
		}
		return strings.Compare(n.digits, y.digits)
	}
	return 1 // 1.1 > 1-sp, 1.1 > 1-1, 1.1 > 1.a
}

func (s stringItem) compare(b item) int {
	switch y := b.(type) {
	case nil:
		return strings.Compare(comparableQualifier(s.value), "5") // 1-rc < 1, 1-sp > 1
	case numberItem:
		return -1
	case stringItem:
		return strings.Compare(comparableQualifier(s.value), comparableQualifier(y.value))
	case comboItem:
		if r := s.compare(y.str); r != 0 {
			return r
		}
		return -1
	}
	return -1 // 1.any < 1-1
}

func (c comboItem) compare(b item) int {
	switch y := b.(type) {
	case nil:
		return c.str.compare(nil)
	case numberItem:
		return -1
	case stringItem:
		if r := c.str.compare(y); r != 0 {
			return r
		}
		return 1 // X1 > X
	case comboItem:
		if r := c.str.compare(y.str); r != 0 {
			return r
		}
		return c.digit.compare(y.digit)
	}
	return -1
}

func (l *listItem) compare(b item) int {
	switch y := b.(type) {
	case nil:
		for _, it := range l.items {
			if r := compareItems(it, nil); r != 0 {
				return r
			}
		}
		return 0
	case numberItem:
		return -1 // 1-1 < 1.0.x
	case stringItem, comboItem:
		return 1 // 1-1 > 1-sp
	case *listItem:
		for i := 0; i < len(l.items) || i < len(y.items); i++ {
			var r int
			switch {
			case i >= len(l.items):
				r = -compareItems(y.items[i], nil)
			case i >= len(y.items):
				r = compareItems(l.items[i], nil)
			default:
				r = compareItems(l.items[i], y.items[i])
			}
			if r != 0 {
				return r
			}
		}
		return 0
	}
	return 0
}

func cmp(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SortVersions sorts version strings in Maven's order, lowest first;
// versions that compare equal ("1" and "1.0") are ordered by their
// strings, so the result does not depend on the input order.
func SortVersions(vs []string) {
	parsed := make([]Version, len(vs))
	for i, s := range vs {
		parsed[i] = ParseVersion(s)
	}
	slices.SortFunc(parsed, func(a, b Version) int {
		if c := a.Compare(b); c != 0 {
			return c
		}
		return strings.Compare(a.raw, b.raw)
	})
	for i, v := range parsed {
		vs[i] = v.raw
	}
}
