// Package gitlabtest is an in-process GitLab REST API (v4) for tests: the slice of it trueup uses
// (merge requests, their notes, commit statuses, project members, the current user), in GitLab's
// wire format, under "/api/v4". The project is addressed by its id or its URL-encoded full path, as
// GitLab allows.
//
// Like GitLab, it knows who each request comes from by its PRIVATE-TOKEN header: Token is the user
// Username (trueup's bot), any other token is refused with 401. A note is written by whoever posts
// it; tests post notes as other users with AddNoteBy.
package gitlabtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trueup/trueup/reconciler"
)

// Request is one request the server received.
type Request struct {
	Method string
	// Path is the path with the project replaced by "P": "/api/v4/projects/P/merge_requests".
	Path  string
	Query url.Values
	Body  string
}

// Note is a merge request note.
type Note struct {
	ID     int64
	IID    int // the merge request's iid
	Body   string
	Author string
	System bool
}

// Status is a commit status as set.
type Status struct {
	State, Name, Description string
}

// Access levels of project members.
const (
	Reporter   = 20
	Developer  = 30
	Maintainer = 40
)

// Server is a fake GitLab API. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server
	// Project is the project's full path ("group/infra"); ProjectID its id (42). Forks are project 43.
	Project   string
	ProjectID int64
	// Token is the access token the server accepts; it belongs to Username ("trueup-bot", user 1).
	Token, Username string

	mu       sync.Mutex
	requests []Request
	mrs      map[int]*reconciler.PullRequest
	notes    []*Note
	statuses map[string][]Status
	users    map[string]int64 // username → id
	access   map[int64]int    // user id → access level
	nextID   int64
	fail     []int // status codes of the next requests to fail
}

// NewServer starts a server for the project group/infra, closed when the test ends.
func NewServer(t testing.TB) *Server {
	s := &Server{
		Project: "group/infra", ProjectID: 42, Token: "glpat-test-token", Username: "trueup-bot",
		mrs: map[int]*reconciler.PullRequest{}, statuses: map[string][]Status{},
		users: map[string]int64{"trueup-bot": 1}, access: map[int64]int{1: Developer}, nextID: 5000,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/user", s.getUser)
	mux.HandleFunc("GET /api/v4/projects/P/merge_requests", s.listMRs)
	mux.HandleFunc("GET /api/v4/projects/P/merge_requests/{iid}", s.getMR)
	mux.HandleFunc("GET /api/v4/projects/P/merge_requests/{iid}/notes", s.listNotes)
	mux.HandleFunc("GET /api/v4/projects/P/merge_requests/{iid}/notes/{id}", s.getNote)
	mux.HandleFunc("POST /api/v4/projects/P/merge_requests/{iid}/notes", s.createNote)
	mux.HandleFunc("PUT /api/v4/projects/P/merge_requests/{iid}/notes/{id}", s.editNote)
	mux.HandleFunc("DELETE /api/v4/projects/P/merge_requests/{iid}/notes/{id}", s.deleteNote)
	mux.HandleFunc("POST /api/v4/projects/P/statuses/{sha}", s.setStatus)
	mux.HandleFunc("GET /api/v4/projects/P/members/all/{user}", s.getMember)
	s.Server = httptest.NewServer(s.middleware(mux))
	t.Cleanup(s.Close)
	return s
}

var projectRE = regexp.MustCompile(`^/api/v4/projects/([^/]+)(/.*)?$`)

// middleware authenticates, records the request, injects failures, and resolves the project.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.EscapedPath()
		if m := projectRE.FindStringSubmatch(path); m != nil {
			id, _ := url.PathUnescape(m[1])
			if id != strconv.FormatInt(s.ProjectID, 10) && !strings.EqualFold(id, s.Project) {
				writeError(w, http.StatusNotFound, "404 Project Not Found")
				return
			}
			path = "/api/v4/projects/P" + m[2]
		}
		r.URL.Path, r.URL.RawPath = path, ""
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: path, Query: r.URL.Query(), Body: string(body)})
		var code int
		if len(s.fail) > 0 {
			code, s.fail = s.fail[0], s.fail[1:]
		}
		s.mu.Unlock()
		if r.Header.Get("PRIVATE-TOKEN") != s.Token {
			writeError(w, http.StatusUnauthorized, "401 Unauthorized")
			return
		}
		if code != 0 {
			writeError(w, code, "injected failure")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// URL is the server's base URL (without "/api/v4").
func (s *Server) URL() string { return s.Server.URL }

// FailNext makes the next n requests answer with code (500 when code is 0).
func (s *Server) FailNext(n, code int) {
	if code == 0 {
		code = http.StatusInternalServerError
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, code)
	}
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// CountRequests counts the requests with method whose path (project as "P") starts with prefix.
func (s *Server) CountRequests(method, prefix string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

// AddUser makes username a user with access level to the project (0: not a member) and returns its id.
func (s *Server) AddUser(username string, access int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.users[username]
	if !ok {
		s.nextID++
		id = s.nextID
		s.users[username] = id
	}
	if access == 0 {
		delete(s.access, id)
	} else {
		s.access[id] = access
	}
	return id
}

// AddMR adds or replaces a merge request (Number is its iid). An empty State is "open"; an empty
// Base is "main"; an empty Author is "alice".
func (s *Server) AddMR(mr reconciler.PullRequest) {
	if mr.State == "" {
		mr.State = "open"
	}
	if mr.Base == "" {
		mr.Base = "main"
	}
	if mr.Author == "" {
		mr.Author = "alice"
	}
	s.AddUser(mr.Author, s.accessOf(mr.Author))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mrs[mr.Number] = &mr
}

func (s *Server) accessOf(username string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.access[s.users[username]]
}

// UpdateMR changes a merge request in place; it panics when the merge request does not exist.
func (s *Server) UpdateMR(iid int, change func(*reconciler.PullRequest)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(s.mrs[iid])
}

// MergeMR marks merge request iid merged by mergeSHA.
func (s *Server) MergeMR(iid int, mergeSHA reconciler.Revision) {
	s.UpdateMR(iid, func(p *reconciler.PullRequest) { p.State, p.Merged, p.MergeCommit = "closed", true, mergeSHA })
}

// Statuses returns the statuses set on sha, oldest first.
func (s *Server) Statuses(sha string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Status(nil), s.statuses[sha]...)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"id": 1, "username": s.Username, "name": "trueup", "state": "active"})
}

func (s *Server) listMRs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	var list []map[string]any
	iids := make([]int, 0, len(s.mrs))
	for n := range s.mrs {
		iids = append(iids, n)
	}
	// GitLab lists the newest first.
	sort.Sort(sort.Reverse(sort.IntSlice(iids)))
	for _, n := range iids {
		mr := s.mrs[n]
		if st := q.Get("state"); st != "" && st != "all" && wireState(mr) != st {
			continue
		}
		if tb := q.Get("target_branch"); tb != "" && mr.Base != tb {
			continue
		}
		list = append(list, s.wireMR(mr))
	}
	s.mu.Unlock()
	writePage(w, r, list)
}

func (s *Server) getMR(w http.ResponseWriter, r *http.Request) {
	iid, _ := strconv.Atoi(r.PathValue("iid"))
	s.mu.Lock()
	mr, ok := s.mrs[iid]
	var wire map[string]any
	if ok {
		wire = s.wireMR(mr)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "404 Not found")
		return
	}
	writeJSON(w, http.StatusOK, wire)
}

// wireState is GitLab's state of mr: opened, closed, merged (or locked, kept as State).
func wireState(mr *reconciler.PullRequest) string {
	switch {
	case mr.Merged:
		return "merged"
	case mr.State == "open":
		return "opened"
	}
	return mr.State
}

// wireMR is mr as GitLab sends it. A fork's source is project 43.
func (s *Server) wireMR(mr *reconciler.PullRequest) map[string]any {
	source := s.ProjectID
	if mr.Fork {
		source = s.ProjectID + 1
	}
	w := map[string]any{
		"id": 100000 + mr.Number, "iid": mr.Number, "project_id": s.ProjectID, "title": mr.Title,
		"state": wireState(mr), "target_branch": mr.Base, "source_branch": mr.HeadBranch,
		"source_project_id": source, "target_project_id": s.ProjectID, "sha": string(mr.Head),
		"merge_commit_sha": nil, "squash_commit_sha": nil, "merged_at": nil,
		"author":     map[string]any{"id": s.users[mr.Author], "username": mr.Author, "name": mr.Author, "state": "active"},
		"web_url":    s.URL() + "/" + s.Project + "/-/merge_requests/" + strconv.Itoa(mr.Number),
		"created_at": "2026-01-02T10:00:00.000Z", "draft": false, "merge_status": "can_be_merged",
	}
	if mr.Merged {
		w["merge_commit_sha"] = string(mr.MergeCommit)
		w["merged_at"] = time.Unix(1700000000, 0).UTC().Format(time.RFC3339)
	}
	return w
}

// setStatus is POST /projects/:id/statuses/:sha. Like GitLab, it refuses to move a running or pending
// status to the state it already has: 400 "Cannot transition status via :run from :running".
func (s *Server) setStatus(w http.ResponseWriter, r *http.Request) {
	var in struct {
		State       string `json:"state"`
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "400 Bad request")
		return
	}
	switch in.State {
	case "pending", "running", "success", "failed", "canceled", "skipped":
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "state does not have a valid value"})
		return
	}
	if in.Name == "" {
		in.Name = "default"
	}
	sha := r.PathValue("sha")
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.statuses[sha]
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Name != in.Name {
			continue
		}
		// GitLab finds the status to move among the running or pending ones only: a finished one is
		// followed by a new status.
		if list[i].State == in.State && (in.State == "running" || in.State == "pending") {
			writeError(w, http.StatusBadRequest, "Cannot transition status via :"+event(in.State)+" from :"+in.State+
				" (Reason(s): Status cannot transition via \""+event(in.State)+"\")")
			return
		}
		break
	}
	s.statuses[sha] = append(list, Status{State: in.State, Name: in.Name, Description: in.Description})
	s.nextID++
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": s.nextID, "sha": sha, "status": in.State, "name": in.Name, "description": in.Description,
		"ref": nil, "allow_failure": false, "author": map[string]any{"id": 1, "username": s.Username},
	})
}

// event is the state machine event GitLab names for a move to state.
func event(state string) string {
	switch state {
	case "running":
		return "run"
	case "success":
		return "success"
	case "failed":
		return "drop"
	}
	return state
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("user"), 10, 64)
	s.mu.Lock()
	level, ok := s.access[id]
	var username string
	for u, uid := range s.users {
		if uid == id {
			username = u
		}
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "404 Not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "username": username, "name": username, "state": "active", "access_level": level})
}

// writePage writes one page of list (page and per_page, default 20) with GitLab's pagination headers.
func writePage[T any](w http.ResponseWriter, r *http.Request, list []T) {
	q := r.URL.Query()
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if perPage <= 0 || perPage > 100 {
		perPage = 20
	}
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	total := max((len(list)+perPage-1)/perPage, 1)
	from, to := min((page-1)*perPage, len(list)), min(page*perPage, len(list))
	w.Header().Set("X-Page", strconv.Itoa(page))
	w.Header().Set("X-Per-Page", strconv.Itoa(perPage))
	w.Header().Set("X-Total", strconv.Itoa(len(list)))
	w.Header().Set("X-Total-Pages", strconv.Itoa(total))
	if page < total {
		w.Header().Set("X-Next-Page", strconv.Itoa(page+1))
	} else {
		w.Header().Set("X-Next-Page", "")
	}
	out := list[from:to]
	if out == nil {
		out = []T{}
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, message string) {
	writeJSON(w, code, map[string]string{"message": message})
}
