package reconciler

import (
	"fmt"
	"slices"
	"strings"
)

// Comment commands: a pull request comment whose first line is "trueup <verb> [stack…]".
const (
	VerbPlan    = "plan"
	VerbApprove = "approve"
	VerbRetry   = "retry"
	VerbHelp    = "help"
)

// Command is a parsed comment command.
type Command struct {
	Verb   string
	Stacks []string // as named; empty means every stack the verb applies to
}

// parseCommand reads a command from the first line of a comment: "trueup", a verb, and stack names,
// separated by spaces. "trueup" alone asks for help. A comment whose first line does not start with
// the word "trueup" is no command.
func parseCommand(body string) (Command, bool) {
	first, _, _ := strings.Cut(strings.TrimLeft(body, " \t\r\n"), "\n")
	fields := strings.Fields(first)
	if len(fields) == 0 || !strings.EqualFold(fields[0], "trueup") {
		return Command{}, false
	}
	if len(fields) == 1 {
		return Command{Verb: VerbHelp}, true
	}
	return Command{Verb: strings.ToLower(fields[1]), Stacks: fields[2:]}, true
}

// commandFacts is what deciding a command needs, read from the forge and the store.
type commandFacts struct {
	Command Command
	// Author wrote the command; CanWrite is their permission, read from the forge's API.
	Author   Commenter
	CanWrite bool
	// Pull is the pull request as the forge shows it now.
	Pull Pull
	// Touched are the stacks the pull request changes (its plans).
	Touched []string
	// Held are the touched stacks whose apply of this pull request's merge is held, at that revision.
	Held map[string]Revision
	// Failed are the touched stacks whose apply of this pull request's merge failed, at that revision.
	Failed map[string]Revision
	// AllowSelfApprove lets the pull request's author approve.
	AllowSelfApprove bool
}

// Pull is the part of a pull request a command is judged by.
type Pull struct {
	Number int
	// Ref is how people refer to it on the forge ("#7" on GitHub, "!7" on GitLab); empty is "#N".
	Ref    string
	Author string
	Open   bool
	Merged bool
}

func (p Pull) ref() string {
	if p.Ref != "" {
		return p.Ref
	}
	return fmt.Sprintf("#%d", p.Number)
}

// commandDecision is what to do about a command: always a reply, and the work it asks for.
type commandDecision struct {
	Reply   string
	Plan    []string
	Approve map[string]Revision
	Retry   []string
}

// decideCommand decides what a command does and what trueup answers. It is pure.
func decideCommand(f commandFacts) commandDecision {
	c, n := f.Command, f.Pull.ref()
	if !f.CanWrite {
		return commandDecision{Reply: fmt.Sprintf("❌ Refused: @%s, only people with write access to the repository may command trueup "+
			"(GitHub: write, maintain or admin; GitLab: Developer or above).", f.Author.Login)}
	}
	switch c.Verb {
	case VerbHelp:
		return commandDecision{Reply: commandHelp}
	case VerbPlan, VerbApprove, VerbRetry:
	default:
		return commandDecision{Reply: fmt.Sprintf("❓ Unknown command `%s`.\n\n%s", c.Verb, commandHelp)}
	}
	if !f.Pull.Open && !f.Pull.Merged {
		return commandDecision{Reply: fmt.Sprintf("❌ Refused `trueup %s`: %s is closed.", c.Verb, n)}
	}
	var unknown []string
	for _, s := range c.Stacks {
		if !slices.Contains(f.Touched, s) {
			unknown = append(unknown, "`"+s+"`")
		}
	}
	if len(unknown) > 0 {
		return commandDecision{Reply: fmt.Sprintf("❌ Refused `trueup %s`: %s does not change %s.", c.Verb, n, strings.Join(unknown, ", "))}
	}
	switch c.Verb {
	case VerbPlan:
		return decidePlan(f)
	case VerbApprove:
		return decideApprove(f)
	}
	return decideRetry(f)
}

func decidePlan(f commandFacts) commandDecision {
	n := f.Pull.ref()
	if !f.Pull.Open {
		return commandDecision{Reply: fmt.Sprintf("❌ Refused `trueup plan`: %s is merged; its apply is on the main branch now.", n)}
	}
	stacks := orAll(f.Command.Stacks, f.Touched)
	if len(stacks) == 0 {
		return commandDecision{Reply: fmt.Sprintf("❌ Refused `trueup plan`: %s changes no stack.", n)}
	}
	return commandDecision{Plan: stacks, Reply: fmt.Sprintf("✅ Planning %s again now.", names(stacks))}
}

func decideApprove(f commandFacts) commandDecision {
	n := f.Pull.ref()
	if !f.Pull.Merged {
		return commandDecision{Reply: fmt.Sprintf("❌ Refused `trueup approve`: %s is not merged; approve releases a held apply of its merge.", n)}
	}
	if strings.EqualFold(f.Author.Login, f.Pull.Author) && !f.AllowSelfApprove {
		return commandDecision{Reply: fmt.Sprintf("❌ Refused `trueup approve`: @%s opened %s, and nobody approves their own change "+
			"(an administrator can allow it with `allow_self_approve: true`).", f.Author.Login, n)}
	}
	return decideMergeStep(f, VerbApprove, f.Held, "is held", func(d *commandDecision, s string, rev Revision) {
		if d.Approve == nil {
			d.Approve = map[string]Revision{}
		}
		d.Approve[s] = rev
	}, "✅ Approved %s at `%s`: applying.")
}

func decideRetry(f commandFacts) commandDecision {
	if !f.Pull.Merged {
		return commandDecision{Reply: fmt.Sprintf("❌ Refused `trueup retry`: %s is not merged; retry runs a failed apply of its merge again.", f.Pull.ref())}
	}
	return decideMergeStep(f, VerbRetry, f.Failed, "failed", func(d *commandDecision, s string, _ Revision) {
		d.Retry = append(d.Retry, s)
	}, "✅ Retrying the apply of %s at `%s`.")
}

// decideMergeStep releases (approve) or reruns (retry) the stacks in ready: the named ones, each of
// which must be ready, or every ready one. state says what ready means: "is held", "failed".
func decideMergeStep(f commandFacts, verb string, ready map[string]Revision, state string,
	add func(*commandDecision, string, Revision), done string) commandDecision {
	n := f.Pull.ref()
	var d commandDecision
	var refused []string
	stacks := f.Command.Stacks
	if len(stacks) == 0 {
		for _, s := range f.Touched {
			if _, ok := ready[s]; ok {
				stacks = append(stacks, s)
			}
		}
		if len(stacks) == 0 {
			d.Reply = fmt.Sprintf("❌ Refused `trueup %s`: no apply of %s's merge %s.", verb, n, state)
			return d
		}
	}
	var lines []string
	byRev := map[Revision][]string{}
	var revs []Revision
	for _, s := range stacks {
		rev, ok := ready[s]
		if !ok {
			refused = append(refused, fmt.Sprintf("❌ Refused `trueup %s` for `%s`: no apply of it at %s's merge %s.", verb, s, n, state))
			continue
		}
		add(&d, s, rev)
		if _, seen := byRev[rev]; !seen {
			revs = append(revs, rev)
		}
		byRev[rev] = append(byRev[rev], s)
	}
	for _, rev := range revs {
		lines = append(lines, fmt.Sprintf(done, names(byRev[rev]), rev.Short()))
	}
	d.Reply = strings.Join(append(lines, refused...), "\n")
	return d
}

// orAll is named, or all when nothing is named.
func orAll(named, all []string) []string {
	if len(named) > 0 {
		return named
	}
	return all
}

// names is "`a`", "`a` and `b`", "`a`, `b` and `c`".
func names(stacks []string) string {
	quoted := make([]string, len(stacks))
	for i, s := range stacks {
		quoted[i] = "`" + s + "`"
	}
	if len(quoted) == 1 {
		return quoted[0]
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1]
}

// commandHelp is the answer to "trueup help".
const commandHelp = `**trueup commands** (the first line of a comment; people with write access only):

| command | what it does |
|---|---|
| ` + "`trueup plan [stack…]`" + ` | plans this pull request's stacks (or the named ones) again now |
| ` + "`trueup approve [stack…]`" + ` | applies a merge held because its plan differs from the one shown here, at the held revision |
| ` + "`trueup retry [stack…]`" + ` | runs a failed apply of this pull request's merge again |
| ` + "`trueup help`" + ` | shows this help |

Without stack names a command applies to every stack it can. The author of a pull request cannot approve its own merge unless trueup is configured with ` + "`allow_self_approve: true`" + `.`
