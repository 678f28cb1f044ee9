package githubtest

import (
	"net/http"
)

// What comment commands read: one comment by its id, and a user's permission on the repository.

// getIssueThing is GET .../issues/{n}/comments (a list) or .../issues/comments/{id} (one comment).
func (s *Server) getIssueThing(w http.ResponseWriter, r *http.Request) {
	switch a, b := r.PathValue("a"), r.PathValue("b"); {
	case a == "comments":
		r.SetPathValue("id", b)
		s.getComment(w, r)
	case b == "comments":
		r.SetPathValue("n", a)
		s.listComments(w, r)
	default:
		writeError(w, http.StatusNotFound, "Not Found")
	}
}

func (s *Server) getComment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.findComment(w, r); ok {
		writeJSON(w, http.StatusOK, s.wireComment(s.comments[i]))
	}
}

// SetPermission gives login a collaborator permission: admin, maintain, write, triage or read
// ("" removes it: not a collaborator, 404).
func (s *Server) SetPermission(login, permission string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if permission == "" {
		delete(s.perms, login)
		return
	}
	s.perms[login] = permission
}

// getPermission is GET /repos/{o}/{r}/collaborators/{user}/permission. Like GitHub's legacy
// "permission" field, maintain shows as write and triage as read; role_name keeps the role.
func (s *Server) getPermission(w http.ResponseWriter, r *http.Request) {
	login := r.PathValue("user")
	s.mu.Lock()
	role, ok := s.perms[login]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, login+" is not a user")
		return
	}
	permission := map[string]string{"maintain": "write", "triage": "read"}[role]
	if permission == "" {
		permission = role
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"permission": permission, "role_name": role, "user": map[string]any{"login": login, "type": "User"},
	})
}
