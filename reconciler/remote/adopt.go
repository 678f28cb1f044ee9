package remote

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"
)

// The keys of Launch.Meta. The seal is an HMAC of the others under Options.AdoptKey: a runner is
// adopted only if trueup itself described it, so whoever may create Jobs or tasks on the platform
// cannot have trueup hand a job (and its credentials) to a runner of theirs.
const (
	metaRunKey  = MetaPrefix + "run-key"
	metaToken   = MetaPrefix + "token-sha256"
	metaPurpose = MetaPrefix + "purpose"
	metaStack   = MetaPrefix + "stack" // the stack's name, base64url ("" when too long for a tag)
	metaSeal    = MetaPrefix + "seal"
)

// DefaultAdoptGrace is how long a plan runner adopted after a restart waits for a dispatch to claim it.
const DefaultAdoptGrace = 5 * time.Minute

// maxMetaValue bounds a Meta value (an ECS tag's value).
const maxMetaValue = 256

var runIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// adoption is what a run found on the platform after a restart carries until a dispatch claims
// it or it ends.
type adoption struct {
	end     *ending
	found   time.Time
	claimed chan struct{} // closed by claim
}

// runKey is what a run does, wherever it runs: the same RunSpec dispatched for the same purpose
// (and, for an apply, the same plan file) has the same key before and after a restart. It names
// the run's variables, never their values.
func runKey(j Job) string {
	names := make([]string, 0, len(j.Env))
	for k := range j.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	b, _ := json.Marshal(struct {
		Purpose    Purpose  `json:"purpose"`
		Stack      JobStack `json:"stack"`
		Revision   string   `json:"revision"`
		Untrusted  bool     `json:"untrusted"`
		Render     bool     `json:"render"`
		PlanSHA256 string   `json:"plan_sha256"`
		Env        []string `json:"env"`
	}{j.Purpose, j.Stack, j.Revision, j.Untrusted, j.Render, j.PlanSHA256, names})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// launchMeta describes rn for its platform record, sealed.
func (r *Runner) launchMeta(rn *run) map[string]string {
	stack := base64.RawURLEncoding.EncodeToString([]byte(rn.stack))
	if len(stack) > maxMetaValue {
		stack = ""
	}
	m := map[string]string{
		metaRunKey: rn.key, metaToken: hex.EncodeToString(rn.tokenSum[:]), metaPurpose: string(rn.job.Purpose), metaStack: stack,
	}
	m[metaSeal] = r.seal(rn.id, m)
	return m
}

func (r *Runner) seal(runID string, m map[string]string) string {
	mac := hmac.New(sha256.New, r.adoptKey)
	for _, v := range []string{runID, m[metaRunKey], m[metaToken], m[metaPurpose], m[metaStack]} {
		mac.Write([]byte(v))
		mac.Write([]byte{0})
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// adoptable is the run f describes, if trueup sealed that description.
func (r *Runner) adoptable(f InFlight) (*run, error) {
	if !runIDPattern.MatchString(f.RunID) {
		return nil, fmt.Errorf("run id %q is not one of trueup's", f.RunID)
	}
	m := f.Meta
	if !hmac.Equal([]byte(m[metaSeal]), []byte(r.seal(f.RunID, m))) {
		return nil, errors.New("its description is not sealed by this trueup's adoption key")
	}
	purpose := Purpose(m[metaPurpose])
	if purpose != PurposePlan && purpose != PurposeApply {
		return nil, fmt.Errorf("unknown purpose %q", m[metaPurpose])
	}
	token, err := hex.DecodeString(m[metaToken])
	if err != nil || len(token) != sha256.Size {
		return nil, errors.New("no token digest")
	}
	stack, err := base64.RawURLEncoding.DecodeString(m[metaStack])
	if err != nil {
		return nil, errors.New("unreadable stack name")
	}
	rn := &run{id: f.RunID, key: m[metaRunKey], stack: string(stack), uploadDir: r.opts.SpoolDir, pending: true,
		job: Job{RunID: f.RunID, Purpose: purpose}, adopted: &adoption{end: watchEnd(f.Task), found: r.now(), claimed: make(chan struct{})}}
	copy(rn.tokenSum[:], token)
	return rn, nil
}

// Adopt registers the runners the executor's platform still runs from before a restart (or of
// the leader before this one), so that their calls are answered and a dispatch of the same work
// claims them instead of starting a second runner. Call it once, before the first dispatch.
//
// A plan runner that no dispatch claims within AdoptGrace is stopped. An apply runner is never
// interrupted: it applies the plan file that was vetted before the restart, and dispatches for its
// stack wait until it has ended. It returns how many runners it adopted; an executor that cannot
// list its runners adopts none.
func (r *Runner) Adopt(ctx context.Context) (int, error) {
	a, ok := r.opts.Executor.(Adopter)
	if !ok {
		return 0, nil
	}
	found, err := a.InFlight(ctx)
	if err != nil {
		return 0, fmt.Errorf("adopt runners in flight: %w", err)
	}
	n := 0
	for _, f := range found {
		rn, err := r.adoptable(f)
		if err != nil {
			r.log.Warn("a runner in flight is not adopted", "run", f.RunID, "err", err)
			continue
		}
		if !r.registerAdopted(rn) {
			rn.adopted.end.cancel()
			continue
		}
		r.mu.Lock()
		if _, dup := r.adopted[rn.key]; !dup {
			r.adopted[rn.key] = rn
		}
		if rn.job.Purpose == PurposeApply && rn.stack != "" {
			r.applying[rn.stack] = rn
		}
		r.mu.Unlock()
		r.log.Info("adopted a runner in flight", "run", rn.id, "stack", rn.stack, "purpose", rn.job.Purpose)
		go r.keepAdopted(rn)
		n++
	}
	return n, nil
}

// keepAdopted looks after an adopted run until a dispatch claims it, or it is given up: a plan
// not claimed within AdoptGrace (stopped if still running), an apply once it has ended.
func (r *Runner) keepAdopted(rn *run) {
	ad := rn.adopted
	grace := time.NewTimer(r.opts.AdoptGrace)
	defer grace.Stop()
	ended := ad.end.done
	for {
		select {
		case <-ad.claimed:
			return
		case <-ended:
			ended = nil
			if rn.job.Purpose == PurposeApply {
				r.release(rn, "it ended")
				return
			}
			// A plan's result, if it gave one, waits for a dispatch until the grace ends.
		case <-grace.C:
			if rn.job.Purpose == PurposeApply {
				continue // an apply is never interrupted
			}
			if r.release(rn, "no dispatch claimed it") && ended != nil {
				ctx, cancel := context.WithTimeout(context.Background(), r.opts.StopTimeout)
				if err := ad.end.task.Stop(ctx, "not claimed after a restart"); err != nil {
					r.log.Warn("stop an adopted runner", "run", rn.id, "err", err)
				}
				cancel()
			}
			return
		}
	}
}

// claim hands the adopted run doing key's work to a dispatch, or returns nil. A run that ended
// without a result is given up instead: a fresh runner does the work.
func (r *Runner) claim(key string) *run {
	r.mu.Lock()
	rn := r.adopted[key]
	if rn == nil {
		r.mu.Unlock()
		return nil
	}
	delete(r.adopted, key)
	if r.applying[rn.stack] == rn {
		delete(r.applying, rn.stack)
	}
	close(rn.adopted.claimed) // under r.mu: release sees it
	r.mu.Unlock()
	select {
	case <-rn.adopted.end.done:
		if len(rn.result) == 0 {
			r.unregister(rn)
			return nil
		}
	default:
	}
	return rn
}

// release gives up an adopted run no dispatch claimed: its token dies. It reports false when a
// dispatch claimed it first.
func (r *Runner) release(rn *run, why string) bool {
	r.mu.Lock()
	select {
	case <-rn.adopted.claimed:
		r.mu.Unlock()
		return false
	default:
	}
	if r.adopted[rn.key] == rn {
		delete(r.adopted, rn.key)
	}
	if r.applying[rn.stack] == rn {
		delete(r.applying, rn.stack)
	}
	r.mu.Unlock()
	r.unregister(rn)
	rn.adopted.end.cancel()
	log := r.log.With("run", rn.id, "stack", rn.stack, "purpose", rn.job.Purpose)
	select {
	case d := <-rn.result:
		if d.res.Error != nil {
			log.Warn("an adopted runner's run is over unclaimed", "why", why, "err", d.res.Error.err())
		} else {
			log.Info("an adopted runner's run is over unclaimed", "why", why, "result", "ok")
		}
	default:
		log.Warn("an adopted runner's run is over unclaimed, without a result", "why", why)
	}
	return true
}

// Abandon forgets the adopted runs no dispatch claimed, without stopping them: this trueup no
// longer leads, and the next leader adopts them. Their calls are no longer answered here.
func (r *Runner) Abandon() {
	r.mu.Lock()
	var runs []*run
	for _, m := range []map[string]*run{r.adopted, r.applying} {
		for k, rn := range m {
			select {
			case <-rn.adopted.claimed:
			default:
				close(rn.adopted.claimed)
				runs = append(runs, rn)
			}
			delete(m, k)
		}
	}
	r.mu.Unlock()
	for _, rn := range runs {
		r.unregister(rn)
		rn.adopted.end.cancel()
	}
}

// adoptedApply returns the end of an adopted, unclaimed apply of stack, or nil.
func (r *Runner) adoptedApply(stack string) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rn := r.applying[stack]; rn != nil {
		return rn.adopted.end.done
	}
	return nil
}

// ending is a Task's Wait, watched once and seen by many.
type ending struct {
	task   Task
	done   chan struct{}
	err    error // set before done is closed
	cancel context.CancelFunc
}

func watchEnd(task Task) *ending {
	ctx, cancel := context.WithCancel(context.Background())
	e := &ending{task: task, done: make(chan struct{}), cancel: cancel}
	go func() {
		e.err = task.Wait(ctx)
		close(e.done)
	}()
	return e
}
