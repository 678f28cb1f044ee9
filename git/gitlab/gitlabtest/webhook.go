package gitlabtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/trueup/trueup/reconciler"
)

// Hook returns a webhook delivery as GitLab sends it: a POST of payload (JSON-encoded unless it is a
// []byte or string) with X-Gitlab-Event, X-Gitlab-Event-UUID and, unless token is empty, X-Gitlab-Token.
func Hook(token, event, uuid string, payload any) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/gitlab", bytes.NewReader(encode(payload)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gitlab-Event", event)
	req.Header.Set("X-Gitlab-Event-UUID", uuid)
	req.Header.Set("X-Gitlab-Instance", "https://gitlab.example.com")
	req.Header.Set("User-Agent", "GitLab/18.0.0")
	if token != "" {
		req.Header.Set("X-Gitlab-Token", token)
	}
	return req
}

// project is the "project" object of hook payloads.
func (s *Server) project(id int64, path string) map[string]any {
	return map[string]any{
		"id": id, "name": "infra", "namespace": "group", "path_with_namespace": path, "default_branch": "main",
		"web_url": "https://gitlab.example.com/" + path, "git_http_url": "https://gitlab.example.com/" + path + ".git",
		"visibility_level": 0,
	}
}

// user is the "user" object of hook payloads.
func user(username string) map[string]any {
	return map[string]any{"id": 7, "name": username, "username": username, "avatar_url": "", "email": "[REDACTED]"}
}

// MergeRequestHook is a Merge Request Hook payload (GitLab's docs, "Merge request events") for mr
// with action open, update, reopen, close or merge.
func (s *Server) MergeRequestHook(action string, mr reconciler.PullRequest) map[string]any {
	if mr.Base == "" {
		mr.Base = "main"
	}
	source := s.ProjectID
	if mr.Fork {
		source = s.ProjectID + 1
	}
	return map[string]any{
		"object_kind": "merge_request", "event_type": "merge_request", "user": user("alice"),
		"project": s.project(s.ProjectID, s.Project),
		"object_attributes": map[string]any{
			"id": 100000 + mr.Number, "iid": mr.Number, "title": mr.Title, "action": action, "state": wireState(&mr),
			"source_branch": mr.HeadBranch, "target_branch": mr.Base, "source_project_id": source,
			"target_project_id": s.ProjectID, "merge_status": "can_be_merged", "draft": false,
			"last_commit": map[string]any{"id": string(mr.Head), "message": "change", "timestamp": "2026-01-02T10:00:00+00:00"},
			"source":      s.project(source, s.Project), "target": s.project(s.ProjectID, s.Project),
			"url": s.URL() + "/" + s.Project + "/-/merge_requests/" + fmt.Sprint(mr.Number),
		},
		"repository": map[string]any{"name": "infra", "homepage": "https://gitlab.example.com/" + s.Project},
		"labels":     []any{}, "changes": map[string]any{},
	}
}

// PushHook is a Push Hook payload (GitLab's docs, "Push events"): branch moved from before to after
// (all zeros when it was deleted).
func (s *Server) PushHook(branch string, before, after reconciler.Revision) map[string]any {
	return map[string]any{
		"object_kind": "push", "event_name": "push", "before": string(before), "after": string(after),
		"ref": "refs/heads/" + branch, "ref_protected": branch == "main", "user_id": 7, "user_name": "alice",
		"user_username": "alice", "project_id": s.ProjectID, "project": s.project(s.ProjectID, s.Project),
		"commits": []any{}, "total_commits_count": 1,
	}
}

// NoteHook is a Note Hook payload (GitLab's docs, "Comment on a merge request") for note id on merge
// request iid. The body in it is only a hint: trueup reads the note from the API.
func (s *Server) NoteHook(iid int, id int64, author, body string) map[string]any {
	return map[string]any{
		"object_kind": "note", "event_type": "note", "user": user(author), "project_id": s.ProjectID,
		"project": s.project(s.ProjectID, s.Project),
		"object_attributes": map[string]any{
			"id": id, "note": body, "noteable_type": "MergeRequest", "author_id": 7, "project_id": s.ProjectID,
			"system": false, "action": "create",
			"url": s.URL() + "/" + s.Project + "/-/merge_requests/" + fmt.Sprint(iid) + "#note_" + fmt.Sprint(id),
		},
		"merge_request": map[string]any{"id": 100000 + iid, "iid": iid, "state": "opened", "target_branch": "main",
			"source_project_id": s.ProjectID, "target_project_id": s.ProjectID},
	}
}

func encode(payload any) []byte {
	switch p := payload.(type) {
	case []byte:
		return p
	case string:
		return []byte(p)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		panic(fmt.Sprintf("gitlabtest: encode webhook payload: %v", err))
	}
	return b
}
