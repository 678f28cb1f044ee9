package awstest

import (
	"net/http"
	"testing"
)

// UpdateServiceCall is one UpdateService request as the fake ECS received it.
type UpdateServiceCall struct {
	Cluster, Service   string
	ForceNewDeployment bool
	Signer             Signer
	Token              string // the X-Amz-Security-Token header: the session token signed with, if any
}

// ECS is a fake Elastic Container Service answering UpdateService in its JSON 1.1 protocol: every
// call succeeds, for any cluster and service.
type ECS struct {
	server

	calls []UpdateServiceCall
}

// NewECS starts a fake ECS.
func NewECS(t testing.TB) *ECS {
	f := &ECS{}
	f.start(t, f.serve)
	return f
}

func (f *ECS) serve(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Cluster            string `json:"cluster"`
		Service            string `json:"service"`
		ForceNewDeployment bool   `json:"forceNewDeployment"`
	}
	if !f.readJSON(w, r, "AmazonEC2ContainerServiceV20141113.UpdateService", &in) {
		return
	}
	call := UpdateServiceCall{
		Cluster: in.Cluster, Service: in.Service, ForceNewDeployment: in.ForceNewDeployment,
		Signer: SignerOf(r), Token: r.Header.Get("X-Amz-Security-Token"),
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	region := call.Signer.Region
	if region == "" {
		region = "us-east-1"
	}
	writeJSON(w, http.StatusOK, map[string]any{"service": map[string]any{
		"serviceName": call.Service, "clusterArn": "arn:aws:ecs:" + region + ":123456789012:cluster/" + call.Cluster,
		"status": "ACTIVE", "desiredCount": 2,
	}})
}

// Calls are the UpdateService requests received so far, in order.
func (f *ECS) Calls() []UpdateServiceCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]UpdateServiceCall(nil), f.calls...)
}
