package github

import (
	"context"
	"errors"
	"fmt"
	"sort"

	gh "github.com/google/go-github/v60/github"

	"github.com/trueup/trueup/git/forgetext"
	"github.com/trueup/trueup/reconciler"
)

// CommentLimit is the size Split cuts plan comments to: GitHub's 65,536 characters minus room for the
// marker line.
const CommentLimit = 65000

// prComments are trueup's comments on one pull request: part number → comment.
type prComments struct {
	parts map[int]postedComment
}

type postedComment struct {
	id   int64
	body string
}

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
	for i, part := range parts {
		k := i + 1
		body := forgetext.Marker(n, k) + "\n" + part
		old, ok := posted.parts[k]
		if ok && old.body == body {
			continue
		}
		if ok {
			_, _, err := f.client.Issues.EditComment(ctx, f.owner, f.repo, old.id, &gh.IssueComment{Body: gh.String(body)})
			if err == nil {
				posted.parts[k] = postedComment{id: old.id, body: body}
				f.log.DebugContext(ctx, "edited plan comment", "pr", n, "part", k, "comment", old.id)
				continue
			}
			if !isNotFound(err) {
				return classify(fmt.Sprintf("edit plan comment %d part %d", n, k), err)
			}
			// Someone deleted it: post it again.
		}
		c, _, err := f.client.Issues.CreateComment(ctx, f.owner, f.repo, n, &gh.IssueComment{Body: gh.String(body)})
		if err != nil {
			return classify(fmt.Sprintf("create plan comment %d part %d", n, k), err)
		}
		posted.parts[k] = postedComment{id: c.GetID(), body: body}
		f.log.DebugContext(ctx, "created plan comment", "pr", n, "part", k, "comment", c.GetID())
	}
	var extra []int
	for k := range posted.parts {
		if k > len(parts) {
			extra = append(extra, k)
		}
	}
	sort.Ints(extra)
	for _, k := range extra {
		id := posted.parts[k].id
		if _, err := f.client.Issues.DeleteComment(ctx, f.owner, f.repo, id); err != nil && !isNotFound(err) {
			return classify(fmt.Sprintf("delete plan comment %d part %d", n, k), err)
		}
		delete(posted.parts, k)
		f.log.DebugContext(ctx, "deleted plan comment", "pr", n, "part", k, "comment", id)
	}
	return nil
}

// postedComments returns trueup's comments on pull request n, listing them on first use: those that
// start with a part's marker and were written by trueup's own login. Anyone can post a comment that
// starts with the marker; such a comment is ignored, never adopted, edited or deleted. When two of
// trueup's comments carry the same part's marker (two trueups raced), the oldest is kept and the
// others deleted.
func (f *Forge) postedComments(ctx context.Context, n int) (*prComments, error) {
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
	posted = &prComments{parts: map[int]postedComment{}}
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
			if old, ok := posted.parts[k]; ok {
				if old.id < c.GetID() {
					duplicates = append(duplicates, c.GetID())
					continue
				}
				duplicates = append(duplicates, old.id)
			}
			posted.parts[k] = postedComment{id: c.GetID(), body: c.GetBody()}
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
