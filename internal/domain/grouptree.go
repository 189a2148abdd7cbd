package domain

import (
	"sort"
	"time"
)

// GroupTree is the package groups of one domain arranged as CodeArtifact
// arranges them: every group's parent is the most specific other group
// whose pattern contains it, the root /* at the top. It is immutable once
// built and safe for concurrent use.
type GroupTree struct {
	groups []PackageGroup // sorted by pattern string; groups[root] is /*
	parent []int          // index of each group's parent, -1 for the root
	root   int
	index  map[string]int
}

// DefaultRootGroup is the root group of a domain whose root was never
// changed: everything ALLOWed.
func DefaultRootGroup(dom string, created time.Time) PackageGroup {
	g := PackageGroup{Domain: dom, Pattern: GroupPattern{Kind: GroupAll}, CreatedAt: created,
		Modes: map[GroupRestrictionType]GroupMode{}, Allowed: map[GroupRestrictionType][]string{}}
	for _, t := range GroupRestrictionTypes {
		g.Modes[t] = ModeAllow
	}
	return g
}

// NewGroupTree arranges groups; rootDefault is used when groups holds no
// /* group. Building is O(n²) in the number of groups, done once per
// change.
func NewGroupTree(groups []PackageGroup, rootDefault PackageGroup) *GroupTree {
	gs := append([]PackageGroup(nil), groups...)
	hasRoot := false
	for _, g := range gs {
		if g.Pattern.Kind == GroupAll {
			hasRoot = true
		}
	}
	if !hasRoot {
		gs = append(gs, rootDefault)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].Pattern.String() < gs[j].Pattern.String() })
	t := &GroupTree{groups: gs, parent: make([]int, len(gs)), index: make(map[string]int, len(gs))}
	for i, g := range gs {
		t.index[g.Pattern.String()] = i
		if g.Pattern.Kind == GroupAll {
			t.root = i
		}
	}
	for i, g := range gs {
		t.parent[i] = -1
		if i == t.root {
			continue
		}
		best := t.root
		for j, p := range gs {
			if j != i && p.Pattern.Contains(g.Pattern) && p.Pattern.MoreSpecific(gs[best].Pattern) {
				best = j
			}
		}
		t.parent[i] = best
	}
	return t
}

// Groups returns every group (the root included) ordered by pattern.
func (t *GroupTree) Groups() []PackageGroup { return t.groups }

// Get returns the group with the given canonical pattern.
func (t *GroupTree) Get(pattern string) (PackageGroup, bool) {
	i, ok := t.index[pattern]
	if !ok {
		return PackageGroup{}, false
	}
	return t.groups[i], true
}

// Parent returns the pattern of a group's parent; false for the root or
// an unknown group.
func (t *GroupTree) Parent(pattern string) (PackageGroup, bool) {
	i, ok := t.index[pattern]
	if !ok || t.parent[i] < 0 {
		return PackageGroup{}, false
	}
	return t.groups[t.parent[i]], true
}

// Children returns the direct children of a group, ordered by pattern.
func (t *GroupTree) Children(pattern string) []PackageGroup {
	i, ok := t.index[pattern]
	if !ok {
		return nil
	}
	var out []PackageGroup
	for j, p := range t.parent {
		if p == i {
			out = append(out, t.groups[j])
		}
	}
	return out
}

// ParentOf returns the group a pattern would have as its parent if it
// were created: the most specific existing group containing it.
func (t *GroupTree) ParentOf(p GroupPattern) PackageGroup {
	best := t.root
	for j, g := range t.groups {
		if g.Pattern.Contains(p) && g.Pattern.MoreSpecific(t.groups[best].Pattern) {
			best = j
		}
	}
	return t.groups[best]
}

// Associated returns the group ref belongs to: the most specific group
// whose pattern matches it (the root when no other does).
func (t *GroupTree) Associated(ref PackageRef) PackageGroup {
	return t.groups[t.associated(ref)]
}

func (t *GroupTree) associated(ref PackageRef) int {
	best := t.root
	for j, g := range t.groups {
		if g.Pattern.Matches(ref) && g.Pattern.MoreSpecific(t.groups[best].Pattern) {
			best = j
		}
	}
	return best
}

// Effective resolves restriction type rt of the group with the given
// pattern: INHERIT is followed up the parents to the first other mode;
// the root never inherits (an INHERIT there means ALLOW).
func (t *GroupTree) Effective(pattern string, rt GroupRestrictionType) EffectiveRestriction {
	i, ok := t.index[pattern]
	if !ok {
		return EffectiveRestriction{Mode: ModeAllow, Effective: ModeAllow}
	}
	return t.effective(i, rt)
}

func (t *GroupTree) effective(i int, rt GroupRestrictionType) EffectiveRestriction {
	out := EffectiveRestriction{Mode: modeOf(t.groups[i], rt)}
	for j := i; j >= 0; j = t.parent[j] {
		m := modeOf(t.groups[j], rt)
		if m == ModeInherit {
			continue
		}
		out.Effective, out.Allowed = m, t.groups[j].Allowed[rt]
		if j != i {
			out.From = t.groups[j].Pattern.String()
		}
		return out
	}
	out.Effective = ModeAllow
	return out
}

func modeOf(g PackageGroup, rt GroupRestrictionType) GroupMode {
	if m, ok := g.Modes[rt]; ok && m != "" {
		return m
	}
	if g.Pattern.Kind == GroupAll {
		return ModeAllow
	}
	return ModeInherit
}

// Restriction resolves restriction type rt for the package ref: the
// effective mode of the group it belongs to.
func (t *GroupTree) Restriction(ref PackageRef, rt GroupRestrictionType) EffectiveRestriction {
	return t.effective(t.associated(ref), rt)
}
