package main

import (
	"fmt"
	"path/filepath"
	"slices"
)

// infra describes a synthetic infrastructure repository: stacks/sNNN of local_file resources, each
// calling modules/common, and some calling modules/fanout-leaf directly or through modules/fanout-mid.
type infra struct {
	Stacks int
	// Resources is the number of local_file resources in each stack itself; modules/common adds one.
	Resources int
	// ViaMid and Direct are the stacks that call fanout-leaf through fanout-mid and directly.
	ViaMid, Direct []int
	// OutDir is where the local_file resources are written.
	OutDir string
	// LockFile is every stack's committed .terraform.lock.hcl ("" for none).
	LockFile string
}

// fanoutStacks are the 7 stacks of the 100-stack repository that depend on modules/fanout-leaf.
var (
	fanoutViaMid = []int{3, 17, 31, 45}
	fanoutDirect = []int{59, 73, 87}
)

func stackName(i int) string { return fmt.Sprintf("stacks/s%03d", i) }

// FanoutStacks are the names of the stacks that depend on modules/fanout-leaf.
func (in infra) FanoutStacks() []string {
	var out []string
	for _, i := range append(slices.Clone(in.ViaMid), in.Direct...) {
		out = append(out, stackName(i))
	}
	slices.Sort(out)
	return out
}

// Files is the whole repository at version 1.
func (in infra) Files() map[string]string {
	files := map[string]string{
		"README.md":              "# synthetic infrastructure for trueup-bench\n",
		"modules/common/main.tf": commonModule,
	}
	// A module nobody calls would be discovered as a stack of its own.
	if len(in.ViaMid)+len(in.Direct) > 0 {
		files["modules/fanout-leaf/main.tf"] = leafModule("v1")
	}
	if len(in.ViaMid) > 0 {
		files["modules/fanout-mid/main.tf"] = midModule
		files["modules/fanout-mid/outputs.tf"] = "output \"name\" {\n  value = var.name\n}\n"
	}
	for i := range in.Stacks {
		in.addStack(files, i)
	}
	return files
}

// addStack adds stack i at version 1, with its lock file, to files.
func (in infra) addStack(files map[string]string, i int) {
	files[stackName(i)+"/main.tf"] = in.Stack(i, "v1")
	if in.LockFile != "" {
		files[stackName(i)+"/.terraform.lock.hcl"] = in.LockFile
	}
}

// Stack is the configuration of stack i at version.
func (in infra) Stack(i int, version string) string {
	name := fmt.Sprintf("s%03d", i)
	out := filepath.Join(in.OutDir, name)
	s := fmt.Sprintf(`terraform {
  required_providers {
    local = { source = "hashicorp/local" }
  }
}

locals {
  out = %q
}

resource "local_file" "r" {
  count    = %d
  filename = "${local.out}/r${count.index}.txt"
  content  = "%s %s r${count.index}"
}

module "common" {
  source  = "../../modules/common"
  out_dir = local.out
  name    = %q
}
`, out, in.Resources, name, version, name)
	switch {
	case slices.Contains(in.ViaMid, i):
		s += fmt.Sprintf("\nmodule \"fanout\" {\n  source  = \"../../modules/fanout-mid\"\n  out_dir = local.out\n  name    = %q\n}\n", name)
	case slices.Contains(in.Direct, i):
		s += fmt.Sprintf("\nmodule \"fanout\" {\n  source  = \"../../modules/fanout-leaf\"\n  out_dir = local.out\n  name    = %q\n}\n", name)
	}
	return s
}

const commonModule = `variable "out_dir" { type = string }
variable "name" { type = string }

resource "local_file" "common" {
  filename = "${var.out_dir}/common.txt"
  content  = "common module for ${var.name}"
}
`

func leafModule(version string) string {
	return fmt.Sprintf(`variable "out_dir" { type = string }
variable "name" { type = string }

resource "local_file" "leaf" {
  filename = "${var.out_dir}/leaf.txt"
  content  = "fanout leaf %s for ${var.name}"
}
`, version)
}

const midModule = `variable "out_dir" { type = string }
variable "name" { type = string }

module "leaf" {
  source  = "../fanout-leaf"
  out_dir = var.out_dir
  name    = var.name
}
`
