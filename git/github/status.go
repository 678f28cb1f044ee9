package github

import (
	"context"
	"fmt"

	gh "github.com/google/go-github/v60/github"

	"github.com/trueup/trueup/git/forgetext"
	"github.com/trueup/trueup/reconciler"
)

// maxDescription is GitHub's limit on a commit status description.
const maxDescription = 140

// StatusContext is the status context, and check run name, of a stack: "trueup/<stack>".
func StatusContext(stack string) string { return "trueup/" + stack }

// SetStatus sets the stack's commit status on rev. Running as a GitHub App it creates a check run of
// the same name instead (GitHub shows the newest run per name): pending is "in_progress", the other
// states complete it with conclusion success, failure, or (error) failure titled as an error.
// The description is cut to GitHub's 140 characters.
func (f *Forge) SetStatus(ctx context.Context, rev reconciler.Revision, stack string, state reconciler.StatusState, description string) error {
	description = forgetext.Truncate(description, maxDescription)
	name := StatusContext(stack)
	if f.useCheckRuns {
		opts := gh.CreateCheckRunOptions{
			Name:    name,
			HeadSHA: string(rev),
			Output:  &gh.CheckRunOutput{Title: gh.String(checkTitle(state)), Summary: gh.String(description)},
		}
		switch state {
		case reconciler.StatusPending:
			opts.Status = gh.String("in_progress")
		case reconciler.StatusSuccess:
			opts.Status, opts.Conclusion = gh.String("completed"), gh.String("success")
		default:
			opts.Status, opts.Conclusion = gh.String("completed"), gh.String("failure")
		}
		if _, _, err := f.client.Checks.CreateCheckRun(ctx, f.owner, f.repo, opts); err != nil {
			return classify(fmt.Sprintf("check run %s on %s", name, rev.Short()), err)
		}
		return nil
	}
	status := &gh.RepoStatus{
		State:       gh.String(string(state)),
		Context:     gh.String(name),
		Description: gh.String(description),
	}
	if _, _, err := f.client.Repositories.CreateStatus(ctx, f.owner, f.repo, string(rev), status); err != nil {
		return classify(fmt.Sprintf("status %s on %s", name, rev.Short()), err)
	}
	return nil
}

func checkTitle(state reconciler.StatusState) string {
	switch state {
	case reconciler.StatusPending:
		return "Planning"
	case reconciler.StatusSuccess:
		return "Planned"
	case reconciler.StatusError:
		return "Error"
	default:
		return "Failed"
	}
}
