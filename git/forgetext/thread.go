package forgetext

import (
	"context"
	"sort"
)

// Thread writes one pull request's plan comments on a forge (GitHub comments, GitLab notes).
type Thread interface {
	// Edit replaces comment id's body; found is false when the comment is gone (someone deleted it).
	Edit(ctx context.Context, id int64, body string) (found bool, err error)
	// Create posts a comment and returns its id.
	Create(ctx context.Context, body string) (int64, error)
	// Delete removes comment id; one already gone is not an error.
	Delete(ctx context.Context, id int64) error
}

// Posted is trueup's own plan comments on one pull request: part number → comment.
type Posted map[int]PostedPart

// PostedPart is one plan comment trueup wrote.
type PostedPart struct {
	ID   int64
	Body string
}

// Keep records comment id, holding part k with body, as trueup's: the oldest (lowest id) comment of a
// part is kept. It returns the id of a comment now surplus (two trueups raced), or 0.
func (p Posted) Keep(k int, id int64, body string) (surplus int64) {
	if old, ok := p[k]; ok {
		if old.ID < id {
			return id
		}
		surplus = old.ID
	}
	p[k] = PostedPart{ID: id, Body: body}
	return surplus
}

// Sync makes the pull request's plan comments bodies, in order (part k is bodies[k-1]): a part whose
// text changed is edited in place, a missing one (or one someone deleted) is created, and parts no
// longer needed are deleted, highest last. posted is updated as it goes, so that after an error the
// caller may forget it and look the comments up again. done is told of every write.
func Sync(ctx context.Context, t Thread, posted Posted, bodies []string, done func(action string, k int, id int64)) error {
	for i, body := range bodies {
		k := i + 1
		old, ok := posted[k]
		if ok && old.Body == body {
			continue
		}
		if ok {
			found, err := t.Edit(ctx, old.ID, body)
			if err != nil {
				return err
			}
			if found {
				posted[k] = PostedPart{ID: old.ID, Body: body}
				done("edited", k, old.ID)
				continue
			}
		}
		id, err := t.Create(ctx, body)
		if err != nil {
			return err
		}
		posted[k] = PostedPart{ID: id, Body: body}
		done("created", k, id)
	}
	var extra []int
	for k := range posted {
		if k > len(bodies) {
			extra = append(extra, k)
		}
	}
	sort.Ints(extra)
	for _, k := range extra {
		id := posted[k].ID
		if err := t.Delete(ctx, id); err != nil {
			return err
		}
		delete(posted, k)
		done("deleted", k, id)
	}
	return nil
}
