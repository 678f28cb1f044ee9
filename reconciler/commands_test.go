package reconciler

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files in testdata/")

func TestParseCommand(t *testing.T) {
	tests := []struct {
		body string
		want Command
		ok   bool
	}{
		{"trueup plan", Command{Verb: "plan", Stacks: []string{}}, true},
		{"  trueup approve stacks/a stacks/b\nthanks!", Command{Verb: "approve", Stacks: []string{"stacks/a", "stacks/b"}}, true},
		{"TrueUp Retry", Command{Verb: "retry", Stacks: []string{}}, true},
		{"trueup", Command{Verb: "help"}, true},
		{"trueup   dance", Command{Verb: "dance", Stacks: []string{}}, true},
		{"LGTM\ntrueup approve", Command{}, false},
		{"trueupapprove", Command{}, false},
		{"> trueup approve", Command{}, false},
		{"", Command{}, false},
	}
	for _, tt := range tests {
		got, ok := parseCommand(tt.body)
		assert.Equal(t, tt.ok, ok, "%q", tt.body)
		assert.Equal(t, tt.want, got, "%q", tt.body)
	}
}

const (
	mergeRev = Revision("feedfacefeedfacefeedfacefeedfacefeedface")
	laterRev = Revision("0badc0de0badc0de0badc0de0badc0de0badc0de")
)

// commandCase is one row of TestDecideCommand: facts in, work out, and the reply in the golden file.
type commandCase struct {
	name    string
	facts   commandFacts
	plan    []string
	approve map[string]Revision
	retry   []string
}

func commandCases() []commandCase {
	dev := Commenter{Login: "dev", ID: 2}
	open := Pull{Number: 7, Author: "alice", Open: true}
	merged := Pull{Number: 7, Author: "alice", Merged: true}
	closed := Pull{Number: 7, Author: "alice"}
	touched := []string{"stacks/a", "stacks/b"}
	facts := func(body string, pull Pull, mutate ...func(*commandFacts)) commandFacts {
		c, ok := parseCommand(body)
		if !ok {
			panic(body)
		}
		f := commandFacts{Command: c, Author: dev, CanWrite: true, Pull: pull, Touched: touched}
		for _, m := range mutate {
			m(&f)
		}
		return f
	}
	heldA := func(f *commandFacts) { f.Held = map[string]Revision{"stacks/a": mergeRev} }
	return []commandCase{
		{name: "plan every touched stack", facts: facts("trueup plan", open), plan: touched},
		{name: "plan one stack", facts: facts("trueup plan stacks/b", open), plan: []string{"stacks/b"}},
		{name: "plan a stack the pull request does not change", facts: facts("trueup plan stacks/a stacks/zzz", open)},
		{name: "plan a merged pull request", facts: facts("trueup plan", merged)},
		{name: "plan a pull request that changes nothing", facts: facts("trueup plan", open, func(f *commandFacts) { f.Touched = nil })},
		{name: "plan on a closed pull request", facts: facts("trueup plan", closed)},
		{name: "no write access", facts: facts("trueup approve", merged, heldA, func(f *commandFacts) { f.CanWrite = false })},
		{name: "no write access asking for help", facts: facts("trueup help", open, func(f *commandFacts) { f.CanWrite = false })},
		{name: "help", facts: facts("trueup help", open)},
		{name: "trueup alone", facts: facts("trueup", open)},
		{name: "unknown command", facts: facts("trueup destroy stacks/a", open)},
		{name: "approve the held merge", facts: facts("trueup approve", merged, heldA), approve: map[string]Revision{"stacks/a": mergeRev}},
		{name: "approve a named held stack", facts: facts("trueup approve stacks/a", merged, heldA), approve: map[string]Revision{"stacks/a": mergeRev}},
		{name: "approve a stack that is not held", facts: facts("trueup approve stacks/a stacks/b", merged, heldA), approve: map[string]Revision{"stacks/a": mergeRev}},
		{name: "approve with nothing held", facts: facts("trueup approve", merged)},
		{name: "approve an open pull request", facts: facts("trueup approve", open, heldA)},
		{name: "approve a closed pull request", facts: facts("trueup approve", closed, heldA)},
		{name: "self-approval", facts: facts("trueup approve", merged, heldA, func(f *commandFacts) { f.Author = Commenter{Login: "Alice"} })},
		{name: "self-approval allowed", facts: facts("trueup approve", merged, heldA, func(f *commandFacts) {
			f.Author, f.AllowSelfApprove = Commenter{Login: "alice"}, true
		}), approve: map[string]Revision{"stacks/a": mergeRev}},
		{name: "retry the failed applies", facts: facts("trueup retry", merged, func(f *commandFacts) {
			f.Failed = map[string]Revision{"stacks/a": mergeRev, "stacks/b": mergeRev}
		}), retry: touched},
		{name: "retry with nothing failed", facts: facts("trueup retry stacks/b", merged, func(f *commandFacts) {
			f.Failed = map[string]Revision{"stacks/a": mergeRev}
		})},
		{name: "retry an open pull request", facts: facts("trueup retry", open)},
		{name: "on GitLab a merge request is !N", facts: facts("trueup approve", Pull{Number: 7, Ref: "!7", Author: "alice", Open: true})},
	}
}

func TestDecideCommand(t *testing.T) {
	var golden strings.Builder
	for _, tt := range commandCases() {
		got := decideCommand(tt.facts)
		assert.Equal(t, tt.plan, got.Plan, tt.name)
		assert.Equal(t, tt.approve, got.Approve, tt.name)
		assert.Equal(t, tt.retry, got.Retry, tt.name)
		assert.NotEmpty(t, got.Reply, "%s: every command is answered", tt.name)
		fmt.Fprintf(&golden, "===== %s: %q\n%s\n\n", tt.name, strings.TrimSpace("trueup "+tt.facts.Command.Verb+" "+strings.Join(tt.facts.Command.Stacks, " ")), got.Reply)
	}
	path := filepath.Join("testdata", "command_replies.golden")
	if *updateGolden {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(golden.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./reconciler -run TestDecideCommand -update")
	assert.Equal(t, string(want), golden.String())
}
