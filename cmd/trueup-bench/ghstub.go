package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The repository the stub GitHub API serves.
const (
	stubOwner = "bench"
	stubRepo  = "infra"
)

// stubPull is an open pull request on the stub.
type stubPull struct {
	Number int
	Branch string
	Head   string
	Stack  int // the stack it changes, for the bench's bookkeeping
}

// wire is the pull request in GitHub's JSON shape (the fields trueup reads).
func (p stubPull) wire() map[string]any {
	full := stubOwner + "/" + stubRepo
	return map[string]any{
		"number": p.Number, "title": "bench change " + strconv.Itoa(p.Number), "state": "open", "merged": false,
		"head": map[string]any{"ref": p.Branch, "sha": p.Head, "repo": map[string]any{"full_name": full}},
		"base": map[string]any{"ref": "main", "repo": map[string]any{"full_name": full}},
	}
}

// commentWrite is a comment created or edited, as the stub received it.
type commentWrite struct {
	At     time.Time
	Number int
	Body   string
}

// ghStub is the slice of GitHub's REST API trueup uses with a token: open pull requests, issue
// comments and commit statuses. It records when comments are written. It is not githubtest.Server,
// which needs a testing.TB.
type ghStub struct {
	srv *http.Server
	url string

	mu       sync.Mutex
	pulls    map[int]stubPull
	comments map[int64]*stubComment
	nextID   int64
	writes   []commentWrite
	statuses int
	lists    int // pull request list requests
	lastCall time.Time
}

type stubComment struct {
	ID     int64
	Number int
	Body   string
}

func startGHStub() (*ghStub, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &ghStub{pulls: map[int]stubPull{}, comments: map[int64]*stubComment{}, nextID: 1000}
	mux := http.NewServeMux()
	repo := "/repos/" + stubOwner + "/" + stubRepo
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"login":"trueup[bot]"}`)
	})
	mux.HandleFunc("GET "+repo+"/pulls", s.listPulls)
	mux.HandleFunc("GET "+repo+"/pulls/{n}", s.getPull)
	mux.HandleFunc("GET "+repo+"/issues/{n}/comments", s.listComments)
	mux.HandleFunc("POST "+repo+"/issues/{n}/comments", s.createComment)
	mux.HandleFunc("PATCH "+repo+"/issues/comments/{id}", s.editComment)
	mux.HandleFunc("DELETE "+repo+"/issues/comments/{id}", s.deleteComment)
	mux.HandleFunc("POST "+repo+"/statuses/{sha}", s.createStatus)
	// go-github puts GitHub Enterprise's "/api/v3" prefix on a custom API URL.
	s.srv = &http.Server{Handler: http.StripPrefix("/api/v3", s.noteCalls(mux)), ReadHeaderTimeout: 10 * time.Second}
	s.url = "http://" + ln.Addr().String()
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *ghStub) close() { _ = s.srv.Close() }

// noteCalls records when each request arrives (see lastRequest).
func (s *ghStub) noteCalls(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.lastCall = time.Now()
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// lastRequest is when the last request arrived: the daemon's work on GitHub logs nothing when it
// succeeds (a restart sets every open pull request's statuses again, one call each).
func (s *ghStub) lastRequest() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastCall
}

func (s *ghStub) addPull(p stubPull) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pulls[p.Number] = p
}

func (s *ghStub) openPulls() []stubPull {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]stubPull, 0, len(s.pulls))
	for _, p := range s.pulls {
		out = append(out, p)
	}
	return out
}

// pullStacks are the stacks the open pull requests change.
func (s *ghStub) pullStacks() []int {
	var out []int
	for _, p := range s.openPulls() {
		out = append(out, p.Stack)
	}
	return out
}

// commentWrites returns the comment creations and edits on pull request n received at or after since.
func (s *ghStub) commentWrites(n int, since time.Time) []commentWrite {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []commentWrite
	for _, w := range s.writes {
		if w.Number == n && !w.At.Before(since) {
			out = append(out, w)
		}
	}
	return out
}

// pullListRequests is how many pages of pull requests were asked for.
func (s *ghStub) pullListRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lists
}

func (s *ghStub) listPulls(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.lists++
	var list []map[string]any
	var numbers []int
	for n := range s.pulls {
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	slices.Reverse(numbers) // GitHub lists the newest first
	if r.URL.Query().Get("state") != "closed" {
		for _, n := range numbers {
			list = append(list, s.pulls[n].wire())
		}
	}
	s.mu.Unlock()
	writeStubJSON(w, http.StatusOK, page(w, r, list))
}

// page returns the page of list that r asks for (page, per_page: 30 by default, at most 100, as
// GitHub does) and sets the Link header to the next page when there is one.
func page(w http.ResponseWriter, r *http.Request, list []map[string]any) []map[string]any {
	q := r.URL.Query()
	n, _ := strconv.Atoi(q.Get("page"))
	size, _ := strconv.Atoi(q.Get("per_page"))
	n, size = max(n, 1), min(cmp.Or(size, 30), 100)
	from, to := min((n-1)*size, len(list)), min(n*size, len(list))
	if to < len(list) {
		q.Set("page", strconv.Itoa(n+1))
		next := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
		w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", next.String()))
	}
	if from == to {
		return []map[string]any{}
	}
	return list[from:to]
}

func (s *ghStub) getPull(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	s.mu.Lock()
	p, ok := s.pulls[n]
	s.mu.Unlock()
	if !ok {
		writeStubJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	writeStubJSON(w, http.StatusOK, p.wire())
}

func (s *ghStub) listComments(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	s.mu.Lock()
	list := []map[string]any{}
	var ids []int64
	for id, c := range s.comments {
		if c.Number == n {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		list = append(list, commentJSON(s.comments[id]))
	}
	s.mu.Unlock()
	writeStubJSON(w, http.StatusOK, list)
}

func (s *ghStub) createComment(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	n, _ := strconv.Atoi(r.PathValue("n"))
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	s.nextID++
	c := &stubComment{ID: s.nextID, Number: n, Body: body}
	s.comments[c.ID] = c
	s.writes = append(s.writes, commentWrite{At: at, Number: n, Body: body})
	out := commentJSON(c)
	s.mu.Unlock()
	writeStubJSON(w, http.StatusCreated, out)
}

func (s *ghStub) editComment(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	c, found := s.comments[id]
	var out map[string]any
	if found {
		c.Body = body
		s.writes = append(s.writes, commentWrite{At: at, Number: c.Number, Body: body})
		out = commentJSON(c)
	}
	s.mu.Unlock()
	if !found {
		writeStubJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	writeStubJSON(w, http.StatusOK, out)
}

func (s *ghStub) deleteComment(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	delete(s.comments, id)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *ghStub) createStatus(w http.ResponseWriter, r *http.Request) {
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeStubJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON"})
		return
	}
	s.mu.Lock()
	s.statuses++
	s.mu.Unlock()
	writeStubJSON(w, http.StatusCreated, in)
}

func commentJSON(c *stubComment) map[string]any {
	return map[string]any{"id": c.ID, "body": c.Body, "user": map[string]any{"login": "trueup[bot]"}}
}

func readBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || strings.TrimSpace(in.Body) == "" {
		writeStubJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "body is required"})
		return "", false
	}
	return in.Body, true
}

func writeStubJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
