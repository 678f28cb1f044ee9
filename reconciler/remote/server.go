package remote

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// transferTimeout bounds the transfer of a tree or a plan file, beyond the HTTP server's own
// read and write timeouts (which bound every other call).
const transferTimeout = 10 * time.Minute

// maxLogLines bounds the lines of one log POST that reach the daemon's log.
const maxLogLines = 1000

// Handler serves the runner routes under PathPrefix. Mount it on the daemon's HTTP server; it
// authenticates every call with the run's token and nothing else.
func (r *Runner) Handler() http.Handler {
	mux := http.NewServeMux()
	p := PathPrefix + "runs/{id}/"
	mux.HandleFunc("GET "+p+"job", r.auth(r.serveJob))
	mux.HandleFunc("GET "+p+"tree", r.auth(r.serveTree))
	mux.HandleFunc("GET "+p+"plan-file", r.auth(r.servePlanFile))
	mux.HandleFunc("PUT "+p+"plan-file", r.auth(r.receivePlanFile))
	mux.HandleFunc("POST "+p+"heartbeat", r.auth(func(w http.ResponseWriter, _ *http.Request, _ *run) {
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST "+p+"log", r.auth(r.receiveLog))
	mux.HandleFunc("POST "+p+"result", r.auth(r.receiveResult))
	mux.HandleFunc(PathPrefix, func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusNotFound, "no runner route for "+req.Method+" "+req.URL.Path)
	})
	return mux
}

// auth finds the run of the path's id and checks the bearer token in constant time. An unknown
// run (never registered, or over: canceled, superseded, finished) is 410 Gone; a wrong token 401.
// Every authenticated call counts as a sign of life.
func (r *Runner) auth(h func(http.ResponseWriter, *http.Request, *run)) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		token, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			writeError(w, http.StatusUnauthorized, "a run token is required")
			return
		}
		run := r.lookup(req.PathValue("id"))
		if run == nil {
			writeError(w, http.StatusGone, "this run is over or unknown")
			return
		}
		sum := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(sum[:], run.tokenSum[:]) != 1 {
			writeError(w, http.StatusUnauthorized, "wrong run token")
			return
		}
		run.touch(r.now())
		h(w, req, run)
	}
}

// errPending answers a runner of an adopted run that no dispatch claimed yet: trueup restarted
// (or a new leader took over) and does not know the run's job until its reconciler asks for it.
const errPending = "trueup restarted and has not claimed this run yet: retry"

func (r *Runner) serveJob(w http.ResponseWriter, _ *http.Request, run *run) {
	job, _, _, ok := run.fetchable()
	if !ok {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, errPending)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(job)
}

func (r *Runner) serveTree(w http.ResponseWriter, req *http.Request, run *run) {
	_, workdir, _, ok := run.fetchable()
	if !ok {
		writeError(w, http.StatusServiceUnavailable, errPending)
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(r.now().Add(transferTimeout))
	w.Header().Set("Content-Type", "application/gzip")
	if err := writeTree(req.Context(), w, workdir); err != nil {
		// The status is sent; a broken stream is how the runner learns (gzip's checksum).
		r.log.Warn("send tree to runner", "run", run.id, "stack", run.stack, "err", err)
		panic(http.ErrAbortHandler)
	}
}

func (r *Runner) servePlanFile(w http.ResponseWriter, req *http.Request, run *run) {
	job, _, planFile, ok := run.fetchable()
	switch {
	case !ok:
		writeError(w, http.StatusServiceUnavailable, errPending)
		return
	case job.Purpose != PurposeApply:
		writeError(w, http.StatusNotFound, "a plan run has no plan file to fetch")
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(r.now().Add(transferTimeout))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(SHA256Header, job.PlanSHA256)
	w.Header().Set("Content-Length", fmt.Sprint(len(planFile)))
	_, _ = w.Write(planFile)
}

// receivePlanFile keeps a plan run's plan file next to where the daemon keeps the stack's plan
// file, checked against the SHA-256 the runner computed. It becomes the plan file when the result
// that names the same SHA-256 is accepted.
func (r *Runner) receivePlanFile(w http.ResponseWriter, req *http.Request, run *run) {
	if run.purpose() != PurposePlan {
		writeError(w, http.StatusForbidden, "an apply run uploads no plan file")
		return
	}
	want := req.Header.Get(SHA256Header)
	if len(want) != sha256.Size*2 {
		writeError(w, http.StatusBadRequest, "the plan file's SHA-256 ("+SHA256Header+") is required")
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(r.now().Add(transferTimeout))
	if err := os.MkdirAll(run.uploadDir, 0o700); err != nil {
		r.log.Error("receive plan file", "run", run.id, "err", err)
		writeError(w, http.StatusInternalServerError, "cannot store the plan file")
		return
	}
	f, err := os.CreateTemp(run.uploadDir, ".plan-upload-*")
	if err != nil {
		r.log.Error("receive plan file", "run", run.id, "err", err)
		writeError(w, http.StatusInternalServerError, "cannot store the plan file")
		return
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), http.MaxBytesReader(w, req.Body, MaxPlanFile))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	got := hex.EncodeToString(h.Sum(nil))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		_ = os.Remove(f.Name())
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("a plan file may have at most %d bytes", MaxPlanFile))
		return
	case err != nil:
		_ = os.Remove(f.Name())
		writeError(w, http.StatusBadRequest, "read plan file: "+err.Error())
		return
	case got != strings.ToLower(want):
		_ = os.Remove(f.Name())
		writeError(w, http.StatusBadRequest, "the plan file's SHA-256 is "+got+", not "+want)
		return
	}
	if !run.setUpload(f.Name(), got) {
		_ = os.Remove(f.Name())
		writeError(w, http.StatusConflict, "this run has reported its result")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *Runner) receiveLog(w http.ResponseWriter, req *http.Request, run *run) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxLogBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("a log post may have at most %d bytes", maxLogBody))
		return
	}
	lines := strings.Split(strings.TrimRight(string(body), "\n"), "\n")
	if len(lines) > maxLogLines {
		lines = append(lines[:maxLogLines], fmt.Sprintf("[%d more lines dropped]", len(lines)-maxLogLines))
	}
	for _, line := range lines {
		if line != "" {
			r.log.Debug("runner", "run", run.id, "stack", run.stack, "line", line)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *Runner) receiveResult(w http.ResponseWriter, req *http.Request, run *run) {
	var res Result
	dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, maxResultBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("a result may have at most %d bytes", maxResultBody))
			return
		}
		writeError(w, http.StatusBadRequest, "decode result: "+err.Error())
		return
	}
	if err := res.validate(run.purpose()); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	switch err := run.finish(res); {
	case errors.Is(err, errFinished):
		writeError(w, http.StatusConflict, err.Error())
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
