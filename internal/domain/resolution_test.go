package domain

import (
	"fmt"
	"strings"
	"testing"
)

func hops(h []Hop) string {
	var s []string
	for _, x := range h {
		if x.ExternalConnection != "" {
			s = append(s, x.Repository+"+"+x.ExternalConnection)
		} else {
			s = append(s, x.Repository)
		}
	}
	return strings.Join(s, " ")
}

func TestSearchOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		g    Graph
		want string
	}{
		{
			// CodeArtifact's documented example: my_repo -> A, B; A -> C, D; D -> E.
			name: "documented example",
			g:    Graph{Upstreams: map[string][]string{"my_repo": {"A", "B"}, "A": {"C", "D"}, "D": {"E"}}},
			want: "my_repo A C D E B",
		},
		{
			name: "external connection after the repository's upstreams",
			g:    Graph{Upstreams: map[string][]string{"app": {"npm-store", "shared"}}, External: map[string]string{"npm-store": "public:npmjs", "app": "public:pypi"}},
			want: "app npm-store npm-store+public:npmjs shared app+public:pypi",
		},
		{
			name: "diamond visited once",
			g:    Graph{Upstreams: map[string][]string{"a": {"b", "c"}, "b": {"d"}, "c": {"d"}}},
			want: "a b d c",
		},
		{
			name: "no upstreams",
			g:    Graph{},
			want: "a",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := "my_repo"
			if _, ok := tc.g.Upstreams[start]; !ok {
				start = "a"
				if _, ok := tc.g.Upstreams["app"]; ok {
					start = "app"
				}
			}
			if got := hops(tc.g.SearchOrder(start)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSearchOrderCap(t *testing.T) {
	g := Graph{Upstreams: map[string][]string{}}
	for i := 0; i < 40; i++ {
		g.Upstreams[fmt.Sprint(i)] = []string{fmt.Sprint(i + 1)}
	}
	if n := len(g.SearchOrder("0")); n != MaxSearchedRepositories {
		t.Fatalf("searched %d repositories, want %d", n, MaxSearchedRepositories)
	}
}

func TestRetainIn(t *testing.T) {
	for _, tc := range []struct {
		found Hop
		want  string
	}{
		{Hop{Repository: "app"}, ""},                                        // found in the repository asked
		{Hop{Repository: "B"}, "app"},                                       // found upstream: kept where asked only
		{Hop{Repository: "C", ExternalConnection: "public:npmjs"}, "app C"}, // A -> B -> C(+npmjs): kept in A and C
		{Hop{Repository: "app", ExternalConnection: "public:npmjs"}, "app"}, // the asked repository holds the connection
	} {
		if got := strings.Join(RetainIn("app", tc.found), " "); got != tc.want {
			t.Errorf("found at %+v: retain in %q, want %q", tc.found, got, tc.want)
		}
	}
}
