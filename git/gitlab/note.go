package gitlab

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/trueup/trueup/git/forgetext"
	"github.com/trueup/trueup/reconciler"
)

// NoteLimit is the size plan notes are cut to: GitLab's 1,000,000 characters per note, less room for
// the marker line.
const NoteLimit = 999_000

// postedSet is trueup's plan notes on one merge request: part number → note.
type postedSet struct {
	parts map[int]postedNote
}

type postedNote struct {
	id   int64
	body string
}

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
	mr := int64(n)
	for i, part := range parts {
		k := i + 1
		body := noQuickActions(forgetext.Marker(n, k) + "\n" + part)
		old, ok := posted.parts[k]
		if ok && old.body == body {
			continue
		}
		if ok {
			_, _, err := f.client.Notes.UpdateMergeRequestNote(f.project, mr, old.id,
				&gl.UpdateMergeRequestNoteOptions{Body: gl.Ptr(body)}, gl.WithContext(ctx))
			if err == nil {
				posted.parts[k] = postedNote{id: old.id, body: body}
				f.log.DebugContext(ctx, "edited plan note", "mr", n, "part", k, "note", old.id)
				continue
			}
			if httpStatus(err) != 404 {
				return classify(fmt.Sprintf("edit plan note !%d part %d", n, k), err)
			}
			// Someone deleted it: post it again.
		}
		note, _, err := f.client.Notes.CreateMergeRequestNote(f.project, mr,
			&gl.CreateMergeRequestNoteOptions{Body: gl.Ptr(body)}, gl.WithContext(ctx))
		if err != nil {
			return classify(fmt.Sprintf("create plan note !%d part %d", n, k), err)
		}
		posted.parts[k] = postedNote{id: note.ID, body: body}
		f.log.DebugContext(ctx, "created plan note", "mr", n, "part", k, "note", note.ID)
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
		if _, err := f.client.Notes.DeleteMergeRequestNote(f.project, mr, id, gl.WithContext(ctx)); err != nil && httpStatus(err) != 404 {
			return classify(fmt.Sprintf("delete plan note !%d part %d", n, k), err)
		}
		delete(posted.parts, k)
		f.log.DebugContext(ctx, "deleted plan note", "mr", n, "part", k, "note", id)
	}
	return nil
}

// postedNotes returns trueup's plan notes on merge request n, listing them on first use: those that
// start with a part's marker and were written by trueup's own username. Anyone can post a note that
// starts with the marker; such a note is ignored, never adopted, edited or deleted. System notes
// ("added 1 commit") are never trueup's. When two of trueup's notes carry the same part's marker, the
// oldest is kept and the others deleted.
func (f *Forge) postedNotes(ctx context.Context, n int) (*postedSet, error) {
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
	posted = &postedSet{parts: map[int]postedNote{}}
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
			if old, ok := posted.parts[k]; ok {
				if old.id < note.ID {
					duplicates = append(duplicates, note.ID)
					continue
				}
				duplicates = append(duplicates, old.id)
			}
			posted.parts[k] = postedNote{id: note.ID, body: note.Body}
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
