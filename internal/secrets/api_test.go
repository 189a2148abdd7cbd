package secrets

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/server"
)

// apiHarness serves both APIs on a real internal/server without SigV4; the
// authorize callback records what it is asked and refuses denied actions.
type apiHarness struct {
	t      *testing.T
	ts     *httptest.Server
	asked  []string
	denied map[string]bool
}

func newAPI(t *testing.T) *apiHarness {
	t.Helper()
	store := openStore(t, t.TempDir(), nil)
	h := &apiHarness{t: t, denied: map[string]bool{}}
	authorize := func(c echo.Context, action, resource string) error {
		h.asked = append(h.asked, action+" "+resource)
		if h.denied[action] {
			return domain.Errorf(domain.ErrForbidden, "not authorized to perform: %s on resource: %s", action, resource)
		}
		return nil
	}
	srv := server.New(server.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Auth: &server.Authenticator{}})
	srv.Echo.POST("/ssm", (&SSM{Store: store, Authorize: authorize}).Handle, server.SetFlavour(server.JSON11))
	srv.Echo.POST("/sm", (&SecretsManager{Store: store, Authorize: authorize}).Handle, server.SetFlavour(server.JSON11))
	h.ts = httptest.NewServer(srv.Echo)
	t.Cleanup(h.ts.Close)
	return h
}

// call sends op of service ("ssm" or "secretsmanager") and checks input,
// output and errors against the botocore model.
func (h *apiHarness) call(service, op string, in any) (int, map[string]any) {
	h.t.Helper()
	m := model(h.t, service)
	if _, err := m.Operation(op); err != nil {
		h.t.Fatal(err)
	}
	body, _ := json.Marshal(in)
	if v, err := decodeJSON(body); err == nil {
		if err := m.CheckInput(op, v); err != nil {
			h.t.Fatalf("the test sends an input botocore would not: %v", err)
		}
	}
	path, prefix := "/ssm", SSMTargetPrefix
	if service == "secretsmanager" {
		path, prefix = "/sm", SecretsManagerTargetPrefix
	}
	req, _ := http.NewRequest(http.MethodPost, h.ts.URL+path, bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", prefix+op)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	v, err := decodeJSON(raw)
	if err != nil {
		h.t.Fatalf("%s: not JSON: %s", op, raw)
	}
	var problems []string
	obj, _ := v.(map[string]any)
	if resp.StatusCode == http.StatusOK {
		if err := m.CheckOutput(op, v); err != nil {
			problems = append(problems, err.Error())
		}
	} else {
		code, _ := obj["__type"].(string)
		generic := code == "AccessDeniedException" || code == "ValidationException" || code == "SerializationException"
		if err := m.CheckError(op, code, obj); !generic && err != nil {
			problems = append(problems, op+" returned "+code+", which its model does not list: "+err.Error())
		}
		if resp.Header.Get("x-amzn-ErrorType") != code {
			problems = append(problems, op+" returned "+code+" with x-amzn-ErrorType "+resp.Header.Get("x-amzn-ErrorType"))
		}
	}
	if len(problems) > 0 {
		h.t.Errorf("%s: %s\n%s", op, strings.Join(problems, "\n  "), raw)
	}
	return resp.StatusCode, obj
}

func (h *apiHarness) ok(service, op string, in any) map[string]any {
	h.t.Helper()
	status, out := h.call(service, op, in)
	if status != http.StatusOK {
		h.t.Fatalf("%s: %d %v", op, status, out)
	}
	return out
}

func (h *apiHarness) fails(service, op string, in any, code string) {
	h.t.Helper()
	status, out := h.call(service, op, in)
	if status != http.StatusBadRequest && !(code == "AccessDeniedException" && status == http.StatusForbidden) || out["__type"] != code {
		h.t.Errorf("%s: %d %v, want %s", op, status, out, code)
	}
}

func TestSSMAPI(t *testing.T) {
	h := newAPI(t)
	out := h.ok("ssm", "PutParameter", map[string]any{"Name": "/app/token", "Value": "tok-value-123", "Type": "SecureString", "Description": "d"})
	if out["Version"] != json.Number("1") || out["Tier"] != "Standard" {
		t.Errorf("PutParameter: %v", out)
	}
	h.fails("ssm", "PutParameter", map[string]any{"Name": "/app/token", "Value": "x", "Type": "SecureString"}, "ParameterAlreadyExists")
	h.ok("ssm", "PutParameter", map[string]any{"Name": "/app/token", "Value": "tok-value-456", "Overwrite": true})
	h.ok("ssm", "PutParameter", map[string]any{"Name": "plain", "Value": "a,b", "Type": "StringList"})

	dec := h.ok("ssm", "GetParameter", map[string]any{"Name": "/app/token", "WithDecryption": true})
	if p := dec["Parameter"].(map[string]any); p["Value"] != "tok-value-456" || p["Version"] != json.Number("2") || p["Type"] != "SecureString" {
		t.Errorf("decrypted: %v", p)
	}
	enc := h.ok("ssm", "GetParameter", map[string]any{"Name": "/app/token"})
	if v := enc["Parameter"].(map[string]any)["Value"].(string); strings.Contains(v, "tok-value") || v == "" {
		t.Errorf("without decryption: %q", v)
	}
	if p := h.ok("ssm", "GetParameter", map[string]any{"Name": "plain"})["Parameter"].(map[string]any); p["Value"] != "a,b" {
		t.Errorf("StringList: %v", p)
	}
	if p := h.ok("ssm", "GetParameter", map[string]any{"Name": "/app/token:2", "WithDecryption": true})["Parameter"].(map[string]any); p["Selector"] != ":2" {
		t.Errorf("selector: %v", p)
	}
	h.fails("ssm", "GetParameter", map[string]any{"Name": "/app/token:1"}, "ParameterVersionNotFound")
	h.fails("ssm", "GetParameter", map[string]any{"Name": "/nope"}, "ParameterNotFound")
	many := h.ok("ssm", "GetParameters", map[string]any{"Names": []any{"/app/token", "plain", "/nope"}, "WithDecryption": true})
	if len(many["Parameters"].([]any)) != 2 || many["InvalidParameters"].([]any)[0] != "/nope" {
		t.Errorf("GetParameters: %v", many)
	}
	h.fails("ssm", "PutParameter", map[string]any{"Name": "awsbad", "Value": "x", "Type": "String"}, "ValidationException")
	h.fails("ssm", "PutParameter", map[string]any{"Name": "notype", "Value": "x"}, "ValidationException")
	h.ok("ssm", "DeleteParameter", map[string]any{"Name": "plain"})
	h.fails("ssm", "DeleteParameter", map[string]any{"Name": "plain"}, "ParameterNotFound")

	h.denied["ssm:GetParameter"] = true
	h.fails("ssm", "GetParameter", map[string]any{"Name": "/app/token"}, "AccessDeniedException")
	if !slices.Contains(h.asked, "ssm:GetParameter arn:aws:ssm:us-east-1:123456789012:parameter/app/token") ||
		!slices.Contains(h.asked, "ssm:DeleteParameter arn:aws:ssm:us-east-1:123456789012:parameter/plain") {
		t.Errorf("asked %q", h.asked)
	}
}

func TestSecretsManagerAPI(t *testing.T) {
	h := newAPI(t)
	c := h.ok("secretsmanager", "CreateSecret", map[string]any{"Name": "db", "SecretString": `{"password":"pw-1"}`, "Description": "the db",
		"ClientRequestToken": strings.Repeat("a", 32), "Tags": []any{map[string]any{"Key": "team", "Value": "core"}}})
	arn := c["ARN"].(string)
	if c["Name"] != "db" || c["VersionId"] != strings.Repeat("a", 32) {
		t.Errorf("CreateSecret: %v", c)
	}
	h.fails("secretsmanager", "CreateSecret", map[string]any{"Name": "db", "SecretString": "x"}, "ResourceExistsException")
	h.fails("secretsmanager", "CreateSecret", map[string]any{"Name": "both", "SecretString": "x", "SecretBinary": "eHl6"}, "InvalidParameterException")
	p := h.ok("secretsmanager", "PutSecretValue", map[string]any{"SecretId": arn, "SecretString": `{"password":"pw-2"}`})
	if p["ARN"] != arn || len(p["VersionStages"].([]any)) != 1 {
		t.Errorf("PutSecretValue: %v", p)
	}
	g := h.ok("secretsmanager", "GetSecretValue", map[string]any{"SecretId": "db"})
	if g["SecretString"] != `{"password":"pw-2"}` || g["VersionStages"].([]any)[0] != "AWSCURRENT" {
		t.Errorf("GetSecretValue: %v", g)
	}
	prev := h.ok("secretsmanager", "GetSecretValue", map[string]any{"SecretId": "db", "VersionStage": "AWSPREVIOUS"})
	if prev["SecretString"] != `{"password":"pw-1"}` {
		t.Errorf("previous: %v", prev)
	}
	h.ok("secretsmanager", "CreateSecret", map[string]any{"Name": "bin", "SecretBinary": "AAEC"})
	if b := h.ok("secretsmanager", "GetSecretValue", map[string]any{"SecretId": "bin"}); b["SecretBinary"] != "AAEC" || b["SecretString"] != nil {
		t.Errorf("binary: %v", b)
	}
	h.fails("secretsmanager", "GetSecretValue", map[string]any{"SecretId": "nope"}, "ResourceNotFoundException")
	l := h.ok("secretsmanager", "ListSecrets", map[string]any{"Filters": []any{map[string]any{"Key": "name", "Values": []any{"d"}}}})
	if list := l["SecretList"].([]any); len(list) != 1 || list[0].(map[string]any)["Name"] != "db" || list[0].(map[string]any)["SecretVersionsToStages"] == nil {
		t.Errorf("ListSecrets: %v", l)
	}
	pg := h.ok("secretsmanager", "ListSecrets", map[string]any{"MaxResults": 1, "SortBy": "name"})
	if pg["NextToken"] == nil || pg["SecretList"].([]any)[0].(map[string]any)["Name"] != "bin" {
		t.Errorf("first page: %v", pg)
	}
	d := h.ok("secretsmanager", "DeleteSecret", map[string]any{"SecretId": "db", "RecoveryWindowInDays": 7})
	if d["DeletionDate"] == nil {
		t.Errorf("DeleteSecret: %v", d)
	}
	h.fails("secretsmanager", "GetSecretValue", map[string]any{"SecretId": "db"}, "InvalidRequestException")
	if l := h.ok("secretsmanager", "ListSecrets", map[string]any{"IncludePlannedDeletion": true}); len(l["SecretList"].([]any)) != 2 {
		t.Errorf("with planned deletions: %v", l)
	}
	h.ok("secretsmanager", "DeleteSecret", map[string]any{"SecretId": "bin", "ForceDeleteWithoutRecovery": true})
	h.fails("secretsmanager", "DeleteSecret", map[string]any{"SecretId": "bin", "ForceDeleteWithoutRecovery": true}, "ResourceNotFoundException")

	h.denied["secretsmanager:GetSecretValue"] = true
	h.fails("secretsmanager", "GetSecretValue", map[string]any{"SecretId": "x"}, "AccessDeniedException")
	for _, want := range []string{"secretsmanager:CreateSecret arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
		"secretsmanager:GetSecretValue " + arn, "secretsmanager:ListSecrets *"} {
		if !slices.Contains(h.asked, want) {
			t.Errorf("never asked %q (asked %q)", want, h.asked)
		}
	}
}
