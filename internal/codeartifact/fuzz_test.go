package codeartifact

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzControlPlane sends correctly signed requests with arbitrary query
// strings and bodies to every route (and to route paths with other
// methods) of one in-process registry per fuzz process, whose state
// accumulates across inputs. The control plane must never answer 5xx (a
// panic would be a recovered 500), and every error must be AWS rest-json.
func FuzzControlPlane(f *testing.F) {
	h := newHarness(f)
	h.seed(f, fxRepo, "up")
	h.call(f, "UpdateRepository", params{"domain": fxDomain, "repository": fxRepo, "upstreams": []map[string]string{{"repositoryName": "up"}}}).ok(f)
	h.publish(f, fxRepo, fxPkg, "1.0.0", "a.txt", []byte("a"), false)
	h.publish(f, fxRepo, fxPkg, "2.0.0", "b.txt", []byte("b"), true)

	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead}
	full := "domain=acme&repository=main&format=generic&namespace=ns&package=pkg&version=1.0.0&asset=a.txt"
	seeds := map[string][]struct{ query, body string }{
		"ListDomains":                           {{"", `{"maxResults":1}`}, {"", `{"nextToken":"YWNtZQ"}`}},
		"CreateDomain":                          {{"domain=other", `{"tags":[{"key":"k","value":"v"}]}`}},
		"CreateRepository":                      {{"domain=acme&repository=new", `{"description":"d","upstreams":[{"repositoryName":"main"}]}`}},
		"UpdateRepository":                      {{"domain=acme&repository=up", `{"upstreams":[{"repositoryName":"main"}]}`}},
		"PutDomainPermissionsPolicy":            {{"", `{"domain":"acme","policyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}`}},
		"PutRepositoryPermissionsPolicy":        {{"domain=acme&repository=main", `{"policyRevision":"X","policyDocument":"{}"}`}},
		"DeleteRepositoryPermissionsPolicy":     {{"domain=acme&repository=main&policy-revision=X", ""}},
		"AssociateExternalConnection":           {{"domain=acme&repository=up&external-connection=public:npmjs", ""}},
		"GetAuthorizationToken":                 {{"domain=acme&duration=900", ""}},
		"GetRepositoryEndpoint":                 {{"domain=acme&repository=main&format=pypi&endpointType=ipv4", ""}},
		"ListPackages":                          {{"domain=acme&repository=main&max-results=1&package-prefix=p&namespace=n&format=generic", ""}},
		"ListPackageVersions":                   {{full + "&status=Published&sortBy=PUBLISHED_TIME&max-results=1&next-token=MS4wLjA", ""}},
		"PublishPackageVersion":                 {{full + "&version=3.0.0&unfinished=true", "content"}},
		"UpdatePackageVersionsStatus":           {{full, `{"versions":["1.0.0"],"targetStatus":"Unlisted","versionRevisions":{"1.0.0":"X"}}`}},
		"CopyPackageVersions":                   {{full + "&source-repository=main&destination-repository=up", `{"versions":["1.0.0"],"allowOverwrite":true}`}},
		"DisposePackageVersions":                {{full, `{"versions":["2.0.0"],"expectedStatus":"Unfinished"}`}},
		"DeletePackageVersions":                 {{full, `{"versions":["1.0.0","9.9.9"]}`}},
		"TagResource":                           {{"resourceArn=arn:aws:codeartifact:us-east-1:123456789012:repository/acme/main", `{"tags":[{"key":"k","value":"v"}]}`}},
		"UntagResource":                         {{"resourceArn=arn:aws:codeartifact:us-east-1:123456789012:domain/acme", `{"tagKeys":["k"]}`}},
		"CreatePackageGroup":                    {{"domain=acme", `{"packageGroup":"/npm/acme/*","tags":[{"key":"k","value":"v"}]}`}},
		"UpdatePackageGroupOriginConfiguration": {{"domain=acme&package-group=/npm/acme/*", `{"restrictions":{"PUBLISH":"ALLOW_SPECIFIC_REPOSITORIES"},"addAllowedRepositories":[{"repositoryName":"main","originRestrictionType":"PUBLISH"}]}`}},
		"GetAssociatedPackageGroup":             {{"domain=acme&format=npm&namespace=acme&package=x", ""}},
		"ListAssociatedPackages":                {{"domain=acme&package-group=/generic/ns/*&preview=true", ""}},
	}
	for i, r := range routes {
		mi := 0
		for j, m := range methods {
			if m == r.method {
				mi = j
			}
		}
		f.Add(uint8(mi), uint8(i), full, []byte(nil))
		for _, s := range seeds[r.op] {
			f.Add(uint8(mi), uint8(i), s.query, []byte(s.body))
		}
	}

	f.Fuzz(func(t *testing.T, method, route uint8, rawQuery string, body []byte) {
		r := routes[int(route)%len(routes)]
		m := methods[int(method)%len(methods)]
		// Undecodable pairs are dropped so the request is signed as the
		// server will read it; signature parsing has its own fuzz target.
		q, _ := url.ParseQuery(rawQuery)
		resp := h.send(t, request{method: m, path: "/v1" + r.path, query: q, body: body})
		if resp.status < 400 {
			return
		}
		if resp.header.Get("x-amzn-ErrorType") == "" {
			t.Fatalf("%s %s?%s: %d without x-amzn-ErrorType", m, r.path, q.Encode(), resp.status)
		}
		if m == http.MethodHead {
			return
		}
		v, err := decodeJSON(resp.body)
		obj, _ := v.(map[string]any)
		if msg, _ := obj["message"].(string); err != nil || strings.TrimSpace(msg) == "" {
			t.Fatalf("%s %s?%s: %d error body is not {\"message\"}: %s", m, r.path, q.Encode(), resp.status, resp.body)
		}
	})
}
