// Package redact replaces every value trueup knows to be secret by "***" in the text it sends out:
// pull request comments, commit statuses, Slack, log lines, API answers and the store.
//
// The known secrets are trueup's own (the GitHub token, the webhook secret, the Slack URL, the API
// and repository tokens, registered with [Set.Add] at start), the credentials it issues to each
// Terraform run (registered with [Set.AddExpiring] as they are issued), and the values of the
// pass-through environment variables whose names look secret ([SecretLooking]).
//
// This is defence in depth, not the boundary: a value that Terraform code base64-encodes, reverses,
// changes the case of or splits gets past it. Only a few encodings that cost nothing to catch are
// caught too (see [Set.Add]). Over-redaction is the accepted price: a secret that is also a common
// word is masked wherever the word appears.
package redact

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Mask replaces each secret.
const Mask = "***"

// MinLen is the shortest value, in bytes after trimming white space, that a Set redacts. Shorter
// values are ignored: redacting "a", "1" or "true" would destroy every text it touches, and a value
// that short is guessed in a moment anyway, so hiding it protects nothing. Every real token, key or
// password of 6 bytes or more is caught.
const MinLen = 6

// MaxIssued is how many issued values (see [Set.AddExpiring]) a Set keeps at most. When one more is
// added, the oldest issued value is forgotten first. trueup's own secrets (see [Set.Add]) are never
// forgotten and do not count.
const MaxIssued = 10000

// Grace is how long a Set keeps an issued value after it expired, for text written a little after
// the run that used it (a plan posted late, a retried notification).
const Grace = time.Hour

// Set is a set of secret values. Its zero value is not usable; call [New]. A Set is safe for
// concurrent use: values may be added while other goroutines redact.
type Set struct {
	mu sync.Mutex
	// own are trueup's own secrets, never forgotten; each maps to its forms (the patterns matched).
	own map[string][]string
	// issued are the credentials issued to runs, forgotten after their expiry or when over MaxIssued.
	issued map[string]issuedValue
	// order is the insertion order of issued, oldest first; it may hold stale entries (seq differs).
	order []queued
	seq   uint64
	// m matches every form of every value; nil when it must be rebuilt. It is stored and cleared
	// only under mu, so a Redact that starts after an Add returned always sees the new value.
	m atomic.Pointer[matcher]
}

type issuedValue struct {
	forms []string
	// expires is zero for an issued value without an expiry (forgotten only by the cap).
	expires time.Time
	seq     uint64
}

type queued struct {
	value string
	seq   uint64
}

// New returns an empty Set.
func New() *Set {
	return &Set{own: map[string][]string{}, issued: map[string]issuedValue{}}
}

// Add registers trueup's own secrets, kept for the life of the Set. Each value is trimmed of
// surrounding white space (a token read from a file ends in a newline); values shorter than
// [MinLen] are ignored.
//
// Besides the value itself, a Set redacts the forms it takes, when they differ, as a JSON or Go
// string literal (without the quotes), URL-escaped (query and path), and, for a value of several
// lines (a PEM key), each line of at least MinLen bytes on its own, as a plan renders it indented.
func (s *Set) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, v := range values {
		v = strings.TrimSpace(v)
		if len(v) < MinLen {
			continue
		}
		if _, ok := s.own[v]; ok {
			continue
		}
		if iv, ok := s.issued[v]; ok {
			s.own[v] = iv.forms
			delete(s.issued, v)
		} else {
			s.own[v] = forms(v)
		}
		changed = true
	}
	if changed {
		s.m.Store(nil)
	}
}

// AddExpiring registers credentials issued to a run (AWS session credentials), redacted until
// expires plus [Grace] and then forgotten, so a daemon that issues credentials for every run keeps
// a bounded set. A zero expires means no expiry. Of the issued values at most [MaxIssued] are kept:
// the oldest added is forgotten first. Values are trimmed and short ones ignored, as by [Set.Add];
// a value already registered by Add stays registered for good, and one added again gets the later
// expiry and counts as new.
func (s *Set) AddExpiring(expires time.Time, values ...string) {
	if !expires.IsZero() && !time.Now().Before(expires.Add(Grace)) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, v := range values {
		v = strings.TrimSpace(v)
		if len(v) < MinLen {
			continue
		}
		if _, ok := s.own[v]; ok {
			continue
		}
		iv, ok := s.issued[v]
		if !ok {
			iv.forms = forms(v)
			changed = true
		}
		switch {
		case !ok, expires.IsZero():
			iv.expires = expires
		case !iv.expires.IsZero() && expires.After(iv.expires):
			iv.expires = expires
		}
		s.seq++
		iv.seq = s.seq
		s.issued[v] = iv
		s.order = append(s.order, queued{value: v, seq: iv.seq})
	}
	changed = s.evictLocked() || changed
	if changed {
		s.m.Store(nil)
	}
}

// evictLocked forgets the oldest issued values while there are more than MaxIssued, and reports
// whether it forgot any.
func (s *Set) evictLocked() bool {
	evicted := false
	for len(s.issued) > MaxIssued && len(s.order) > 0 {
		q := s.order[0]
		s.order = s.order[1:]
		if iv, ok := s.issued[q.value]; ok && iv.seq == q.seq {
			delete(s.issued, q.value)
			evicted = true
		}
	}
	s.compactLocked()
	return evicted
}

// compactLocked drops the stale entries of order once they outnumber the live ones.
func (s *Set) compactLocked() {
	if len(s.order) <= 2*len(s.issued)+64 {
		return
	}
	live := make([]queued, 0, len(s.issued))
	for _, q := range s.order {
		if iv, ok := s.issued[q.value]; ok && iv.seq == q.seq {
			live = append(live, q)
		}
	}
	s.order = live
}

// Redact returns s with every occurrence of every known value, in any of its forms, replaced by
// [Mask]. Where occurrences overlap (one secret contains another, or a secret's end is another's
// start) the whole stretch they cover becomes one Mask, so no part of either is left. It returns
// text itself, without copying, when it holds no secret.
func (s *Set) Redact(text string) string {
	out, _ := s.matcher().redact(text)
	return out
}

// Func returns s.Redact, for the packages that take a func(string) string.
func (s *Set) Func() func(string) string { return s.Redact }

// matcher returns the current matcher, building it when values were added or expired.
func (s *Set) matcher() *matcher {
	if m := s.m.Load(); m != nil && m.valid() {
		return m
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.m.Load(); m != nil && m.valid() {
		return m
	}
	now := time.Now()
	var patterns []string
	for _, f := range s.own {
		patterns = append(patterns, f...)
	}
	var next time.Time
	for v, iv := range s.issued {
		if !iv.expires.IsZero() {
			end := iv.expires.Add(Grace)
			if !now.Before(end) {
				delete(s.issued, v)
				continue
			}
			if next.IsZero() || end.Before(next) {
				next = end
			}
		}
		patterns = append(patterns, iv.forms...)
	}
	s.compactLocked()
	m := newMatcher(patterns, next)
	s.m.Store(m)
	return m
}

// forms returns v and the other forms it takes in text, without duplicates.
func forms(v string) []string {
	out := []string{v}
	add := func(f string) {
		for _, o := range out {
			if o == f {
				return
			}
		}
		out = append(out, f)
	}
	q := strconv.Quote(v)
	add(q[1 : len(q)-1])
	if j, err := json.Marshal(v); err == nil { // escapes <, > and & as \u003c...
		add(string(j[1 : len(j)-1]))
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err == nil {
		j := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
		add(string(j[1 : len(j)-1]))
	}
	add(url.QueryEscape(v))
	add(url.PathEscape(v))
	if strings.ContainsAny(v, "\r\n") {
		for line := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if line = strings.TrimSpace(line); len(line) >= MinLen {
				add(line)
			}
		}
	}
	return out
}

// SecretLooking reports whether an environment variable's name says its value is secret: it
// contains SECRET, TOKEN, PASSWORD or KEY, in any case.
func SecretLooking(name string) bool {
	n := strings.ToUpper(name)
	for _, w := range []string{"SECRET", "TOKEN", "PASSWORD", "KEY"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
