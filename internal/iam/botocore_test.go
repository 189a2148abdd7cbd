package iam_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"
)

// parseWithBotocore is run by python3: it parses each response with
// botocore's own query-protocol parser and IAM's after-call policy decoding,
// exactly as the aws CLI does, and prints the parsed results as JSON.
const parseWithBotocore = `
import sys, json
import botocore.session, botocore.parsers, botocore.handlers
session = botocore.session.get_session()
out = []
for item in json.load(sys.stdin):
    op = session.get_service_model(item["service"]).operation_model(item["operation"])
    parser = botocore.parsers.create_parser("query")
    parsed = parser.parse({"status_code": item["status"], "headers": item["headers"],
                           "body": item["body"].encode()}, op.output_shape)
    if item["service"] == "iam":
        botocore.handlers.json_decode_policies(parsed, op)
    parsed.pop("ResponseMetadata", None)
    out.append(parsed)
print(json.dumps(out, default=str))
`

// TestBotocoreParses checks the XML against the real client's parser. It is
// skipped where python3 with botocore (installed with the aws CLI) is absent.
func TestBotocoreParses(t *testing.T) {
	if err := exec.Command("python3", "-c", "import botocore").Run(); err != nil {
		t.Skip("python3 with botocore not available:", err)
	}
	f := newFixture(t)
	f.createUser(t, "bob", "/ci/")
	type exchange struct {
		Service   string            `json:"service"`
		Operation string            `json:"operation"`
		Status    int               `json:"status"`
		Headers   map[string]string `json:"headers"`
		Body      string            `json:"body"`
	}
	var ex []exchange
	do := func(service, action string, kv ...string) {
		rec := f.call(t, service, f.root, action, kv...)
		h := map[string]string{}
		for k := range rec.Header() {
			h[k] = rec.Header().Get(k)
		}
		ex = append(ex, exchange{service, action, rec.Code, h, rec.Body.String()})
	}
	do("iam", "ListUsers", "MaxItems", "1")
	do("iam", "CreateAccessKey", "UserName", "bob")
	do("iam", "PutUserPolicy", "UserName", "bob", "PolicyName", "p", "PolicyDocument", `{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}`)
	do("iam", "GetUserPolicy", "UserName", "bob", "PolicyName", "p")
	do("iam", "ListUserPolicies", "UserName", "nobody")
	do("iam", "ListAccessKeys", "UserName", "bob")
	do("sts", "GetCallerIdentity")
	do("iam", "GetUser")
	do("iam", "DeleteUserPolicy", "UserName", "bob", "PolicyName", "p")

	in, _ := json.Marshal(ex)
	cmd := exec.Command("python3", "-c", parseWithBotocore)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore: %v\n%s", err, stderr.String())
	}
	var parsed []map[string]any
	if err := json.Unmarshal(out, &parsed); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	get := func(v any, path ...any) any {
		for _, p := range path {
			switch p := p.(type) {
			case string:
				v = v.(map[string]any)[p]
			case int:
				v = v.([]any)[p]
			}
		}
		return v
	}
	for _, c := range []struct {
		i    int
		path []any
		want any
	}{
		{0, []any{"Users", 0, "UserName"}, "bob"},
		{0, []any{"Users", 0, "Arn"}, "arn:aws:iam::123456789012:user/ci/bob"},
		{0, []any{"IsTruncated"}, false},
		{1, []any{"AccessKey", "UserName"}, "bob"},
		{1, []any{"AccessKey", "Status"}, "Active"},
		{3, []any{"PolicyDocument", "Statement", 0, "Effect"}, "Allow"},
		{3, []any{"PolicyName"}, "p"},
		{4, []any{"Error", "Code"}, "NoSuchEntity"},
		{4, []any{"Error", "Type"}, "Sender"},
		{5, []any{"AccessKeyMetadata", 0, "UserName"}, "bob"},
		{6, []any{"UserId"}, "123456789012"},
		{6, []any{"Arn"}, "arn:aws:iam::123456789012:root"},
		{6, []any{"Account"}, "123456789012"},
		{7, []any{"User", "UserId"}, "123456789012"},
	} {
		if got := get(parsed[c.i], c.path...); got != c.want {
			t.Errorf("%s %v = %#v, want %#v", ex[c.i].Operation, c.path, got, c.want)
		}
	}
	if key := get(parsed[1], "AccessKey", "SecretAccessKey").(string); len(key) != 40 {
		t.Errorf("SecretAccessKey %d characters", len(key))
	}
	if date := get(parsed[1], "AccessKey", "CreateDate").(string); len(date) < 19 || date[:2] != "20" {
		t.Errorf("CreateDate parsed as %q", date)
	}
	if len(parsed[8]) != 0 {
		t.Errorf("DeleteUserPolicy parsed as %v, want nothing", parsed[8])
	}
}
