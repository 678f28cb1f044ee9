package reconciler_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	. "github.com/trueup/trueup/reconciler"
)

// fakeCommander serves comments from a map and records replies; ReadFunc, when set, answers reads.
type fakeCommander struct {
	mu       sync.Mutex
	comments map[int64]PullComment
	writers  map[string]bool
	replies  []string
	reads    int
	ReadFunc func(id int64) (PullComment, error)
}

var _ Commander = (*fakeCommander)(nil)

func (c *fakeCommander) PullComment(ctx context.Context, pr int, id int64) (PullComment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	if c.ReadFunc != nil {
		return c.ReadFunc(id)
	}
	comment, ok := c.comments[id]
	if !ok {
		return PullComment{}, ErrNotFound
	}
	return comment, nil
}

func (c *fakeCommander) CanWrite(ctx context.Context, who Commenter) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writers[who.Login], nil
}

func (c *fakeCommander) Reply(ctx context.Context, pr int, body string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.replies = append(c.replies, body)
	return nil
}

func (c *fakeCommander) PullRef(pr int) string { return fmt.Sprintf("#%d", pr) }

func (c *fakeCommander) Answered(ctx context.Context, pr int, prefix string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.replies {
		if strings.HasPrefix(r, prefix+"\n") {
			return true, nil
		}
	}
	return false, nil
}

func (c *fakeCommander) answers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.replies...)
}

func (c *fakeCommander) readCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// A comment is answered once however often it is announced; trueup's own comments and comments that
// are no command get no answer; a comment that could not be read is read again by itself.
func TestCommentsAreHandledOnce(t *testing.T) {
	forge := &fakeForge{}
	forge.put(PullRequest{Number: 3, State: "open", Head: "h3", HeadBranch: "b3", Author: "alice"})
	cmd := &fakeCommander{
		comments: map[int64]PullComment{
			1: {ID: 1, Author: Commenter{Login: "bob"}, Body: "trueup help"},
			2: {ID: 2, Author: Commenter{Login: "trueup-bot"}, Body: "trueup help", Own: true},
			3: {ID: 3, Author: Commenter{Login: "bob"}, Body: "LGTM"},
		},
		writers: map[string]bool{"bob": true},
	}
	h := newHarness(t, t.TempDir(), Options{Forge: forge, Commander: cmd}).start()
	ctx := context.Background()

	for range 3 {
		h.rec.PullComment(ctx, 3, 1)
	}
	h.rec.PullComment(ctx, 3, 2)
	h.rec.PullComment(ctx, 3, 3)
	eventually(t, "every comment read", func() bool { return cmd.readCount() >= 3 })
	time.Sleep(100 * time.Millisecond) // room for a wrong second answer
	answers := cmd.answers()
	if assert.Len(t, answers, 1) {
		assert.True(t, strings.HasPrefix(answers[0], "<!-- trueup:reply comment=1 -->\n> `trueup help`"), answers[0])
	}

	// A comment the forge could not serve is read again by itself (a redelivery would be dropped as
	// a duplicate delivery); it is answered once.
	SetCommentRetry(t, 20*time.Millisecond)
	fail := true
	cmd.mu.Lock()
	cmd.ReadFunc = func(id int64) (PullComment, error) {
		if fail {
			fail = false
			return PullComment{}, Errorf(KindTransient, "read comment", errors.New("gitlab is down"))
		}
		return PullComment{ID: id, Author: Commenter{Login: "bob"}, Body: "trueup help"}, nil
	}
	cmd.mu.Unlock()
	h.rec.PullComment(ctx, 3, 4)
	eventually(t, "the answer after the forge came back", func() bool { return len(cmd.answers()) == 2 })
	assert.Equal(t, 5, cmd.readCount(), "read twice: the failure, then the retry")
	time.Sleep(100 * time.Millisecond)
	assert.Len(t, cmd.answers(), 2, "answered once")
}

// A comment the forge never serves is read a bounded number of times, then given up.
func TestACommentThatCannotBeReadIsGivenUp(t *testing.T) {
	SetCommentRetry(t, 5*time.Millisecond)
	forge := &fakeForge{}
	forge.put(PullRequest{Number: 3, State: "open", Head: "h3", HeadBranch: "b3"})
	cmd := &fakeCommander{writers: map[string]bool{"bob": true}}
	cmd.ReadFunc = func(id int64) (PullComment, error) {
		return PullComment{}, Errorf(KindTransient, "read comment", errors.New("gitlab is down"))
	}
	h := newHarness(t, t.TempDir(), Options{Forge: forge, Commander: cmd}).start()
	h.rec.PullComment(context.Background(), 3, 9)
	eventually(t, "four reads", func() bool { return cmd.readCount() >= 4 })
	time.Sleep(200 * time.Millisecond) // the fifth read would have come by now (wait 40 ms)
	assert.Equal(t, 4, cmd.readCount())
	assert.Empty(t, cmd.answers())
}

// A comment whose webhook reached a standby is recorded for the leader, which answers it.
func TestACommentOnAStandbyIsAnsweredByTheLeader(t *testing.T) {
	standby, intents, _ := standbyOver(t)
	standby.PullComment(t.Context(), 3, 41)
	if assert.Len(t, intents.got, 1) {
		assert.Equal(t, Intent{Kind: IntentComment, PullRequest: 3, Comment: 41}, intents.got[0])
	}

	forge := &fakeForge{}
	forge.put(PullRequest{Number: 3, State: "open", Head: "h3", HeadBranch: "b3"})
	cmd := &fakeCommander{
		comments: map[int64]PullComment{41: {ID: 41, Author: Commenter{Login: "bob"}, Body: "trueup help"}},
		writers:  map[string]bool{"bob": true},
	}
	h := newHarness(t, t.TempDir(), Options{Forge: forge, Commander: cmd}).start()
	eventually(t, "main read", func() bool { return h.rec.Health().Head != "" })
	assert.NoError(t, h.rec.Carry(t.Context(), intents.got[0]))
	eventually(t, "the answer", func() bool { return len(cmd.answers()) == 1 })
}
