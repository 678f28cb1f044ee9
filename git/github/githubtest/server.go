// Package githubtest is an in-process GitHub REST API for tests: the slice of it trueup uses (pull
// requests, issue comments, commit statuses, check runs, App installation tokens, the authenticated
// user and App), in GitHub's wire format, served both at the root and under "/api/v3/" (GitHub
// Enterprise Server's prefix).
//
// Like GitHub, it knows who each request comes from: the App's installation token (Server.Token) is
// the App's bot, "<AppSlug>[bot]"; any other token is the user Login; a JWT is the App itself. A
// comment is written by whoever posts it; anyone may edit or delete any comment (as a repository admin
// may), so that a test sees it when trueup touches a comment that is not its own.
package githubtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/trueup/trueup/reconciler"
)

// Request is one request the server received.
type Request struct {
	Method, Path string // Path without the "/api/v3" prefix
	Query        url.Values
	Body         string
	// Authorization is the request's Authorization header, for tests of authentication.
	Authorization string
}

// Comment is an issue (pull request) comment.
type Comment struct {
	ID     int64
	Number int
	Body   string
	// Author is the login of whoever posted it.
	Author string
}

// Status is a commit status.
type Status struct {
	State, Context, Description, TargetURL string
}

// CheckRun is a created check run.
type CheckRun struct {
	ID                                int64
	Name, HeadSHA, Status, Conclusion string
	Title, Summary                    string
}

// Server is a fake GitHub API. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server
	// Owner and Repo name the repository the server holds ("acme", "infra"); other paths 404.
	Owner, Repo string
	// Token is the installation token the App endpoint issues.
	Token string
	// Login is the user every token other than Token belongs to (GET /user), "trueup-bot". Login and
	// AppSlug may be changed before the first request.
	Login string
	// AppSlug is the App's slug (GET /app), "trueup": its installation token comments as "trueup[bot]".
	AppSlug string

	mu        sync.Mutex
	requests  []Request
	pulls     map[int]*reconciler.PullRequest
	comments  []*Comment
	statuses  map[string][]Status
	checkRuns []CheckRun
	nextID    int64
	fail      []int             // status codes of the next requests to fail
	perms     map[string]string // login → collaborator permission (admin, maintain, write, triage, read)
}

// NewServer starts a server for the repository acme/infra, closed when the test ends.
func NewServer(t testing.TB) *Server {
	s := &Server{
		Owner: "acme", Repo: "infra", Token: "ghs_testinstallationtoken", Login: "trueup-bot", AppSlug: "trueup",
		pulls: map[int]*reconciler.PullRequest{}, statuses: map[string][]Status{}, nextID: 1000, perms: map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/{o}/{r}/pulls", s.listPulls)
	mux.HandleFunc("GET /repos/{o}/{r}/pulls/{n}", s.getPull)
	// One pattern for both GETs: ServeMux finds .../issues/{n}/comments and .../issues/comments/{id} ambiguous.
	mux.HandleFunc("GET /repos/{o}/{r}/issues/{a}/{b}", s.getIssueThing)
	mux.HandleFunc("POST /repos/{o}/{r}/issues/{n}/comments", s.createComment)
	mux.HandleFunc("PATCH /repos/{o}/{r}/issues/comments/{id}", s.editComment)
	mux.HandleFunc("GET /repos/{o}/{r}/collaborators/{user}/permission", s.getPermission)
	mux.HandleFunc("DELETE /repos/{o}/{r}/issues/comments/{id}", s.deleteComment)
	mux.HandleFunc("POST /repos/{o}/{r}/statuses/{sha}", s.createStatus)
	mux.HandleFunc("POST /repos/{o}/{r}/check-runs", s.createCheckRun)
	mux.HandleFunc("POST /app/installations/{id}/access_tokens", s.accessToken)
	mux.HandleFunc("GET /user", s.getUser)
	mux.HandleFunc("GET /app", s.getApp)
	s.Server = httptest.NewServer(s.middleware(mux))
	t.Cleanup(s.Close)
	return s
}

// middleware strips the Enterprise prefix, records the request, injects failures, and checks the repository.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/" + strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api/v3"), "/")
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: string(body),
			Authorization: r.Header.Get("Authorization"),
		})
		var code int
		if len(s.fail) > 0 {
			code, s.fail = s.fail[0], s.fail[1:]
		}
		s.mu.Unlock()
		if code != 0 {
			writeError(w, code, "injected failure")
			return
		}
		if strings.HasPrefix(r.URL.Path, "/repos/") && !strings.HasPrefix(r.URL.Path, "/repos/"+s.Owner+"/"+s.Repo+"/") {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// URL is the server's base URL (without "/api/v3").
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

// CountRequests counts the requests with method whose path starts with prefix.
func (s *Server) CountRequests(method, prefix string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

// AddPull adds or replaces a pull request. An empty State is "open"; an empty Base is "main".
func (s *Server) AddPull(pr reconciler.PullRequest) {
	if pr.State == "" {
		pr.State = "open"
	}
	if pr.Base == "" {
		pr.Base = "main"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pulls[pr.Number] = &pr
}

// UpdatePull changes a pull request in place; it panics when the pull request does not exist.
func (s *Server) UpdatePull(n int, change func(*reconciler.PullRequest)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(s.pulls[n])
}

// MergePull closes pull request n as merged by mergeSHA.
func (s *Server) MergePull(n int, mergeSHA reconciler.Revision) {
	s.UpdatePull(n, func(p *reconciler.PullRequest) {
		p.State, p.Merged, p.MergeCommit = "closed", true, mergeSHA
	})
}

// Comments returns the comments on pull request n, oldest first.
func (s *Server) Comments(n int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments {
		if c.Number == n {
			out = append(out, *c)
		}
	}
	return out
}

// Someone is the login of AddComment's author: a person, not trueup.
const Someone = "octocat"

// AddComment posts a comment as someone else (Someone) would, and returns its id.
func (s *Server) AddComment(n int, body string) int64 { return s.AddCommentBy(n, Someone, body) }

// AddCommentBy posts a comment as login, and returns its id.
func (s *Server) AddCommentBy(n int, login, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addComment(n, login, body).ID
}

func (s *Server) addComment(n int, login, body string) *Comment {
	s.nextID++
	c := &Comment{ID: s.nextID, Number: n, Body: body, Author: login}
	s.comments = append(s.comments, c)
	return c
}

// Statuses returns the statuses set on sha, oldest first.
func (s *Server) Statuses(sha string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Status(nil), s.statuses[sha]...)
}

// CheckRuns returns the check runs created, oldest first.
func (s *Server) CheckRuns() []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CheckRun(nil), s.checkRuns...)
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	s.mu.Lock()
	var list []*gh.PullRequest
	numbers := make([]int, 0, len(s.pulls))
	for n := range s.pulls {
		numbers = append(numbers, n)
	}
	// GitHub lists the newest first.
	sort.Sort(sort.Reverse(sort.IntSlice(numbers)))
	for _, n := range numbers {
		p := s.pulls[n]
		if (state != "all" && p.State != state) || (q.Get("base") != "" && p.Base != q.Get("base")) {
			continue
		}
		list = append(list, s.wirePull(p))
	}
	s.mu.Unlock()
	writePage(w, r, list)
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	s.mu.Lock()
	p, ok := s.pulls[n]
	var wire *gh.PullRequest
	if ok {
		wire = s.wirePull(p)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, wire)
}

// wirePull is pr as GitHub sends it. A fork's head lives in "contributor/<repo>".
func (s *Server) wirePull(p *reconciler.PullRequest) *gh.PullRequest {
	full := s.Owner + "/" + s.Repo
	headRepo := full
	if p.Fork {
		headRepo = "contributor/" + s.Repo
	}
	w := &gh.PullRequest{
		Number: gh.Int(p.Number),
		Title:  gh.String(p.Title),
		State:  gh.String(p.State),
		Merged: gh.Bool(p.Merged),
		Head: &gh.PullRequestBranch{
			Ref: gh.String(p.HeadBranch), SHA: gh.String(string(p.Head)),
			Repo: &gh.Repository{FullName: gh.String(headRepo)},
		},
		Base: &gh.PullRequestBranch{Ref: gh.String(p.Base), Repo: &gh.Repository{FullName: gh.String(full)}},
	}
	if p.Author != "" {
		w.User = &gh.User{Login: gh.String(p.Author), Type: gh.String("User")}
	}
	if p.Merged {
		w.MergeCommitSHA = gh.String(string(p.MergeCommit))
		w.MergedAt = &gh.Timestamp{Time: time.Unix(1700000000, 0).UTC()}
	}
	return w
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	var list []*gh.IssueComment
	for _, c := range s.Comments(n) {
		list = append(list, s.wireComment(&c))
	}
	writePage(w, r, list)
}

// wireComment is c as GitHub sends it.
func (s *Server) wireComment(c *Comment) *gh.IssueComment {
	kind := "User"
	if strings.HasSuffix(c.Author, "[bot]") {
		kind = "Bot"
	}
	return &gh.IssueComment{
		ID: gh.Int64(c.ID), Body: gh.String(c.Body), User: &gh.User{Login: gh.String(c.Author), Type: gh.String(kind)},
		IssueURL: gh.String(fmt.Sprintf("%s/repos/%s/%s/issues/%d", s.URL(), s.Owner, s.Repo, c.Number)),
	}
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	login, ok := s.commenter(w, r)
	if !ok {
		return
	}
	var in gh.IssueComment
	if !readJSON(w, r, &in) {
		return
	}
	s.mu.Lock()
	c := s.addComment(n, login, in.GetBody())
	wire := s.wireComment(c)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, wire)
}

func (s *Server) findComment(w http.ResponseWriter, r *http.Request) (int, bool) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for i, c := range s.comments {
		if c.ID == id {
			return i, true
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
	return 0, false
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request) {
	var in gh.IssueComment
	if !readJSON(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.findComment(w, r)
	if !ok {
		return
	}
	s.comments[i].Body = in.GetBody()
	writeJSON(w, http.StatusOK, s.wireComment(s.comments[i]))
}

func (s *Server) deleteComment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.findComment(w, r)
	if !ok {
		return
	}
	s.comments = append(s.comments[:i], s.comments[i+1:]...)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request) {
	var in gh.RepoStatus
	if !readJSON(w, r, &in) {
		return
	}
	st := Status{State: in.GetState(), Context: in.GetContext(), Description: in.GetDescription(), TargetURL: in.GetTargetURL()}
	if len([]rune(st.Description)) > 140 {
		writeError(w, http.StatusUnprocessableEntity, "description is too long (maximum is 140 characters)")
		return
	}
	s.mu.Lock()
	s.statuses[r.PathValue("sha")] = append(s.statuses[r.PathValue("sha")], st)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, &in)
}

func (s *Server) createCheckRun(w http.ResponseWriter, r *http.Request) {
	var in gh.CreateCheckRunOptions
	if !readJSON(w, r, &in) {
		return
	}
	s.mu.Lock()
	s.nextID++
	cr := CheckRun{ID: s.nextID, Name: in.Name, HeadSHA: in.HeadSHA, Status: in.GetStatus(), Conclusion: in.GetConclusion()}
	if in.Output != nil {
		cr.Title, cr.Summary = in.Output.GetTitle(), in.Output.GetSummary()
	}
	s.checkRuns = append(s.checkRuns, cr)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, &gh.CheckRun{ID: gh.Int64(cr.ID), Name: gh.String(cr.Name), HeadSHA: gh.String(cr.HeadSHA)})
}

// writePage writes one page of list (page and per_page query parameters, default 30) with GitHub's
// Link header pointing at the next and last pages.
func writePage[T any](w http.ResponseWriter, r *http.Request, list []T) {
	q := r.URL.Query()
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if perPage <= 0 || perPage > 100 {
		perPage = 30
	}
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	last := max((len(list)+perPage-1)/perPage, 1)
	from, to := min((page-1)*perPage, len(list)), min(page*perPage, len(list))
	link := func(p int, rel string) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		v := u.Query()
		v.Set("page", strconv.Itoa(p))
		u.RawQuery = v.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	if page < last {
		w.Header().Set("Link", link(page+1, "next")+", "+link(last, "last"))
	}
	out := list[from:to]
	if out == nil {
		out = []T{}
	}
	writeJSON(w, http.StatusOK, out)
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, message string) {
	writeJSON(w, code, map[string]string{"message": message, "documentation_url": "https://docs.github.com/rest"})
}

// DeleteComment removes a comment as a person would; it reports whether the comment existed.
func (s *Server) DeleteComment(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.comments {
		if c.ID == id {
			s.comments = append(s.comments[:i], s.comments[i+1:]...)
			return true
		}
	}
	return false
}
