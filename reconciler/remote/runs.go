package remote

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"sync"
	"time"
)

// run is one registered run: what its runner may fetch, and what it reported.
type run struct {
	id       string
	tokenSum [sha256.Size]byte
	// key is what the run does (runKey): a dispatch of the same work claims an adopted run.
	key string
	// stack names the run's stack in logs.
	stack string
	// uploadDir is where a plan's uploaded plan file waits for its result.
	uploadDir string
	// adopted holds what a run found on the platform after a restart needs; nil for the others.
	adopted *adoption

	mu sync.Mutex
	// job, workdir and planFile are what the runner may fetch. An adopted run has none of them
	// until a dispatch claims it (pending): its runner is told to wait (503) meanwhile.
	job Job
	// workdir is the daemon's checkout the tree is built from.
	workdir string
	// planFile is an apply's vetted plan file, served as it was read and checked.
	planFile  []byte
	pending   bool
	contacted bool
	lastSeen  time.Time
	upload    string // the uploaded plan file, until the run ends
	uploadSum string
	finished  bool
	result    chan delivered // buffered: holds the one accepted result
}

// delivered is an accepted result with the plan file it names.
type delivered struct {
	res    Result
	upload string
}

var errFinished = errors.New("this run has reported its result")

// fetchable returns what the runner may fetch, or false while the run waits to be claimed.
func (r *run) fetchable() (job Job, workdir string, planFile []byte, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.job, r.workdir, r.planFile, !r.pending
}

// purpose is the run's purpose, known from the start (from the platform's record for an adopted run).
func (r *run) purpose() Purpose {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.job.Purpose
}

// touch records a sign of life.
func (r *run) touch(now time.Time) {
	r.mu.Lock()
	r.contacted, r.lastSeen = true, now
	r.mu.Unlock()
}

// seen reports whether the runner called yet, and when it last did.
func (r *run) seen() (bool, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.contacted, r.lastSeen
}

// setUpload records an uploaded plan file, replacing (and removing) an earlier one. It reports
// false once the run has reported its result.
func (r *run) setUpload(path, sum string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return false
	}
	if r.upload != "" {
		_ = os.Remove(r.upload)
	}
	r.upload, r.uploadSum = path, sum
	return true
}

// finish accepts the run's one result. A plan's must name the SHA-256 of the uploaded plan file.
func (r *run) finish(res Result) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return errFinished
	}
	if res.Plan != nil && (r.upload == "" || res.Plan.SHA256 != r.uploadSum) {
		return errors.New("the plan result names a plan file that was not uploaded (PUT plan-file first)")
	}
	r.finished = true
	d := delivered{res: res}
	if res.Plan != nil {
		d.upload, r.upload = r.upload, "" // the dispatcher owns it now
	}
	r.result <- d
	return nil
}

// discard removes what the run left: an uploaded plan file no accepted result named.
func (r *run) discard() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished = true
	if r.upload != "" {
		_ = os.Remove(r.upload)
		r.upload = ""
	}
}

// register adds a run under a fresh id with a fresh token and returns the token.
func (r *Runner) register(rn *run) (string, error) {
	b := make([]byte, 16+32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	id, token := hex.EncodeToString(b[:16]), base64.RawURLEncoding.EncodeToString(b[16:]) // a 256-bit token
	rn.id, rn.job.RunID = id, id
	rn.tokenSum = sha256.Sum256([]byte(token))
	rn.result = make(chan delivered, 1)
	r.mu.Lock()
	r.runs[id] = rn
	r.mu.Unlock()
	return token, nil
}

// registerAdopted adds a run found on the platform under its own id and token digest. It
// reports false when a run of that id is registered already.
func (r *Runner) registerAdopted(rn *run) bool {
	rn.result = make(chan delivered, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.runs[rn.id]; ok {
		return false
	}
	r.runs[rn.id] = rn
	return true
}

// unregister ends the run: its token is dead from now on.
func (r *Runner) unregister(rn *run) {
	r.mu.Lock()
	delete(r.runs, rn.id)
	r.mu.Unlock()
	rn.discard()
}

// lookup returns the live run with id, or nil.
func (r *Runner) lookup(id string) *run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[id]
}
