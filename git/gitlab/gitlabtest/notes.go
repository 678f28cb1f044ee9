package gitlabtest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Notes returns the notes on merge request iid, oldest first.
func (s *Server) Notes(iid int) []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Note
	for _, n := range s.notes {
		if n.IID == iid {
			out = append(out, *n)
		}
	}
	return out
}

// AddNoteBy posts a note on merge request iid as username (made a user when new) and returns its id.
func (s *Server) AddNoteBy(iid int, username, body string) int64 {
	s.AddUser(username, s.accessOf(username))
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addNote(iid, username, body).ID
}

// addNote adds a note; callers hold s.mu.
func (s *Server) addNote(iid int, username, body string) *Note {
	s.nextID++
	n := &Note{ID: s.nextID, IID: iid, Body: body, Author: username}
	s.notes = append(s.notes, n)
	return n
}

// wireNote is n as GitLab sends it.
func (s *Server) wireNote(n *Note) map[string]any {
	return map[string]any{
		"id": n.ID, "body": n.Body, "system": n.System, "noteable_type": "MergeRequest", "noteable_iid": n.IID,
		"author":     map[string]any{"id": s.users[n.Author], "username": n.Author, "name": n.Author, "state": "active"},
		"created_at": "2026-01-02T10:00:00.000Z", "project_id": s.ProjectID,
	}
}

func (s *Server) listNotes(w http.ResponseWriter, r *http.Request) {
	iid, _ := strconv.Atoi(r.PathValue("iid"))
	s.mu.Lock()
	var list []map[string]any
	for _, n := range s.notes {
		if n.IID == iid {
			list = append(list, s.wireNote(n))
		}
	}
	s.mu.Unlock()
	writePage(w, r, list)
}

// findNote returns the index of the note the request names; callers hold s.mu.
func (s *Server) findNote(w http.ResponseWriter, r *http.Request) (int, bool) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	iid, _ := strconv.Atoi(r.PathValue("iid"))
	for i, n := range s.notes {
		if n.ID == id && n.IID == iid {
			return i, true
		}
	}
	writeError(w, http.StatusNotFound, "404 Note Not Found")
	return 0, false
}

func (s *Server) getNote(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.findNote(w, r); ok {
		writeJSON(w, http.StatusOK, s.wireNote(s.notes[i]))
	}
}

// maxNote is GitLab's limit on a note's length, in characters.
const maxNote = 1_000_000

func (s *Server) readNoteBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
		writeError(w, http.StatusBadRequest, "400 Bad request - body is missing")
		return "", false
	}
	if len([]rune(in.Body)) > maxNote {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"note": []string{"is too long (maximum is 1000000 characters)"}}})
		return "", false
	}
	return in.Body, true
}

func (s *Server) createNote(w http.ResponseWriter, r *http.Request) {
	iid, _ := strconv.Atoi(r.PathValue("iid"))
	body, ok := s.readNoteBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	_, exists := s.mrs[iid]
	var wire map[string]any
	if exists {
		wire = s.wireNote(s.addNote(iid, s.Username, body))
	}
	s.mu.Unlock()
	if !exists {
		writeError(w, http.StatusNotFound, "404 Not found")
		return
	}
	writeJSON(w, http.StatusCreated, wire)
}

func (s *Server) editNote(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readNoteBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.findNote(w, r)
	if !ok {
		return
	}
	if s.notes[i].Author != s.Username {
		writeError(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	s.notes[i].Body = body
	writeJSON(w, http.StatusOK, s.wireNote(s.notes[i]))
}

func (s *Server) deleteNote(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.findNote(w, r)
	if !ok {
		return
	}
	s.notes = append(s.notes[:i], s.notes[i+1:]...)
	w.WriteHeader(http.StatusNoContent)
}

// DeleteNote removes a note as a person would; it reports whether the note existed.
func (s *Server) DeleteNote(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, n := range s.notes {
		if n.ID == id {
			s.notes = append(s.notes[:i], s.notes[i+1:]...)
			return true
		}
	}
	return false
}
