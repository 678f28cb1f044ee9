package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// commands answers comment commands: a webhook announces a comment (PullComment), the command loop
// reads it from the forge, decides (decideCommand) and acts. A comment is handled once, however
// often it is announced.
type commands struct {
	forge            Commander
	allowSelfApprove bool
	work             chan commentRef

	mu   sync.Mutex
	seen map[int64]bool // comment ids handled or being handled
	ring []int64        // the same ids, oldest first, to bound seen
}

// commentRef names one comment of one pull request.
type commentRef struct {
	pr int
	id int64
	// tries is how many reads of the comment failed before.
	tries int
}

// commentRetry is the wait before reading a comment again after the forge failed to serve it (a
// transient failure: the forge down, a timeout),
// doubled each time, for at most maxCommentTries reads: the webhook that announced it will not come
// again (a redelivery has the same delivery id, and is dropped).
var commentRetry = 5 * time.Second

const maxCommentTries = 4

// maxSeenComments bounds how many handled comment ids are remembered.
const maxSeenComments = 10000

// initCommands sets up comment commands when there is a Commander (New calls it, after the planner),
// and lets the planner name pull requests the forge's way.
func (r *Reconciler) initCommands() {
	forge := r.opts.Commander
	if forge == nil {
		return
	}
	r.commands = &commands{forge: forge, allowSelfApprove: r.opts.AllowSelfApprove, work: make(chan commentRef, 256), seen: map[int64]bool{}}
	r.plans.pullRef = forge.PullRef
}

// ref is how people refer to pull request n on the forge.
func (p *planner) ref(n int) string {
	if p.pullRef != nil {
		return p.pullRef(n)
	}
	return fmt.Sprintf("#%d", n)
}

// claim reports whether comment id is new, and remembers it.
func (c *commands) claim(id int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[id] {
		return false
	}
	c.seen[id] = true
	c.ring = append(c.ring, id)
	if len(c.ring) > maxSeenComments {
		delete(c.seen, c.ring[0])
		c.ring = c.ring[1:]
	}
	return true
}

// release forgets comment id, so that a redelivery can try it again (it could not be read).
func (c *commands) release(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.seen, id)
	c.ring = slices.DeleteFunc(c.ring, func(v int64) bool { return v == id })
}

// PullComment is told by a webhook that comment id was posted on pull request pr. It only queues
// the comment for the command loop; without a Commander, or with a full queue, it drops it.
func (r *Reconciler) PullComment(ctx context.Context, pr int, id int64) {
	if r.commands == nil {
		return
	}
	r.queueComment(commentRef{pr: pr, id: id})
}

func (r *Reconciler) queueComment(ref commentRef) {
	select {
	case r.commands.work <- ref:
	default:
		r.log.Warn("too many comments waiting; dropped one", "pr", ref.pr, "comment", ref.id)
	}
}

// commandLoop handles announced comments one at a time until ctx ends.
func (r *Reconciler) commandLoop(ctx context.Context) {
	if r.commands == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ref := <-r.commands.work:
			r.handleComment(ctx, ref)
		}
	}
}

// handleComment reads one comment and, when it is a command, decides, acts and answers.
func (r *Reconciler) handleComment(ctx context.Context, ref commentRef) {
	c := r.commands
	if !c.claim(ref.id) {
		r.log.Debug("comment already handled", "pr", ref.pr, "comment", ref.id)
		return
	}
	log := r.log.With("pr", ref.pr, "comment", ref.id)
	facts, ok, err := r.commandFacts(ctx, ref)
	if err != nil {
		c.release(ref.id)
		if KindOf(err) != KindTransient {
			// A comment that is not there (a forged or foreign announcement) is no command.
			log.Warn("cannot read a comment command; dropped", "err", err)
			return
		}
		if ref.tries+1 >= maxCommentTries {
			log.Error("cannot read a comment command; given up (post it again)", "tries", ref.tries+1, "err", err)
			return
		}
		wait := commentRetry << ref.tries
		log.Warn("cannot read a comment command; trying again", "in", wait, "err", err)
		time.AfterFunc(wait, func() { r.queueComment(commentRef{pr: ref.pr, id: ref.id, tries: ref.tries + 1}) })
		return
	}
	if !ok {
		return // not a command
	}
	d := decideCommand(facts)
	log.Info("comment command", "command", facts.Command.Verb, "stacks", facts.Command.Stacks, "by", facts.Author.Login,
		"plan", d.Plan, "approve", len(d.Approve), "retry", d.Retry)
	failures := r.actOnCommand(ctx, ref.pr, d)
	reply := commandReply(ref.id, facts.Command, d.Reply, failures)
	if err := c.forge.Reply(ctx, ref.pr, r.opts.Redact(reply)); err != nil && ctx.Err() == nil {
		log.Warn("answer a comment command", "err", err)
	}
}

// commandFacts reads what decideCommand needs. ok is false when the comment is no command (or trueup's own).
func (r *Reconciler) commandFacts(ctx context.Context, ref commentRef) (commandFacts, bool, error) {
	c := r.commands
	comment, err := c.forge.PullComment(ctx, ref.pr, ref.id)
	if err != nil {
		return commandFacts{}, false, fmt.Errorf("read comment %d: %w", ref.id, err)
	}
	cmd, isCommand := parseCommand(comment.Body)
	if comment.Own || !isCommand {
		return commandFacts{}, false, nil
	}
	// Answered before (by an earlier trueup process, or a redelivery it claimed): nothing to do.
	answered, err := c.forge.Answered(ctx, ref.pr, replyMarker(ref.id))
	if err != nil {
		return commandFacts{}, false, fmt.Errorf("look for an answer to comment %d: %w", ref.id, err)
	}
	if answered {
		r.log.Info("comment command answered before; not run again", "pr", ref.pr, "comment", ref.id)
		return commandFacts{}, false, nil
	}
	canWrite, err := c.forge.CanWrite(ctx, comment.Author)
	if err != nil {
		return commandFacts{}, false, fmt.Errorf("read %s's permission: %w", comment.Author.Login, err)
	}
	pr, err := r.opts.Forge.Pull(ctx, ref.pr)
	if err != nil {
		return commandFacts{}, false, fmt.Errorf("read pull request %d: %w", ref.pr, err)
	}
	f := commandFacts{
		Command: cmd, Author: comment.Author, CanWrite: canWrite, AllowSelfApprove: c.allowSelfApprove,
		Pull: Pull{Number: pr.Number, Ref: c.forge.PullRef(pr.Number), Author: pr.Author, Open: pr.State == "open", Merged: pr.Merged},
	}
	if err := r.mergeFacts(ctx, &f); err != nil {
		return commandFacts{}, false, err
	}
	return f, true, nil
}

// mergeFacts fills in the stacks the pull request touches and, of those, the ones whose apply of
// its merge is held or failed.
func (r *Reconciler) mergeFacts(ctx context.Context, f *commandFacts) error {
	name := pullTarget(f.Pull.Number)
	if t, _, ok := r.plans.followed(name); ok {
		f.Touched = append(f.Touched, t.Stacks...)
	}
	plans, err := r.store.BranchPlans(ctx, name)
	if err != nil {
		return fmt.Errorf("read the plans of %s: %w", name, err)
	}
	for _, bp := range plans {
		if !slices.Contains(f.Touched, bp.Stack) {
			f.Touched = append(f.Touched, bp.Stack)
		}
	}
	slices.Sort(f.Touched)
	if !f.Pull.Merged {
		return nil
	}
	f.Held, f.Failed = map[string]Revision{}, map[string]Revision{}
	for _, s := range f.Touched {
		st, err := r.store.Stack(ctx, s)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read stack %s: %w", s, err)
		}
		if st.Held != nil && r.mergeOf(ctx, st.Held.Revision) == f.Pull.Number {
			f.Held[s] = st.Held.Revision
		}
		if run := st.LastRun; run != nil && run.Kind == RunApply && run.Result == ResultFailed && st.Held == nil &&
			r.mergeOf(ctx, run.Revision) == f.Pull.Number {
			f.Failed[s] = run.Revision
		}
	}
	return nil
}

// mergeOf is the pull request whose merge made rev, or 0.
func (r *Reconciler) mergeOf(ctx context.Context, rev Revision) int {
	n, ok := r.plans.reviewedPull(ctx, rev)
	if !ok {
		return 0
	}
	return n
}

// actOnCommand does what d asks and returns what failed, one line each.
func (r *Reconciler) actOnCommand(ctx context.Context, pr int, d commandDecision) []string {
	var failures []string
	if len(d.Plan) > 0 {
		r.plans.replan(ctx, pullTarget(pr), d.Plan)
	}
	stacks := make([]string, 0, len(d.Approve))
	for s := range d.Approve {
		stacks = append(stacks, s)
	}
	slices.Sort(stacks)
	for _, s := range stacks {
		if _, err := r.Approve(ctx, s, string(d.Approve[s])); err != nil {
			failures = append(failures, fmt.Sprintf("❌ Could not approve `%s`: %v.", s, err))
		}
	}
	for _, s := range d.Retry {
		if err := r.Reconcile(ctx, s); err != nil {
			failures = append(failures, fmt.Sprintf("❌ Could not retry `%s`: %v.", s, err))
		}
	}
	return failures
}

// replyMarker is the hidden first line of the answer to comment id.
func replyMarker(id int64) string { return fmt.Sprintf("<!-- trueup:reply comment=%d -->", id) }

// commandReply is the answer's body: a hidden marker naming the comment it answers, the command
// quoted, the decision's reply, and anything that failed.
func commandReply(id int64, cmd Command, reply string, failures []string) string {
	quoted := strings.TrimSpace("trueup " + cmd.Verb + " " + strings.Join(cmd.Stacks, " "))
	body := fmt.Sprintf("%s\n> %s\n\n%s", replyMarker(id), codeSpan(quoted), reply)
	if len(failures) > 0 {
		body += "\n" + strings.Join(failures, "\n")
	}
	return body + "\n"
}

// PullComment records, for the leader, a comment a webhook announced to this standby.
func (s *Standby) PullComment(ctx context.Context, pr int, id int64) {
	if err := s.record(ctx, Intent{Kind: IntentComment, PullRequest: pr, Comment: id}); err != nil {
		s.log.Error("a comment command is lost: record it for the leader", "pr", pr, "comment", id, "err", err)
	}
}
