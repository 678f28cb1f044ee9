package gitlab

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/trueup/trueup/git/forgetext"
	"github.com/trueup/trueup/reconciler"
)

// NoteLimit is the size plan notes are cut to: GitLab's 1,000,000 characters per note, less room for
// the marker line.
const NoteLimit = 999_000

// Comment renders the report, splits it into at most forgetext.MaxCommentParts parts of at most
// NoteLimit bytes (one note, unless a plan passes GitLab's limit), and makes the merge request's plan
// notes match: existing parts (found by their marker and trueup's own username, so across restarts)
// are edited in place when their text changed, missing parts are created, and parts no longer needed
// are deleted. Notes by anyone else are never edited or deleted, whatever they say. Calls for one
// merge request must not overlap (reconciler.Forge: the caller serialises them).
func (f *Forge) Comment(ctx context.Context, report reconciler.PullReport) error {
	n := report.Number
	err := f.syncNotes(ctx, n, forgetext.Parts(report, NoteLimit))
	if err != nil {
		// Forget what we knew: the next call looks the notes up again.
		f.mu.Lock()
		delete(f.notes, n)
		f.mu.Unlock()
	}
	return err
}

func (f *Forge) syncNotes(ctx context.Context, n int, parts []string) error {
	posted, err := f.postedNotes(ctx, n)
	if err != nil {
		return err
	}
	bodies := make([]string, len(parts))
	for i, part := range parts {
		bodies[i] = noQuickActions(forgetext.Marker(n, i+1) + "\n" + part)
	}
	return forgetext.Sync(ctx, noteThread{f: f, mr: int64(n)}, posted, bodies, func(action string, k int, id int64) {
		f.log.DebugContext(ctx, action+" plan note", "mr", n, "part", k, "note", id)
	})
}

// noteThread is merge request mr's notes, for forgetext.Sync.
type noteThread struct {
	f  *Forge
	mr int64
}

func (t noteThread) Edit(ctx context.Context, id int64, body string) (bool, error) {
	_, _, err := t.f.client.Notes.UpdateMergeRequestNote(t.f.project, t.mr, id,
		&gl.UpdateMergeRequestNoteOptions{Body: gl.Ptr(body)}, gl.WithContext(ctx))
	if err != nil && httpStatus(err) == 404 {
		return false, nil // someone deleted it: post it again
	}
	if err != nil {
		return false, classify(fmt.Sprintf("edit plan note %d on !%d", id, t.mr), err)
	}
	return true, nil
}

func (t noteThread) Create(ctx context.Context, body string) (int64, error) {
	note, _, err := t.f.client.Notes.CreateMergeRequestNote(t.f.project, t.mr,
		&gl.CreateMergeRequestNoteOptions{Body: gl.Ptr(body)}, gl.WithContext(ctx))
	if err != nil {
		return 0, classify(fmt.Sprintf("create plan note on !%d", t.mr), err)
	}
	return note.ID, nil
}

func (t noteThread) Delete(ctx context.Context, id int64) error {
	if _, err := t.f.client.Notes.DeleteMergeRequestNote(t.f.project, t.mr, id, gl.WithContext(ctx)); err != nil && httpStatus(err) != 404 {
		return classify(fmt.Sprintf("delete plan note %d on !%d", id, t.mr), err)
	}
	return nil
}

// postedNotes returns trueup's plan notes on merge request n, listing them on first use: those that
// start with a part's marker and were written by trueup's own username. Anyone can post a note that
// starts with the marker; such a note is ignored, never adopted, edited or deleted. System notes
// ("added 1 commit") are never trueup's. When two of trueup's notes carry the same part's marker, the
// oldest is kept and the others deleted.
func (f *Forge) postedNotes(ctx context.Context, n int) (forgetext.Posted, error) {
	f.mu.Lock()
	posted := f.notes[n]
	f.mu.Unlock()
	if posted != nil {
		return posted, nil
	}
	username, err := f.identity(ctx)
	if err != nil {
		return nil, err
	}
	posted = forgetext.Posted{}
	var duplicates []int64
	opts := &gl.ListMergeRequestNotesOptions{ListOptions: gl.ListOptions{PerPage: 100}, OrderBy: gl.Ptr("created_at"), Sort: gl.Ptr("asc")}
	for {
		notes, resp, err := f.client.Notes.ListMergeRequestNotes(f.project, int64(n), opts, gl.WithContext(ctx))
		if err != nil {
			return nil, classify(fmt.Sprintf("list notes of !%d", n), err)
		}
		for _, note := range notes {
			k, ok := forgetext.ParseMarker(note.Body, n)
			if !ok || note.System || !strings.EqualFold(note.Author.Username, username) {
				continue
			}
			if surplus := posted.Keep(k, note.ID, note.Body); surplus != 0 {
				duplicates = append(duplicates, surplus)
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	for _, id := range duplicates {
		if _, err := f.client.Notes.DeleteMergeRequestNote(f.project, int64(n), id, gl.WithContext(ctx)); err != nil && httpStatus(err) != 404 {
			return nil, classify(fmt.Sprintf("delete duplicate plan note on !%d", n), err)
		}
	}
	f.mu.Lock()
	f.notes[n] = posted
	f.mu.Unlock()
	return posted, nil
}

// identity returns the username trueup's notes are written by: Options.Username, else the token's
// user (GET /user), looked up once. A failed lookup is returned and tried again on the next call.
func (f *Forge) identity(ctx context.Context) (string, error) {
	f.mu.Lock()
	username := f.username
	f.mu.Unlock()
	if username != "" {
		return username, nil
	}
	u, _, err := f.client.Users.CurrentUser(gl.WithContext(ctx))
	if err != nil {
		return "", classify("look up the token's user (GET /user; or configure the username)", err)
	}
	if u.Username == "" {
		return "", reconciler.Errorf(reconciler.KindFailed, "look up trueup's username", errors.New("GitLab answered without a username"))
	}
	f.mu.Lock()
	f.username = u.Username
	f.mu.Unlock()
	return u.Username, nil
}
