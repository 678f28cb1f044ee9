package main

import (
	"fmt"
	"slices"
)

// scaleInfra is the repository of the 2,000-stack daemon (issue 12), where Terraform's time is not
// the point: stacks/sNNN call modules/label, a module with no resources, and hold no resources of
// their own, so their init and plan are cheap; the stacks the merges change (Merge) hold one
// terraform_data, so a merge is a real apply.
type scaleInfra struct {
	Stacks int
	// Merge are the stacks that hold a terraform_data.
	Merge []int
}

const labelModule = `variable "name" { type = string }

output "name" {
  value = "stack ${var.name}"
}
`

// Files is the whole repository at version 1.
func (in scaleInfra) Files() map[string]string {
	files := map[string]string{
		"README.md":             "# synthetic 2,000-stack infrastructure for trueup-bench\n",
		"modules/label/main.tf": labelModule,
	}
	for i := range in.Stacks {
		files[stackName(i)+"/main.tf"] = in.Stack(i, "v1")
	}
	return files
}

// Stack is the configuration of stack i at version: a module call, and a terraform_data whose input
// is the version for the stacks that merges change.
func (in scaleInfra) Stack(i int, version string) string {
	s := fmt.Sprintf("terraform {}\n\nmodule \"label\" {\n  source = \"../../modules/label\"\n  name   = %q\n}\n", fmt.Sprintf("s%03d", i))
	if slices.Contains(in.Merge, i) {
		s += fmt.Sprintf("\nresource \"terraform_data\" \"r\" {\n  input = %q\n}\n", version)
	}
	return s
}

// PullChange is what pull request change makes of stack i: it adds a terraform_data, so each pull
// request's plan has a change to show.
func (in scaleInfra) PullChange(i int) string {
	return in.Stack(i, "v1") + "\nresource \"terraform_data\" \"pr\" {\n  input = \"pull request\"\n}\n"
}
