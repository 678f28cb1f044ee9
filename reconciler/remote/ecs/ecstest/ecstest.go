// Package ecstest is a fake Amazon ECS for tests: RunTask, DescribeTasks, ListTasks and StopTask
// in ECS's JSON 1.1 protocol (X-Amz-Target), where the test plays each task's container.
package ecstest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

const targetPrefix = "AmazonEC2ContainerServiceV20141113."

// Container plays a task's container: it runs command with env until it ends or ctx is canceled
// (StopTask), and returns the container's exit code and reason.
type Container func(ctx context.Context, command []string, env map[string]string) (exitCode int, reason string)

// Task is one task as the fake ECS knows it.
type Task struct {
	ARN, Cluster, TaskDefinition, StartedBy, ClientToken, Container string
	Command                                                         []string
	Env                                                             map[string]string
	Tags                                                            map[string]string
	LastStatus, StopCode, StoppedReason, ExitReason                 string
	ExitCode                                                        *int
	cancel                                                          context.CancelFunc
}

// Server is the fake ECS.
type Server struct {
	URL string
	// Run plays each task's container; nil leaves tasks PROVISIONING until they are stopped.
	Run Container
	// Fail makes RunTask answer with a failure (no task) for task definitions it names: the reason.
	Fail map[string]string

	mu      sync.Mutex
	tasks   map[string]*Task
	order   []string
	byToken map[string]string
	stops   []string
	wg      sync.WaitGroup
}

// New starts a fake ECS, stopped (with its containers) when the test ends.
func New(t testing.TB) *Server {
	s := &Server{tasks: map[string]*Task{}, byToken: map[string]string{}, Fail: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = srv.URL
	t.Cleanup(func() {
		s.mu.Lock()
		for _, tk := range s.tasks {
			if tk.cancel != nil {
				tk.cancel()
			}
		}
		s.mu.Unlock()
		s.wg.Wait()
		srv.Close()
	})
	return s
}

// Tasks returns copies of the tasks started so far, in order.
func (s *Server) Tasks() []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Task, 0, len(s.order))
	for _, arn := range s.order {
		out = append(out, *s.tasks[arn])
	}
	return out
}

// Stops returns the reasons of the StopTask calls received.
func (s *Server) Stops() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.stops...)
}

type kv struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type runTaskIn struct {
	Cluster        string `json:"cluster"`
	TaskDefinition string `json:"taskDefinition"`
	ClientToken    string `json:"clientToken"`
	StartedBy      string `json:"startedBy"`
	Tags           []tag  `json:"tags"`
	Overrides      struct {
		ContainerOverrides []struct {
			Name        string   `json:"name"`
			Command     []string `json:"command"`
			Environment []kv     `json:"environment"`
		} `json:"containerOverrides"`
	} `json:"overrides"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if r.Method != http.MethodPost || !ok || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		writeError(w, "UnknownOperationException", "not an ECS JSON 1.1 call")
		return
	}
	body, _ := io.ReadAll(r.Body)
	switch target {
	case "RunTask":
		var in runTaskIn
		if json.Unmarshal(body, &in) != nil {
			writeError(w, "InvalidParameterException", "bad RunTask")
			return
		}
		s.runTask(w, in)
	case "DescribeTasks":
		var in struct {
			Tasks   []string `json:"tasks"`
			Include []string `json:"include"`
		}
		_ = json.Unmarshal(body, &in)
		s.describe(w, in.Tasks, len(in.Include) > 0 && in.Include[0] == "TAGS")
	case "ListTasks":
		var in struct {
			Cluster       string `json:"cluster"`
			StartedBy     string `json:"startedBy"`
			DesiredStatus string `json:"desiredStatus"`
		}
		_ = json.Unmarshal(body, &in)
		s.list(w, in.Cluster, in.StartedBy, in.DesiredStatus)
	case "StopTask":
		var in struct{ Task, Reason string }
		_ = json.Unmarshal(body, &in)
		s.stop(w, in.Task, in.Reason)
	default:
		writeError(w, "UnknownOperationException", target)
	}
}

func (s *Server) runTask(w http.ResponseWriter, in runTaskIn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if reason, ok := s.Fail[in.TaskDefinition]; ok {
		writeJSON(w, map[string]any{"tasks": []any{}, "failures": []any{map[string]string{"reason": reason}}})
		return
	}
	if arn, ok := s.byToken[in.ClientToken]; ok && in.ClientToken != "" {
		writeJSON(w, map[string]any{"tasks": []any{s.tasks[arn].json()}})
		return
	}
	tk := &Task{ARN: fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:task/%s/%d", in.Cluster, len(s.order)+1),
		Cluster: in.Cluster, TaskDefinition: in.TaskDefinition, StartedBy: in.StartedBy, ClientToken: in.ClientToken,
		LastStatus: "PROVISIONING", Env: map[string]string{}, Tags: map[string]string{}}
	for _, tg := range in.Tags {
		tk.Tags[tg.Key] = tg.Value
	}
	if len(in.Overrides.ContainerOverrides) > 0 {
		o := in.Overrides.ContainerOverrides[0]
		tk.Container, tk.Command = o.Name, o.Command
		for _, e := range o.Environment {
			tk.Env[e.Name] = e.Value
		}
	}
	s.tasks[tk.ARN], s.byToken[in.ClientToken] = tk, tk.ARN
	s.order = append(s.order, tk.ARN)
	ctx, cancel := context.WithCancel(context.Background())
	tk.cancel = cancel
	if s.Run != nil {
		tk.LastStatus = "RUNNING"
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			code, reason := s.Run(ctx, tk.Command, tk.Env)
			s.mu.Lock()
			defer s.mu.Unlock()
			if tk.StopCode == "" {
				tk.StopCode, tk.StoppedReason = "EssentialContainerExited", "Essential container in task exited"
			}
			tk.LastStatus, tk.ExitCode, tk.ExitReason = "STOPPED", &code, reason
		}()
	}
	writeJSON(w, map[string]any{"tasks": []any{tk.json()}})
}

// Add puts a task on the cluster that RunTask did not start (another's, or a forgery), as
// ListTasks and DescribeTasks will show it; it stays PROVISIONING until stopped.
func (s *Server) Add(tk Task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tk.LastStatus == "" {
		tk.LastStatus = "PROVISIONING"
	}
	_, tk.cancel = context.WithCancel(context.Background())
	s.tasks[tk.ARN] = &tk
	s.order = append(s.order, tk.ARN)
}

// list answers ListTasks: the ARNs of the cluster's tasks started by startedBy ("" for any) whose
// desired status is desired (RUNNING: not yet stopped; STOPPED: stopped).
func (s *Server) list(w http.ResponseWriter, cluster, startedBy, desired string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arns := []string{}
	for _, arn := range s.order {
		tk := s.tasks[arn]
		stopped := tk.LastStatus == "STOPPED" || tk.StopCode == "UserInitiated"
		if tk.Cluster != cluster || (startedBy != "" && tk.StartedBy != startedBy) || (desired == "STOPPED") != stopped {
			continue
		}
		arns = append(arns, arn)
	}
	writeJSON(w, map[string]any{"taskArns": arns})
}

func (s *Server) describe(w http.ResponseWriter, arns []string, withTags bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var tasks, failures []any
	for _, arn := range arns {
		if tk, ok := s.tasks[arn]; ok {
			m := tk.json()
			if withTags {
				tags := []tag{}
				for k, v := range tk.Tags {
					tags = append(tags, tag{k, v})
				}
				m["tags"] = tags
			}
			tasks = append(tasks, m)
		} else {
			failures = append(failures, map[string]string{"arn": arn, "reason": "MISSING"})
		}
	}
	writeJSON(w, map[string]any{"tasks": tasks, "failures": failures})
}

func (s *Server) stop(w http.ResponseWriter, arn, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stops = append(s.stops, reason)
	tk, ok := s.tasks[arn]
	if !ok {
		writeError(w, "InvalidParameterException", "The referenced task was not found.")
		return
	}
	if tk.LastStatus != "STOPPED" {
		tk.StopCode, tk.StoppedReason = "UserInitiated", reason
		tk.cancel()
		if s.Run == nil { // nothing runs: it stops at once
			tk.LastStatus = "STOPPED"
		}
	}
	writeJSON(w, map[string]any{"task": tk.json()})
}

func (t *Task) json() map[string]any {
	c := map[string]any{"name": t.Container, "lastStatus": t.LastStatus}
	if t.ExitCode != nil {
		c["exitCode"] = *t.ExitCode
	}
	if t.ExitReason != "" {
		c["reason"] = t.ExitReason
	}
	m := map[string]any{"taskArn": t.ARN, "lastStatus": t.LastStatus, "startedBy": t.StartedBy, "containers": []any{c},
		"taskDefinitionArn": t.TaskDefinition}
	if t.StopCode != "" {
		m["stopCode"], m["stoppedReason"] = t.StopCode, t.StoppedReason
	}
	return m
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
