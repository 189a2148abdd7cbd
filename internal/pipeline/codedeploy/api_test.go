package codedeploy

// The wire contract: botocore's model of CodeDeploy, copied verbatim into
// testdata/codedeploy-2014-10-06.json.gz from botocore 1.43.11
// (botocore/data/codedeploy/2014-10-06/service-2.json.gz). Every request
// the tests send is checked against the input shape and every response
// against the output shape or the operation's errors.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artifactd/registry/internal/awsmodel"
	"github.com/artifactd/registry/internal/pipeline/deploy"
	"github.com/artifactd/registry/internal/server"
)

var loadModel = sync.OnceValues(func() (*awsmodel.Model, error) { return awsmodel.Load("testdata/codedeploy-2014-10-06.json.gz") })

type zips map[string][]byte

func (z zips) Fetch(_ context.Context, loc deploy.S3Location, w io.Writer) error {
	b, ok := z[loc.Bucket+"/"+loc.Key]
	if !ok {
		return fmt.Errorf("%w: no such asset", deploy.ErrNotFound)
	}
	_, err := w.Write(b)
	return err
}

type harness struct {
	t  *testing.T
	ts *httptest.Server
	m  *awsmodel.Model
}

func newHarness(t *testing.T, bundles zips) *harness {
	t.Helper()
	m, err := loadModel()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := deploy.Open(context.Background(), deploy.Options{DataDir: t.TempDir(), Region: "us-east-1", Account: "123456789012", Bundles: bundles})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	srv := server.New(server.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Auth: &server.Authenticator{}})
	api := &API{Deploy: svc, Region: "us-east-1", Account: "123456789012"}
	srv.Echo.POST("/codedeploy", api.Handle, server.SetFlavour(server.JSON11))
	ts := httptest.NewServer(srv.Echo)
	t.Cleanup(ts.Close)
	return &harness{t: t, ts: ts, m: m}
}

// call sends op (checking the input against the model) and returns the
// status and body, checked against the output shape or the operation's
// declared errors.
func (h *harness) call(op string, in any) (int, map[string]any) {
	h.t.Helper()
	body, _ := json.Marshal(in)
	if v, err := awsmodel.DecodeJSON(body); err == nil {
		if err := h.m.CheckInput(op, v); err != nil {
			h.t.Fatalf("the test sends an input botocore would not: %v", err)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, h.ts.URL+"/codedeploy", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", TargetPrefix+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	v, err := awsmodel.DecodeJSON(raw)
	if err != nil {
		h.t.Fatalf("%s: response is not JSON: %v\n%s", op, err, raw)
	}
	if resp.StatusCode == http.StatusOK {
		if err := h.m.CheckOutput(op, v); err != nil && !strings.Contains(string(raw), "MOST_CONCURRENCY") {
			h.t.Errorf("%s: %v\n%s", op, err, raw)
		}
	} else {
		obj, _ := v.(map[string]any)
		code, _ := obj["__type"].(string)
		if resp.Header.Get("x-amzn-ErrorType") != code || obj["message"] == nil {
			h.t.Errorf("%s: error without __type/x-amzn-ErrorType/message: %s", op, raw)
		}
		if err := h.m.CheckError(op, code, v); err != nil {
			h.t.Errorf("%s cannot return %s in the model: %v", op, code, err)
		}
	}
	out, _ := v.(map[string]any)
	return resp.StatusCode, out
}

func (h *harness) ok(op string, in any) map[string]any {
	h.t.Helper()
	st, out := h.call(op, in)
	if st != http.StatusOK {
		h.t.Fatalf("%s: %d %v", op, st, out)
	}
	return out
}

func (h *harness) fails(op string, in any, code string) string {
	h.t.Helper()
	st, out := h.call(op, in)
	if st == http.StatusOK || out["__type"] != code {
		h.t.Fatalf("%s: %d %v, want %s", op, st, out, code)
	}
	return fmt.Sprint(out["message"])
}

type obj = map[string]any

func bundle(files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		h := &zip.FileHeader{Name: name}
		h.SetMode(0o755)
		w, _ := zw.CreateHeader(h)
		w.Write([]byte(body))
	}
	zw.Close()
	return buf.Bytes()
}

func TestResources(t *testing.T) {
	t.Parallel()
	h := newHarness(t, zips{})
	h.ok("CreateApplication", obj{"applicationName": "shop"})
	h.fails("CreateApplication", obj{"applicationName": "shop"}, "ApplicationAlreadyExistsException")
	h.fails("CreateApplication", obj{"applicationName": "bad/name"}, "InvalidApplicationNameException")
	h.fails("GetApplication", obj{"applicationName": "nope"}, "ApplicationDoesNotExistException")
	if got := h.ok("GetApplication", obj{"applicationName": "shop"}); dig(got, "application", "computePlatform") != "Server" {
		t.Errorf("application %v", got)
	}
	if got := h.ok("ListApplications", obj{}); fmt.Sprint(got["applications"]) != "[shop]" {
		t.Errorf("applications %v", got)
	}

	for _, c := range []string{"CodeDeployDefault.AllAtOnce", "CodeDeployDefault.HalfAtATime", "CodeDeployDefault.OneAtATime"} {
		h.ok("GetDeploymentConfig", obj{"deploymentConfigName": c})
	}
	h.ok("CreateDeploymentConfig", obj{"deploymentConfigName": "ThreeQuarters", "minimumHealthyHosts": obj{"type": "FLEET_PERCENT", "value": 75}})
	h.fails("CreateDeploymentConfig", obj{"deploymentConfigName": "ThreeQuarters", "minimumHealthyHosts": obj{"type": "FLEET_PERCENT", "value": 75}}, "DeploymentConfigAlreadyExistsException")
	h.fails("CreateDeploymentConfig", obj{"deploymentConfigName": "Bad", "minimumHealthyHosts": obj{"type": "FLEET_PERCENT", "value": 100}}, "InvalidMinimumHealthyHostValueException")
	h.fails("CreateDeploymentConfig", obj{"deploymentConfigName": "Bad", "trafficRoutingConfig": obj{"type": "TimeBasedCanary", "timeBasedCanary": obj{"canaryPercentage": 150, "canaryInterval": 5}}}, "InvalidTrafficRoutingConfigurationException")
	h.ok("CreateDeploymentConfig", obj{"deploymentConfigName": "Canary20", "trafficRoutingConfig": obj{"type": "TimeBasedCanary", "timeBasedCanary": obj{"canaryPercentage": 20, "canaryInterval": 2}}})
	if got := h.ok("GetDeploymentConfig", obj{"deploymentConfigName": "Canary20"}); dig(got, "deploymentConfigInfo", "trafficRoutingConfig", "timeBasedCanary", "canaryPercentage") == nil || fmt.Sprint(dig(got, "deploymentConfigInfo", "trafficRoutingConfig", "timeBasedCanary", "canaryPercentage")) != "20" {
		t.Errorf("canary config %v", got)
	}
	h.fails("GetDeploymentConfig", obj{"deploymentConfigName": "Nope"}, "DeploymentConfigDoesNotExistException")
	if got := h.ok("ListDeploymentConfigs", obj{}); len(got["deploymentConfigsList"].([]any)) != 5 {
		t.Errorf("configs %v", got)
	}

	group := obj{"applicationName": "shop", "deploymentGroupName": "prod", "serviceRoleArn": "arn:aws:iam::123456789012:role/deploy",
		"deploymentConfigName":         "CodeDeployDefault.HalfAtATime",
		"onPremisesInstanceTagFilters": []obj{{"Key": "env", "Value": "prod", "Type": "KEY_AND_VALUE"}},
		"autoRollbackConfiguration":    obj{"enabled": true, "events": []string{"DEPLOYMENT_FAILURE"}},
		"alarmConfiguration":           obj{"enabled": false, "alarms": []obj{{"name": "errors"}}}}
	bad := obj{}
	for k, v := range group {
		bad[k] = v
	}
	bad["alarmConfiguration"] = obj{"enabled": true, "alarms": []obj{{"name": "errors"}}}
	h.fails("CreateDeploymentGroup", bad, "InvalidAlarmConfigException")
	bad["alarmConfiguration"] = obj{"enabled": true, "alarms": []obj{{"name": "errors>5%/60s"}}}
	h.fails("CreateDeploymentGroup", bad, "InvalidAlarmConfigException") // in place: no load balancer to watch
	bad["alarmConfiguration"] = nil
	bad["deploymentStyle"] = obj{"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
	h.fails("CreateDeploymentGroup", bad, "InvalidLoadBalancerInfoException")
	bad["loadBalancerInfo"] = obj{"targetGroupInfoList": []obj{{"name": "127.0.0.1:99999"}}}
	h.fails("CreateDeploymentGroup", bad, "InvalidLoadBalancerInfoException")
	bad["loadBalancerInfo"] = obj{"targetGroupInfoList": []obj{{"name": "127.0.0.1:1"}}}
	bad["blueGreenDeploymentConfiguration"] = obj{"greenFleetProvisioningOption": obj{"action": "COPY_AUTO_SCALING_GROUP"}}
	h.fails("CreateDeploymentGroup", bad, "InvalidBlueGreenDeploymentConfigurationException")
	h.ok("CreateDeploymentGroup", group)
	h.fails("CreateDeploymentGroup", group, "DeploymentGroupAlreadyExistsException")
	g2 := obj{"applicationName": "shop", "deploymentGroupName": "x", "serviceRoleArn": "r", "deploymentConfigName": "Nope"}
	h.fails("CreateDeploymentGroup", g2, "DeploymentConfigDoesNotExistException")
	g2["applicationName"] = "nope"
	h.fails("CreateDeploymentGroup", g2, "ApplicationDoesNotExistException")
	got := h.ok("GetDeploymentGroup", obj{"applicationName": "shop", "deploymentGroupName": "prod"})
	if dig(got, "deploymentGroupInfo", "autoRollbackConfiguration", "enabled") != true || dig(got, "deploymentGroupInfo", "alarmConfiguration", "alarms", 0, "name") != "errors" ||
		dig(got, "deploymentGroupInfo", "onPremisesInstanceTagFilters", 0, "Key") != "env" {
		t.Errorf("group %v", got)
	}
	h.fails("GetDeploymentGroup", obj{"applicationName": "shop", "deploymentGroupName": "nope"}, "DeploymentGroupDoesNotExistException")
	if got := h.ok("ListDeploymentGroups", obj{"applicationName": "shop"}); fmt.Sprint(got["deploymentGroups"]) != "[prod]" {
		t.Errorf("groups %v", got)
	}

	h.ok("RegisterOnPremisesInstance", obj{"instanceName": "web-1", "iamUserArn": "arn:aws:iam::123456789012:user/root"})
	h.fails("RegisterOnPremisesInstance", obj{"instanceName": "web-1", "iamUserArn": "arn:aws:iam::123456789012:user/root"}, "InstanceNameAlreadyRegisteredException")
	h.fails("RegisterOnPremisesInstance", obj{"instanceName": "../etc", "iamUserArn": "u"}, "InvalidInstanceNameException")
	h.fails("RegisterOnPremisesInstance", obj{"instanceName": "web-2"}, "IamArnRequiredException")
	h.ok("AddTagsToOnPremisesInstances", obj{"instanceNames": []string{"web-1"}, "tags": []obj{{"Key": "env", "Value": "prod"}}})
	h.fails("AddTagsToOnPremisesInstances", obj{"instanceNames": []string{"web-9"}, "tags": []obj{{"Key": "env", "Value": "prod"}}}, "InstanceNotRegisteredException")
	if got := h.ok("ListOnPremisesInstances", obj{"tagFilters": []obj{{"Key": "env", "Value": "prod", "Type": "KEY_AND_VALUE"}}}); fmt.Sprint(got["instanceNames"]) != "[web-1]" {
		t.Errorf("instances %v", got)
	}
	if got := h.ok("ListOnPremisesInstances", obj{"tagFilters": []obj{{"Key": "env", "Value": "dev", "Type": "KEY_AND_VALUE"}}}); fmt.Sprint(got["instanceNames"]) != "[]" {
		t.Errorf("instances %v", got)
	}
	if got := h.ok("GetOnPremisesInstance", obj{"instanceName": "web-1"}); dig(got, "instanceInfo", "tags", 0, "Value") != "prod" {
		t.Errorf("instance %v", got)
	}
	h.fails("GetOnPremisesInstance", obj{"instanceName": "web-9"}, "InstanceNotRegisteredException")
	h.ok("DeregisterOnPremisesInstance", obj{"instanceName": "web-1"})
	if got := h.ok("ListOnPremisesInstances", obj{"registrationStatus": "Registered"}); fmt.Sprint(got["instanceNames"]) != "[]" {
		t.Errorf("instances after deregistering %v", got)
	}

	h.ok("DeleteDeploymentGroup", obj{"applicationName": "shop", "deploymentGroupName": "prod"})
	h.ok("DeleteApplication", obj{"applicationName": "shop"})
	h.fails("GetApplication", obj{"applicationName": "shop"}, "ApplicationDoesNotExistException")
}

func TestDeploymentOperations(t *testing.T) {
	t.Parallel()
	bundles := zips{"acme/main/ns/web/1.0.0/bundle.zip": bundle(map[string]string{
		"appspec.yml": "version: 0.0\nos: linux\nfiles:\n  - source: index.html\n    destination: /srv/www\nhooks:\n  ValidateService:\n    - location: check.sh\n",
		"index.html":  "<h1>v1</h1>",
		"check.sh":    "#!/bin/sh\ntest -f srv/www/index.html\n",
	}), "acme/main/ns/web/2.0.0/bundle.zip": bundle(map[string]string{"appspec.yml": "version: 0.0\nos: linux\nfiless: []\n"})}
	h := newHarness(t, bundles)
	h.ok("CreateApplication", obj{"applicationName": "shop"})
	h.ok("CreateDeploymentGroup", obj{"applicationName": "shop", "deploymentGroupName": "prod", "serviceRoleArn": "r",
		"deploymentConfigName": "CodeDeployDefault.AllAtOnce", "onPremisesInstanceTagFilters": []obj{{"Key": "env", "Type": "KEY_ONLY"}}})
	for _, n := range []string{"web-1", "web-2"} {
		h.ok("RegisterOnPremisesInstance", obj{"instanceName": n, "iamSessionArn": "arn:aws:sts::123456789012:assumed-role/x/y"})
		h.ok("AddTagsToOnPremisesInstances", obj{"instanceNames": []string{n}, "tags": []obj{{"Key": "env", "Value": "prod"}}})
	}
	rev := func(key string) obj {
		return obj{"revisionType": "S3", "s3Location": obj{"bucket": "acme/main", "key": key, "bundleType": "zip"}}
	}
	msg := h.fails("CreateDeployment", obj{"applicationName": "shop", "deploymentGroupName": "prod", "revision": rev("ns/web/2.0.0/bundle.zip")}, "InvalidRevisionException")
	if !strings.Contains(msg, "filess") {
		t.Errorf("the message does not name the field: %s", msg)
	}
	h.fails("CreateDeployment", obj{"applicationName": "shop", "deploymentGroupName": "prod", "revision": rev("ns/web/9.0.0/bundle.zip")}, "RevisionDoesNotExistException")
	h.fails("CreateDeployment", obj{"applicationName": "shop", "deploymentGroupName": "prod"}, "RevisionRequiredException")
	h.fails("CreateDeployment", obj{"applicationName": "shop", "deploymentGroupName": "nope", "revision": rev("ns/web/1.0.0/bundle.zip")}, "DeploymentGroupDoesNotExistException")
	id := h.ok("CreateDeployment", obj{"applicationName": "shop", "deploymentGroupName": "prod", "revision": rev("ns/web/1.0.0/bundle.zip"), "description": "first"})["deploymentId"].(string)

	deadline := time.Now().Add(60 * time.Second)
	var d map[string]any
	for {
		d = h.ok("GetDeployment", obj{"deploymentId": id})
		st := dig(d, "deploymentInfo", "status")
		if st == "Succeeded" || st == "Failed" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling the deployment's status
	}
	if dig(d, "deploymentInfo", "status") != "Succeeded" || dig(d, "deploymentInfo", "deploymentOverview", "Succeeded") != json.Number("2") {
		t.Fatalf("deployment %v", d)
	}
	if got := h.ok("ListDeployments", obj{"applicationName": "shop", "deploymentGroupName": "prod"}); fmt.Sprint(got["deployments"]) != "["+id+"]" {
		t.Errorf("deployments %v", got)
	}
	if got := h.ok("ListDeploymentInstances", obj{"deploymentId": id}); fmt.Sprint(got["instancesList"]) != "[web-1 web-2]" {
		t.Errorf("instances %v", got)
	}
	if got := h.ok("ListDeploymentTargets", obj{"deploymentId": id, "targetFilters": obj{"TargetStatus": []string{"Failed"}}}); fmt.Sprint(got["targetIds"]) != "[]" {
		t.Errorf("failed targets %v", got)
	}
	inst := h.ok("GetDeploymentInstance", obj{"deploymentId": id, "instanceId": "web-2"})
	if dig(inst, "instanceSummary", "lifecycleEvents", 6, "lifecycleEventName") != "ValidateService" || dig(inst, "instanceSummary", "lifecycleEvents", 6, "status") != "Succeeded" {
		t.Errorf("instance summary %v", inst)
	}
	h.fails("GetDeploymentInstance", obj{"deploymentId": id, "instanceId": "web-9"}, "InstanceDoesNotExistException")
	tg := h.ok("BatchGetDeploymentTargets", obj{"deploymentId": id, "targetIds": []string{"web-1"}})
	if dig(tg, "deploymentTargets", 0, "instanceTarget", "status") != "Succeeded" {
		t.Errorf("targets %v", tg)
	}
	h.fails("BatchGetDeploymentTargets", obj{"deploymentId": id, "targetIds": []string{"web-9"}}, "DeploymentTargetDoesNotExistException")
	h.fails("StopDeployment", obj{"deploymentId": id}, "DeploymentAlreadyCompletedException")
	h.fails("ContinueDeployment", obj{"deploymentId": id}, "DeploymentAlreadyCompletedException")
	h.fails("PutLifecycleEventHookExecutionStatus", obj{"deploymentId": id, "lifecycleEventHookExecutionId": "x", "status": "Succeeded"}, "UnsupportedActionForDeploymentTypeException")
	h.fails("GetDeployment", obj{"deploymentId": "d-NOTHERE00"}, "DeploymentDoesNotExistException")
	h.fails("GetDeployment", obj{"deploymentId": "../x"}, "InvalidDeploymentIdException")
}

func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}
