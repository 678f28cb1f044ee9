package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// logEntry is one line of the daemon's JSON log (slog's JSONHandler).
type logEntry struct {
	Time  time.Time
	Msg   string
	Attrs map[string]any
}

// str returns attribute key as a string ("" when absent).
func (l logEntry) str(key string) string {
	v, ok := l.Attrs[key]
	if !ok {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// duration reads a time.Duration attribute, which slog's JSON handler writes as nanoseconds.
func (l logEntry) duration(key string) time.Duration {
	if f, ok := l.Attrs[key].(float64); ok {
		return time.Duration(f)
	}
	return 0
}

// logStore keeps every parsed log line of a daemon.
type logStore struct {
	mu      sync.Mutex
	entries []logEntry
	// lastWork is the time of the last line that is not the access log of the bench's own requests.
	lastWork time.Time
}

func newLogStore() *logStore { return &logStore{} }

// consume parses r line by line; the first "trueup started" line's listen address goes to started.
func (s *logStore) consume(r io.Reader, started chan<- string) {
	sent := false
	scanLines(r, func(line []byte) {
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			return
		}
		e := logEntry{Attrs: m}
		e.Msg, _ = m["msg"].(string)
		if ts, ok := m["time"].(string); ok {
			e.Time, _ = time.Parse(time.RFC3339Nano, ts)
		}
		s.mu.Lock()
		s.entries = append(s.entries, e)
		if e.Msg != "http request" {
			s.lastWork = e.Time
		}
		s.mu.Unlock()
		if !sent && e.Msg == "trueup started" {
			sent = true
			started <- e.str("listen")
		}
	})
}

// find returns the entries with msg logged after since whose attributes include every key=value pair.
func (s *logStore) find(msg string, since time.Time, kv ...string) []logEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []logEntry
	for _, e := range s.entries {
		if e.Msg != msg || e.Time.Before(since) {
			continue
		}
		ok := true
		for i := 0; i+1 < len(kv); i += 2 {
			if e.str(kv[i]) != kv[i+1] {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, e)
		}
	}
	return out
}

func (s *logStore) count(msg string, since time.Time, kv ...string) int {
	return len(s.find(msg, since, kv...))
}

// terraformTime sums the durations of the Terraform calls for stack logged after since: the
// terraform runner logs one debug line "terraform" per call with stack, op and duration.
func (s *logStore) terraformTime(stack string, since time.Time) (time.Duration, map[string]time.Duration) {
	var total time.Duration
	byOp := map[string]time.Duration{}
	for _, e := range s.find("terraform", since, "stack", stack) {
		d := e.duration("duration")
		total += d
		byOp[e.str("op")] += d
	}
	return total, byOp
}

// last returns the time of the last line logged that was not an HTTP access line, or the zero time.
func (s *logStore) last() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastWork
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
