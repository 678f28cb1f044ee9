package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/trueup/trueup/reconciler"
)

var _ reconciler.Commander = (*Forge)(nil)

// PullComment reads note id of merge request pr from the API. A system note ("added 1 commit") is
// nobody's command: it is returned as trueup's own.
func (f *Forge) PullComment(ctx context.Context, pr int, id int64) (reconciler.PullComment, error) {
	note, _, err := f.client.Notes.GetMergeRequestNote(f.project, int64(pr), id, gl.WithContext(ctx))
	if err != nil {
		return reconciler.PullComment{}, classify(fmt.Sprintf("get note %d of !%d", id, pr), err)
	}
	username, err := f.identity(ctx)
	if err != nil {
		return reconciler.PullComment{}, err
	}
	return reconciler.PullComment{
		ID:     note.ID,
		Author: reconciler.Commenter{Login: note.Author.Username, ID: note.Author.ID},
		Body:   note.Body,
		Own:    note.System || strings.EqualFold(note.Author.Username, username),
	}, nil
}

// CanWrite reports whether who has Developer access (30) or above to the project, directly or
// through a group (GET /projects/:id/members/all/:user_id). Someone who is no member is false.
func (f *Forge) CanWrite(ctx context.Context, who reconciler.Commenter) (bool, error) {
	if who.ID == 0 {
		return false, nil
	}
	m, _, err := f.client.ProjectMembers.GetInheritedProjectMember(f.project, who.ID, gl.WithContext(ctx))
	if httpStatus(err) == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, classify(fmt.Sprintf("read %s's access to %s", who.Login, f.project), err)
	}
	return m.State != "blocked" && m.AccessLevel >= gl.DeveloperPermissions, nil
}

// PullRef is "!pr", GitLab's reference to a merge request ("#pr" is an issue).
func (f *Forge) PullRef(pr int) string { return "!" + strconv.Itoa(pr) }

// Answered reports whether trueup wrote a note on merge request pr that starts with prefix.
func (f *Forge) Answered(ctx context.Context, pr int, prefix string) (bool, error) {
	username, err := f.identity(ctx)
	if err != nil {
		return false, err
	}
	opts := &gl.ListMergeRequestNotesOptions{ListOptions: gl.ListOptions{PerPage: 100}}
	for {
		notes, resp, err := f.client.Notes.ListMergeRequestNotes(f.project, int64(pr), opts, gl.WithContext(ctx))
		if err != nil {
			return false, classify(fmt.Sprintf("list notes of !%d", pr), err)
		}
		for _, n := range notes {
			if !n.System && strings.EqualFold(n.Author.Username, username) && strings.HasPrefix(n.Body, prefix) {
				return true, nil
			}
		}
		if resp.NextPage == 0 {
			return false, nil
		}
		opts.Page = resp.NextPage
	}
}

// Reply posts a note on merge request pr.
func (f *Forge) Reply(ctx context.Context, pr int, body string) error {
	if _, _, err := f.client.Notes.CreateMergeRequestNote(f.project, int64(pr),
		&gl.CreateMergeRequestNoteOptions{Body: gl.Ptr(noQuickActions(body))}, gl.WithContext(ctx)); err != nil {
		return classify(fmt.Sprintf("reply on !%d", pr), err)
	}
	return nil
}
