package github

import (
	"context"
	"errors"
	"fmt"

	gh "github.com/google/go-github/v60/github"

	"github.com/trueup/trueup/git/forgetext"
	"github.com/trueup/trueup/reconciler"
)

// CommentLimit is the size Split cuts plan comments to: GitHub's 65,536 characters minus room for the
// marker line.
const CommentLimit = 65000

// Comment renders the report, splits it into at most forgetext.MaxCommentParts parts (see forgetext.Parts), and makes the
// pull request's plan comments match: existing parts (found by their marker and trueup's own login, so
// across restarts) are edited in place when their text changed, missing parts are created, and parts
// no longer needed are deleted. Comments by anyone else are never edited or deleted, whatever they
// say. Calls for one pull request must not overlap (reconciler.Forge: the caller serialises them);
// the comment ids are remembered after the first lookup.
func (f *Forge) Comment(ctx context.Context, report reconciler.PullReport) error {
	n := report.Number
	err := f.syncComments(ctx, n, forgetext.Parts(report, CommentLimit))
	if err != nil {
		// Forget what we knew: the next call looks the comments up again.
		f.mu.Lock()
		delete(f.comments, n)
		f.mu.Unlock()
	}
	return err
}

func (f *Forge) syncComments(ctx context.Context, n int, parts []string) error {
	posted, err := f.postedComments(ctx, n)
	if err != nil {
		return err
	}
	bodies := make([]string, len(parts))
	for i, part := range parts {
		bodies[i] = forgetext.Marker(n, i+1) + "\n" + part
	}
	return forgetext.Sync(ctx, commentThread{f: f, n: n}, posted, bodies, func(action string, k int, id int64) {
		f.log.DebugContext(ctx, action+" plan comment", "pr", n, "part", k, "comment", id)
	})
}

// commentThread is pull request n's comments, for forgetext.Sync.
type commentThread struct {
	f *Forge
	n int
}

func (t commentThread) Edit(ctx context.Context, id int64, body string) (bool, error) {
	_, _, err := t.f.client.Issues.EditComment(ctx, t.f.owner, t.f.repo, id, &gh.IssueComment{Body: gh.String(body)})
	if isNotFound(err) {
		return false, nil // someone deleted it: post it again
	}
	if err != nil {
		return false, classify(fmt.Sprintf("edit plan comment %d on %d", id, t.n), err)
	}
	return true, nil
}

func (t commentThread) Create(ctx context.Context, body string) (int64, error) {
	c, _, err := t.f.client.Issues.CreateComment(ctx, t.f.owner, t.f.repo, t.n, &gh.IssueComment{Body: gh.String(body)})
	if err != nil {
		return 0, classify(fmt.Sprintf("create plan comment on %d", t.n), err)
	}
	return c.GetID(), nil
}

func (t commentThread) Delete(ctx context.Context, id int64) error {
	if _, err := t.f.client.Issues.DeleteComment(ctx, t.f.owner, t.f.repo, id); err != nil && !isNotFound(err) {
		return classify(fmt.Sprintf("delete plan comment %d on %d", id, t.n), err)
	}
	return nil
}

// postedComments returns trueup's comments on pull request n, listing them on first use: those that
// start with a part's marker and were written by trueup's own login. Anyone can post a comment that
// starts with the marker; such a comment is ignored, never adopted, edited or deleted. When two of
// trueup's comments carry the same part's marker (two trueups raced), the oldest is kept and the
// others deleted.
func (f *Forge) postedComments(ctx context.Context, n int) (forgetext.Posted, error) {
	f.mu.Lock()
	posted := f.comments[n]
	f.mu.Unlock()
	if posted != nil {
		return posted, nil
	}
	login, err := f.identity(ctx)
	if err != nil {
		return nil, err
	}
	posted = forgetext.Posted{}
	var duplicates []int64
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		cs, resp, err := f.client.Issues.ListComments(ctx, f.owner, f.repo, n, opts)
		if err != nil {
			return nil, classify(fmt.Sprintf("list comments of %d", n), err)
		}
		for _, c := range cs {
			k, ok := forgetext.ParseMarker(c.GetBody(), n)
			if !ok || !ownComment(c, login) {
				continue
			}
			if surplus := posted.Keep(k, c.GetID(), c.GetBody()); surplus != 0 {
				duplicates = append(duplicates, surplus)
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	for _, id := range duplicates {
		if _, err := f.client.Issues.DeleteComment(ctx, f.owner, f.repo, id); err != nil && !isNotFound(err) {
			return nil, classify(fmt.Sprintf("delete duplicate plan comment on %d", n), err)
		}
	}
	f.mu.Lock()
	f.comments[n] = posted
	f.mu.Unlock()
	return posted, nil
}

func isNotFound(err error) bool {
	var e *gh.ErrorResponse
	return errors.As(err, &e) && e.Response != nil && e.Response.StatusCode == 404
}
