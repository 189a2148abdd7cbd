package npm

import (
	"net/url"
	"strings"

	"github.com/artifactd/registry/internal/domain"
)

// endpoint is what a request path names, after /npm/{domain}/{repo}/.
type endpoint int

const (
	epPing       endpoint = iota + 1 // -/ping
	epWhoami                         // -/whoami
	epSearch                         // -/v1/search
	epLogin                          // -/user/..., -/v1/login: not supported
	epDistTags                       // -/package/{name}/dist-tags
	epDistTag                        // -/package/{name}/dist-tags/{tag}
	epPackument                      // {name}
	epRev                            // {name}/-rev/{rev}
	epTarball                        // {name}/-/{file}
	epTarballRev                     // {name}/-/{file}/-rev/{rev}
)

// route is a parsed request path.
type route struct {
	ep   endpoint
	name Name
	file string // tarball file name (epTarball, epTarballRev)
	rev  string // document revision (epRev, epTarballRev)
	tag  string // dist-tag (epDistTag)
}

// parsePath parses the escaped path below the repository endpoint (no
// leading slash) without decoding anything before the structure is known:
// a scoped name is "@scope/name" (two segments), or one segment
// "@scope%2fname" / "%40scope%2Fname"; an encoded slash anywhere else, and
// "." or ".." segments (raw or encoded), are refused. Names are checked
// with the rules for existing packages.
func parsePath(rest string) (route, error) {
	if rest == "" {
		return route{}, domain.Errorf(domain.ErrNotFound, "not found: name a package, e.g. /{name}")
	}
	segs := strings.Split(rest, "/")
	for _, s := range segs {
		if s == "" {
			return route{}, domain.Invalid("path %q has an empty segment", rest)
		}
		if s == "." || s == ".." || isDots(s) {
			return route{}, domain.Invalid("path %q contains a relative segment", rest)
		}
	}
	if segs[0] == "-" {
		return parseSpecial(segs[1:])
	}
	n, segs, err := parseNameSegs(segs)
	if err != nil {
		return route{}, err
	}
	r := route{name: n}
	switch {
	case len(segs) == 0:
		r.ep = epPackument
	case len(segs) == 2 && segs[0] == "-rev":
		r.ep = epRev
		r.rev, err = segment(segs[1], "revision")
	case len(segs) == 2 && segs[0] == "-":
		r.ep = epTarball
		r.file, err = segment(segs[1], "file name")
	case len(segs) == 4 && segs[0] == "-" && segs[2] == "-rev":
		r.ep = epTarballRev
		r.file, err = segment(segs[1], "file name")
		if err == nil {
			r.rev, err = segment(segs[3], "revision")
		}
	default:
		return route{}, domain.Errorf(domain.ErrNotFound, "not found: this registry serves packuments (/{name}) and tarballs (/{name}/-/{file}.tgz)")
	}
	return r, err
}

// parseSpecial parses the segments after "-/".
func parseSpecial(segs []string) (route, error) {
	switch {
	case len(segs) == 1 && segs[0] == "ping":
		return route{ep: epPing}, nil
	case len(segs) == 1 && segs[0] == "whoami":
		return route{ep: epWhoami}, nil
	case len(segs) == 2 && segs[0] == "v1" && segs[1] == "search":
		return route{ep: epSearch}, nil
	case len(segs) >= 1 && segs[0] == "user", len(segs) >= 2 && segs[0] == "v1" && segs[1] == "login":
		return route{ep: epLogin}, nil
	case len(segs) >= 3 && segs[0] == "package":
		n, rest, err := parseNameSegs(segs[1:])
		if err != nil {
			return route{}, err
		}
		switch {
		case len(rest) == 1 && rest[0] == "dist-tags":
			return route{ep: epDistTags, name: n}, nil
		case len(rest) == 2 && rest[0] == "dist-tags":
			tag, err := segment(rest[1], "dist-tag")
			return route{ep: epDistTag, name: n, tag: tag}, err
		}
	}
	return route{}, domain.Errorf(domain.ErrNotFound, "not found: unknown npm endpoint")
}

// parseNameSegs takes a package name off the front of segs and returns it
// with the segments that follow.
func parseNameSegs(segs []string) (Name, []string, error) {
	s0 := segs[0]
	var raw string
	switch {
	case strings.HasPrefix(s0, "@") || hasPrefixFold(s0, "%40"):
		at := 1
		if s0[0] == '%' {
			at = 3
		}
		if i := indexEncodedSlash(s0); i >= 0 {
			scope, pkg := s0[at:i], s0[i+3:]
			if indexEncodedSlash(pkg) >= 0 {
				return Name{}, nil, domain.Invalid("package name %q contains an encoded slash", s0)
			}
			s, err1 := url.PathUnescape(scope)
			p, err2 := url.PathUnescape(pkg)
			if err1 != nil || err2 != nil {
				return Name{}, nil, domain.Invalid("package name %q is not validly percent-encoded", s0)
			}
			raw, segs = "@"+s+"/"+p, segs[1:]
			break
		}
		if len(segs) < 2 {
			return Name{}, nil, domain.Invalid("scoped package name %q has no name after the scope", s0)
		}
		s, err1 := url.PathUnescape(s0[at:])
		p, err2 := url.PathUnescape(segs[1])
		if err1 != nil || err2 != nil || indexEncodedSlash(segs[1]) >= 0 {
			return Name{}, nil, domain.Invalid("package name %q is not validly percent-encoded", s0+"/"+segs[1])
		}
		raw, segs = "@"+s+"/"+p, segs[2:]
	default:
		if indexEncodedSlash(s0) >= 0 {
			return Name{}, nil, domain.Invalid("package name %q contains an encoded slash outside a scope", s0)
		}
		s, err := url.PathUnescape(s0)
		if err != nil {
			return Name{}, nil, domain.Invalid("package name %q is not validly percent-encoded", s0)
		}
		raw, segs = s, segs[1:]
	}
	n, err := ParseName(raw, false)
	return n, segs, err
}

// segment decodes one path segment that must not contain a slash.
func segment(s, what string) (string, error) {
	if indexEncodedSlash(s) >= 0 {
		return "", domain.Invalid("%s %q contains an encoded slash", what, s)
	}
	d, err := url.PathUnescape(s)
	if err != nil || d == "" || d == "." || d == ".." {
		return "", domain.Invalid("%s %q is not valid", what, s)
	}
	return d, nil
}

// isDots reports whether a raw segment decodes to "." or "..".
func isDots(s string) bool {
	if !strings.Contains(s, "%") {
		return false
	}
	d, err := url.PathUnescape(s)
	return err == nil && (d == "." || d == "..")
}

func indexEncodedSlash(s string) int {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && s[i+1] == '2' && (s[i+2] == 'f' || s[i+2] == 'F') {
			return i
		}
	}
	return -1
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// escaped returns the name as npm escapes it in a URL path: scoped names
// as "@scope%2fname".
func (n Name) escaped() string {
	if n.Scope == "" {
		return n.Pkg
	}
	return "@" + n.Scope + "%2f" + n.Pkg
}

// tarballFile returns the conventional tarball file name of a version:
// "{unscoped name}-{version}.tgz".
func (n Name) tarballFile(version string) string { return n.Pkg + "-" + version + ".tgz" }

// versionOfFile returns the version a tarball file name names, or "" if
// the file is not a tarball of this package.
func (n Name) versionOfFile(file string) string {
	v, ok := strings.CutPrefix(file, n.Pkg+"-")
	if !ok {
		return ""
	}
	v, ok = strings.CutSuffix(v, ".tgz")
	if !ok {
		return ""
	}
	return v
}
