// Package ecs is the remote.Executor that runs each runner as an Amazon ECS task (Fargate):
// RunTask with the run id as ClientToken (a retried start never starts a second task) and
// "trueup" as StartedBy, a task definition (and so a task role) per purpose, the run's variables
// as container overrides; DescribeTasks to wait; StopTask to cancel, with the reason recorded.
//
// The run's token travels as a container override: whoever may call ecs:DescribeTasks on the
// cluster can read it for as long as the task runs (it dies with the run). Keep that permission
// to trueup's own role.
package ecs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/trueup/trueup/reconciler/remote"
)

// StartedBy marks every task trueup starts.
const StartedBy = "trueup"

// API is the part of the ECS client the executor uses; *ecs.Client implements it.
type API interface {
	ListTasks(ctx context.Context, in *ecs.ListTasksInput, opts ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	RunTask(ctx context.Context, in *ecs.RunTaskInput, opts ...func(*ecs.Options)) (*ecs.RunTaskOutput, error)
	DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, opts ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	StopTask(ctx context.Context, in *ecs.StopTaskInput, opts ...func(*ecs.Options)) (*ecs.StopTaskOutput, error)
}

var _ API = (*ecs.Client)(nil)

// Options configure the executor.
type Options struct {
	Cluster string
	// TaskDefinitions are the task definitions (family[:revision] or ARN) per purpose: their task
	// roles are the runs' identities, so a plan task never holds the apply role.
	TaskDefinitions map[remote.Purpose]string
	Subnets         []string
	SecurityGroups  []string
	AssignPublicIP  bool
	// Container is the name of the trueup container in the task definitions ("trueup" when "").
	Container string
	// Env are more variables for every runner (TRUEUP_RUNNER_TERRAFORM...).
	Env map[string]string
	// PollInterval is how often a running task is described (10 s when 0).
	PollInterval time.Duration
}

// Executor starts runners as ECS tasks.
type Executor struct {
	api  API
	opts Options
}

var (
	_ remote.Executor = (*Executor)(nil)
	_ remote.Adopter  = (*Executor)(nil)
)

// tagRunID carries the run id: ECS does not return a task's ClientToken.
const tagRunID = remote.MetaPrefix + "run-id"

// New returns an Executor over api.
func New(api API, opts Options) (*Executor, error) {
	if opts.Cluster == "" || opts.TaskDefinitions[remote.PurposePlan] == "" || opts.TaskDefinitions[remote.PurposeApply] == "" {
		return nil, errors.New("ecs executor: a cluster and a task definition for plan and for apply are required")
	}
	if opts.Container == "" {
		opts.Container = "trueup"
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 10 * time.Second
	}
	return &Executor{api: api, opts: opts}, nil
}

// Start runs the task. A failure ECS reports (no capacity, a missing task definition) is an error
// naming its reason.
func (e *Executor) Start(ctx context.Context, l remote.Launch) (remote.Task, error) {
	env := map[string]string{}
	for k, v := range e.opts.Env {
		env[k] = v
	}
	for k, v := range l.Env() {
		env[k] = v
	}
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	kv := make([]types.KeyValuePair, 0, len(names))
	for _, k := range names {
		kv = append(kv, types.KeyValuePair{Name: awssdk.String(k), Value: awssdk.String(env[k])})
	}
	assign := types.AssignPublicIpDisabled
	if e.opts.AssignPublicIP {
		assign = types.AssignPublicIpEnabled
	}
	in := &ecs.RunTaskInput{
		Cluster:        awssdk.String(e.opts.Cluster),
		TaskDefinition: awssdk.String(e.opts.TaskDefinitions[l.Purpose]),
		ClientToken:    awssdk.String(l.RunID),
		StartedBy:      awssdk.String(StartedBy),
		Count:          awssdk.Int32(1),
		LaunchType:     types.LaunchTypeFargate,
		Tags:           tags(l),
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{
			Name: awssdk.String(e.opts.Container), Command: []string{"runner"}, Environment: kv,
		}}},
	}
	if len(e.opts.Subnets) > 0 {
		in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: e.opts.Subnets, SecurityGroups: e.opts.SecurityGroups, AssignPublicIp: assign,
		}}
	}
	out, err := e.api.RunTask(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("ecs RunTask %s: %w", e.opts.TaskDefinitions[l.Purpose], err)
	}
	if len(out.Tasks) == 0 || out.Tasks[0].TaskArn == nil {
		var reasons []string
		for _, f := range out.Failures {
			reasons = append(reasons, strings.TrimSpace(awssdk.ToString(f.Reason)+" "+awssdk.ToString(f.Detail)))
		}
		return nil, fmt.Errorf("ecs RunTask %s: no task started: %s", e.opts.TaskDefinitions[l.Purpose], strings.Join(reasons, "; "))
	}
	return &task{e: e, arn: *out.Tasks[0].TaskArn}, nil
}

// tags are the task's tags: the run's Meta and its id.
func tags(l remote.Launch) []types.Tag {
	names := make([]string, 0, len(l.Meta))
	for k := range l.Meta {
		names = append(names, k)
	}
	sort.Strings(names)
	out := []types.Tag{{Key: awssdk.String(tagRunID), Value: awssdk.String(l.RunID)}}
	for _, k := range names {
		out = append(out, types.Tag{Key: awssdk.String(k), Value: awssdk.String(l.Meta[k])})
	}
	return out
}

// InFlight lists the cluster's tasks started by trueup that have not stopped, with their tags.
// A task without trueup's run id tag is left out.
func (e *Executor) InFlight(ctx context.Context) ([]remote.InFlight, error) {
	var arns []string
	p := ecs.NewListTasksPaginator(e.api, &ecs.ListTasksInput{Cluster: awssdk.String(e.opts.Cluster),
		StartedBy: awssdk.String(StartedBy), DesiredStatus: types.DesiredStatusRunning})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ecs ListTasks %s: %w", e.opts.Cluster, err)
		}
		arns = append(arns, out.TaskArns...)
	}
	var found []remote.InFlight
	for len(arns) > 0 {
		batch := arns[:min(len(arns), 100)] // DescribeTasks takes 100 at most
		arns = arns[len(batch):]
		out, err := e.api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: awssdk.String(e.opts.Cluster), Tasks: batch,
			Include: []types.TaskField{types.TaskFieldTags}})
		if err != nil {
			return nil, fmt.Errorf("ecs DescribeTasks %s: %w", e.opts.Cluster, err)
		}
		for _, tk := range out.Tasks {
			meta := map[string]string{}
			for _, tg := range tk.Tags {
				if k := awssdk.ToString(tg.Key); strings.HasPrefix(k, remote.MetaPrefix) {
					meta[k] = awssdk.ToString(tg.Value)
				}
			}
			id := meta[tagRunID]
			if id == "" || tk.TaskArn == nil {
				continue
			}
			delete(meta, tagRunID)
			found = append(found, remote.InFlight{RunID: id, Meta: meta, Task: &task{e: e, arn: *tk.TaskArn}})
		}
	}
	return found, nil
}

type task struct {
	e   *Executor
	arn string
}

// Wait describes the task until it has stopped. A task whose trueup container exited 0 ended
// cleanly; any other end is an error with ECS's stop code and reason and the container's.
func (t *task) Wait(ctx context.Context) error {
	tick := time.NewTicker(t.e.opts.PollInterval)
	defer tick.Stop()
	for {
		done, err := t.stopped(ctx)
		if done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// callTimeout bounds one call to ECS made while waiting.
const callTimeout = 30 * time.Second

// stopped describes the task once: done when it has stopped, with why it failed, if it did.
func (t *task) stopped(ctx context.Context) (bool, error) {
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := t.e.api.DescribeTasks(callCtx, &ecs.DescribeTasksInput{Cluster: awssdk.String(t.e.opts.Cluster), Tasks: []string{t.arn}})
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, nil // ECS unreachable for a moment: the dispatcher's deadlines decide
	}
	if len(out.Tasks) == 0 {
		return true, fmt.Errorf("ecs task %s is gone", t.arn)
	}
	tk := out.Tasks[0]
	if awssdk.ToString(tk.LastStatus) != "STOPPED" {
		return false, nil
	}
	for _, c := range tk.Containers {
		if awssdk.ToString(c.Name) != t.e.opts.Container {
			continue
		}
		if c.ExitCode != nil && *c.ExitCode == 0 {
			return true, nil
		}
		why := fmt.Sprintf("ecs task %s stopped (%s: %s)", t.arn, tk.StopCode, awssdk.ToString(tk.StoppedReason))
		if c.ExitCode != nil {
			why += fmt.Sprintf("; container %s exited with %d", t.e.opts.Container, *c.ExitCode)
		}
		if r := awssdk.ToString(c.Reason); r != "" {
			why += ": " + r
		}
		return true, errors.New(why)
	}
	return true, fmt.Errorf("ecs task %s stopped (%s: %s) without its %s container", t.arn, tk.StopCode, awssdk.ToString(tk.StoppedReason), t.e.opts.Container)
}

// Stop stops the task with the reason ("trueup: canceled") and waits until ECS says it stopped.
func (t *task) Stop(ctx context.Context, reason string) error {
	r := "trueup: " + reason
	if len(r) > 255 {
		r = r[:255]
	}
	_, err := t.e.api.StopTask(ctx, &ecs.StopTaskInput{Cluster: awssdk.String(t.e.opts.Cluster), Task: awssdk.String(t.arn), Reason: awssdk.String(r)})
	if err != nil {
		return fmt.Errorf("ecs StopTask %s: %w", t.arn, err)
	}
	err = t.Wait(ctx)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("ecs task %s: not stopped yet: %w", t.arn, err)
	}
	return nil
}
