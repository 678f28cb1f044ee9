package github

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/trueup/trueup/reconciler"
)

var _ reconciler.Commander = (*Forge)(nil)

// PullComment reads comment id of pull request pr from the API (pull request comments are issue
// comments). A comment of another issue or pull request is reconciler.ErrNotFound.
func (f *Forge) PullComment(ctx context.Context, pr int, id int64) (reconciler.PullComment, error) {
	c, _, err := f.client.Issues.GetComment(ctx, f.owner, f.repo, id)
	if err != nil {
		return reconciler.PullComment{}, classify(fmt.Sprintf("get comment %d of #%d", id, pr), err)
	}
	if !strings.HasSuffix(c.GetIssueURL(), "/issues/"+strconv.Itoa(pr)) {
		return reconciler.PullComment{}, reconciler.Errorf(reconciler.KindFailed, fmt.Sprintf("get comment %d of #%d", id, pr),
			fmt.Errorf("%w: it belongs to %s", reconciler.ErrNotFound, c.GetIssueURL()))
	}
	login, err := f.identity(ctx)
	if err != nil {
		return reconciler.PullComment{}, err
	}
	return reconciler.PullComment{
		ID:     c.GetID(),
		Author: reconciler.Commenter{Login: c.GetUser().GetLogin(), ID: c.GetUser().GetID()},
		Body:   c.GetBody(),
		Own:    ownComment(c, login),
	}, nil
}

// CanWrite reports whether who's collaborator permission is write (maintain shows as write) or
// admin. Someone who is no collaborator is false.
func (f *Forge) CanWrite(ctx context.Context, who reconciler.Commenter) (bool, error) {
	if who.Login == "" {
		return false, nil
	}
	p, _, err := f.client.Repositories.GetPermissionLevel(ctx, f.owner, f.repo, who.Login)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, classify(fmt.Sprintf("read %s's permission on %s/%s", who.Login, f.owner, f.repo), err)
	}
	switch p.GetPermission() {
	case "admin", "maintain", "write":
		return true, nil
	}
	return false, nil
}

// PullRef is "#pr", GitHub's reference to a pull request.
func (f *Forge) PullRef(pr int) string { return "#" + strconv.Itoa(pr) }

// Answered reports whether trueup wrote a comment on pull request pr that starts with prefix.
func (f *Forge) Answered(ctx context.Context, pr int, prefix string) (bool, error) {
	login, err := f.identity(ctx)
	if err != nil {
		return false, err
	}
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		cs, resp, err := f.client.Issues.ListComments(ctx, f.owner, f.repo, pr, opts)
		if err != nil {
			return false, classify(fmt.Sprintf("list comments of #%d", pr), err)
		}
		for _, c := range cs {
			if ownComment(c, login) && strings.HasPrefix(c.GetBody(), prefix) {
				return true, nil
			}
		}
		if resp.NextPage == 0 {
			return false, nil
		}
		opts.Page = resp.NextPage
	}
}

// Reply posts a comment on pull request pr.
func (f *Forge) Reply(ctx context.Context, pr int, body string) error {
	if _, _, err := f.client.Issues.CreateComment(ctx, f.owner, f.repo, pr, &gh.IssueComment{Body: gh.String(body)}); err != nil {
		return classify(fmt.Sprintf("reply on #%d", pr), err)
	}
	return nil
}
