package domain

// MaxSearchedRepositories is how many repositories a package-version
// lookup visits at most (CodeArtifact's quota).
const MaxSearchedRepositories = 25

// Hop is one place a lookup searches: a repository, or the external
// connection held by a repository.
type Hop struct {
	Repository         string
	ExternalConnection string // set when this hop is Repository's external connection
}

// Graph is a domain's upstream configuration: for each repository its
// upstreams in priority order and its external connection ("" if none).
type Graph struct {
	Upstreams map[string][]string
	External  map[string]string
}

// SearchOrder returns the order in which a lookup through repository
// start visits repositories and external connections, following
// CodeArtifact's documented rule: the repository itself, then each direct
// upstream in list order, each upstream's own upstreams depth-first before
// the next sibling; a repository's external connection after its
// upstreams; a repository reached twice is visited once; at most
// MaxSearchedRepositories repositories.
// (https://docs.aws.amazon.com/codeartifact/latest/ug/repo-upstream-search-order.html)
func (g Graph) SearchOrder(start string) []Hop {
	var out []Hop
	visited := map[string]bool{}
	var visit func(r string)
	visit = func(r string) {
		if visited[r] || len(visited) >= MaxSearchedRepositories {
			return
		}
		visited[r] = true
		out = append(out, Hop{Repository: r})
		for _, u := range g.Upstreams[r] {
			visit(u)
		}
		if ec := g.External[r]; ec != "" {
			out = append(out, Hop{Repository: r, ExternalConnection: ec})
		}
	}
	visit(start)
	return out
}

// RetainIn returns the repositories a version found at hop must be
// recorded in when start asked for it: the repository the client asked,
// and, for a version that came through an external connection, the
// repository holding that connection; never the intermediates.
func RetainIn(start string, found Hop) []string {
	var out []string
	if found.Repository != start || found.ExternalConnection != "" {
		out = append(out, start)
	}
	if found.ExternalConnection != "" && found.Repository != start {
		out = append(out, found.Repository)
	}
	return out
}
