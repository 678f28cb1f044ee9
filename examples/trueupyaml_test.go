package examples_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// trueupFile mirrors the schema of .trueup.yaml (reconciler/layout owns the real one); decoding
// is strict, so a key the example invents, or one the schema drops, fails the test.
type trueupFile struct {
	Version int           `yaml:"version"`
	Stacks  []trueupStack `yaml:"stacks"`
}

type trueupStack struct {
	Dir          string   `yaml:"dir"`
	Workspace    string   `yaml:"workspace"`
	WhenModified []string `yaml:"when_modified"`
	VarFiles     []string `yaml:"var_files"`
	Drift        *struct {
		Interval     string `yaml:"interval"`
		Remediate    string `yaml:"remediate"`
		AllowDestroy *bool  `yaml:"allow_destroy"`
		MaxChanges   *int   `yaml:"max_changes"`
	} `yaml:"drift"`
	AWS *struct {
		RoleARN         string `yaml:"role_arn"`
		ApplyRoleARN    string `yaml:"apply_role_arn"`
		ExternalID      string `yaml:"external_id"`
		Region          string `yaml:"region"`
		SessionDuration string `yaml:"session_duration"`
	} `yaml:"aws"`
	OnApply *struct {
		ECSRedeploy *struct {
			Cluster string `yaml:"cluster"`
			Service string `yaml:"service"`
		} `yaml:"ecs_redeploy"`
		Webhook *struct {
			URLEnv string `yaml:"url_env"`
		} `yaml:"webhook"`
	} `yaml:"on_apply"`
}

// checkTrueupConfig decodes the repository's .trueup.yaml strictly and checks it against the
// Terraform: it lists every stack and only stacks; each stack plans with a role apart from the
// one it applies with; durations parse; an ECS redeploy names a cluster and service the stack
// makes.
func checkTrueupConfig(fsys fs.FS, r *tfRepo) error {
	data, err := fs.ReadFile(fsys, ".trueup.yaml")
	if err != nil {
		return fmt.Errorf("read .trueup.yaml: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var cfg trueupFile
	if err := dec.Decode(&cfg); err != nil {
		return fmt.Errorf("decode .trueup.yaml: %w", err)
	}
	var errs []error
	listed := map[string]bool{}
	for i, st := range cfg.Stacks {
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf(".trueup.yaml stacks[%d] (%s): %s", i, st.Dir, fmt.Sprintf(format, args...)))
		}
		listed[st.Dir] = true
		stack := r.stack(st.Dir)
		if stack == nil {
			fail("dir is not a stack of the repository (a directory with .tf files no module calls)")
		}
		if d := st.Drift; d != nil {
			if d.Interval != "" {
				if v, err := time.ParseDuration(d.Interval); err != nil || v <= 0 {
					fail("drift.interval %q is not a positive duration", d.Interval)
				}
			}
			if d.Remediate != "" && !slices.Contains([]string{"auto", "alert", "off"}, d.Remediate) {
				fail("drift.remediate %q is not auto, alert or off", d.Remediate)
			}
		}
		switch a := st.AWS; {
		case a == nil:
			fail("no aws: every stack of this repository runs with its own roles")
		case a.RoleARN == "" || a.ApplyRoleARN == "" || a.RoleARN == a.ApplyRoleARN:
			fail("aws: role_arn (plan, read-only) and apply_role_arn must both be set, and differ")
		case a.Region == "":
			fail("aws.region not set")
		default:
			if v, err := time.ParseDuration(a.SessionDuration); err != nil || v < 15*time.Minute || v > 12*time.Hour {
				fail("aws.session_duration %q is not between 15m and 12h (what STS allows)", a.SessionDuration)
			}
		}
		if st.OnApply != nil && st.OnApply.ECSRedeploy != nil && stack != nil {
			if err := checkRedeployTarget(stack, st.OnApply.ECSRedeploy.Cluster, st.OnApply.ECSRedeploy.Service); err != nil {
				fail("on_apply.ecs_redeploy: %v", err)
			}
		}
	}
	for _, s := range r.stacks {
		if !listed[s.mod.dir] {
			errs = append(errs, fmt.Errorf(".trueup.yaml: stack %s is not listed, so trueup would not run it", s.mod.dir))
		}
	}
	return errors.Join(errs...)
}

// checkRedeployTarget finds, among the module instances of stack, the aws_ecs_cluster and
// aws_ecs_service whose names evaluate to cluster and service.
func checkRedeployTarget(stack *scope, cluster, service string) error {
	names := map[string][]string{}
	var walk func(s *scope)
	walk = func(s *scope) {
		for _, typ := range []string{"aws_ecs_cluster", "aws_ecs_service"} {
			for _, b := range s.mod.all("resource", typ) {
				if n, err := s.str(attr(b, "name")); err == nil {
					names[typ] = append(names[typ], n)
				}
			}
		}
		for _, c := range s.children {
			walk(c)
		}
	}
	walk(stack)
	var errs []error
	if !slices.Contains(names["aws_ecs_cluster"], cluster) {
		errs = append(errs, fmt.Errorf("the stack makes no ECS cluster named %q (it makes %q)", cluster, names["aws_ecs_cluster"]))
	}
	if !slices.Contains(names["aws_ecs_service"], service) {
		errs = append(errs, fmt.Errorf("the stack makes no ECS service named %q (it makes %q)", service, names["aws_ecs_service"]))
	}
	return errors.Join(errs...)
}
