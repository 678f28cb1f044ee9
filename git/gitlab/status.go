package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/trueup/trueup/git/forgetext"
	"github.com/trueup/trueup/reconciler"
)

// maxDescription bounds a commit status description (GitLab keeps 255 characters).
const maxDescription = 255

// StatusName is the commit status name of a stack: "trueup/<stack>".
func StatusName(stack string) string { return "trueup/" + stack }

// statusAttempts is how many times a status is sent when GitLab answers 409 Conflict, which it does
// when two updates of the same status race.
const statusAttempts = 4

// statusRetryWait is the wait before the first retry after a 409; it doubles each time.
var statusRetryWait = 200 * time.Millisecond

// SetStatus sets the stack's commit status on rev: pending is GitLab's "running" (a plan is under
// way), success "success", failure and error "failed". GitLab refuses to move a status to the state
// it already has ("Cannot transition status via :run from :running"): that status is set, so it
// counts as success. A 409 Conflict (a parallel update of the same status) is retried.
func (f *Forge) SetStatus(ctx context.Context, rev reconciler.Revision, stack string, state reconciler.StatusState, description string) error {
	name := StatusName(stack)
	opts := &gl.SetCommitStatusOptions{
		State:       glState(state),
		Name:        gl.Ptr(name),
		Description: gl.Ptr(forgetext.Truncate(description, maxDescription)),
	}
	wait := statusRetryWait
	for attempt := 1; ; attempt++ {
		_, _, err := f.client.Commits.SetCommitStatus(f.project, string(rev), opts, gl.WithContext(ctx))
		switch {
		case err == nil, alreadySet(err):
			return nil
		case httpStatus(err) == http.StatusConflict && attempt < statusAttempts:
			f.log.DebugContext(ctx, "commit status conflict; retrying", "status", name, "rev", rev.Short(), "attempt", attempt)
			select {
			case <-ctx.Done():
				return classify(fmt.Sprintf("status %s on %s", name, rev.Short()), ctx.Err())
			case <-time.After(wait):
			}
			wait *= 2
			continue
		case httpStatus(err) == http.StatusConflict:
			// Still racing after every attempt: another writer is setting it; try again later.
			return reconciler.Errorf(reconciler.KindTransient, fmt.Sprintf("status %s on %s", name, rev.Short()), err)
		}
		return classify(fmt.Sprintf("status %s on %s", name, rev.Short()), err)
	}
}

// glState maps a commit status state to GitLab's.
func glState(state reconciler.StatusState) gl.BuildStateValue {
	switch state {
	case reconciler.StatusPending:
		return gl.Running
	case reconciler.StatusSuccess:
		return gl.Success
	default:
		return gl.Failed
	}
}

// alreadySet reports whether GitLab refused a status because it already has that state.
func alreadySet(err error) bool {
	var e *gl.ErrorResponse
	return errors.As(err, &e) && statusCode(e) == http.StatusBadRequest &&
		strings.Contains(e.Message+string(e.Body), "Cannot transition status via")
}
