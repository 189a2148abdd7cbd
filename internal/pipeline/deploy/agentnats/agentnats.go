// Package agentnats carries the work of remote CodeDeploy instances
// between the server (Dispatcher, a deploy.Remote) and the agents that
// serve them (Agent, run by `registry agent`) over core NATS
// request/reply.
//
// Subjects, under root "<events_prefix>-codedeploy-agent" (a first token
// of its own, so the events stream on "<events_prefix>.>" neither stores
// this traffic nor answers its requests):
//
//	<root>.register             agent -> server request: {"agent","instance","tags"}; reply {"error"}
//	<root>.work.<agent>         server -> agent request: {"work","token","inbox","heartbeatMs"}; reply {"error"} at once
//	<inbox>                     agent -> server: {"type":"event"|"heartbeat"|"done", ...} while the lifecycle runs
//	<root>.cancel.<agent>       server -> agent: {"deploymentId","instance"}: stop that lifecycle
//	<root>.bundle               agent -> server request: {"token","offset"}; reply a chunk of the bundle's tar,
//	                            header Eof: 1 on the last, Error: <message> on failure
//
// The token is random and valid only while the server waits for that
// instance's lifecycle: it is the agent's short-lived credential for the
// bundle. An agent publishes a heartbeat every heartbeatMs while it works;
// the dispatcher fails the instance when it hears nothing for
// Dispatcher.Deadline (the agent died, or lost its connection).
//
// Anyone who can publish on the NATS server can register instances under
// an agent name: expose the server's NATS port only to trusted machines
// (or run NATS with authorisation).
package agentnats

import (
	"encoding/json"
	"time"

	"github.com/artifactd/registry/internal/pipeline/deploy"
)

// Root is the subject root for events prefix prefix.
func Root(prefix string) string { return prefix + "-codedeploy-agent" }

type registerReq struct {
	Agent    string       `json:"agent"`
	Instance string       `json:"instance"`
	Tags     []deploy.Tag `json:"tags,omitempty"`
}

type reply struct {
	Error string `json:"error,omitempty"`
}

type workReq struct {
	Work        deploy.Work `json:"work"`
	Token       string      `json:"token"`
	Inbox       string      `json:"inbox"`
	HeartbeatMs int64       `json:"heartbeatMs"`
}

type progress struct {
	Type        string              `json:"type"` // event, heartbeat, done
	Event       string              `json:"event,omitempty"`
	Status      string              `json:"status,omitempty"`
	Diagnostics *deploy.Diagnostics `json:"diagnostics,omitempty"`
	Error       string              `json:"error,omitempty"`
}

type cancelReq struct {
	DeploymentID string `json:"deploymentId"`
	Instance     string `json:"instance"`
}

type bundleReq struct {
	Token  string `json:"token"`
	Offset int64  `json:"offset"`
}

// chunk is the most bundle bytes one reply carries (NATS's default
// maximum payload is 1 MiB).
const chunk = 256 << 10

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func ms(d time.Duration) int64 { return int64(d / time.Millisecond) }
