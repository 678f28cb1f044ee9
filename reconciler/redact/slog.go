package redact

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
)

// Handler returns a slog.Handler that redacts each record's message and every attribute (keys, text
// values, errors, fmt.Stringers, groups at any depth, and the attributes and groups attached with
// WithAttrs and WithGroup) before it passes the record to h. Values that are not text (numbers,
// times, booleans, durations) pass unchanged.
//
// The attributes attached with WithAttrs are kept and redacted at each record, not when attached,
// so a secret added to s after a logger was made is still redacted in what that logger writes.
//
// A value of any other type (a struct, a map, a []byte) is checked as the handlers may write it
// (with %+v, as JSON, by its String, Error or MarshalText method); when none of these forms holds
// a secret it passes unchanged, otherwise it is replaced by its redacted %+v text (an error by an
// error with the redacted Error text).
func (s *Set) Handler(h slog.Handler) slog.Handler {
	return &handler{set: s, next: h, levels: [][]slog.Attr{nil}}
}

type handler struct {
	set  *Set
	next slog.Handler
	// groups are the WithGroup names; levels[0] the attributes attached outside every group,
	// levels[i] those attached inside groups[:i]. Both are shared with derived handlers: append
	// only to clones.
	groups []string
	levels [][]slog.Attr
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	m := h.set.matcher() // one snapshot for the whole record
	out := slog.NewRecord(r.Time, r.Level, m.redactString(r.Message), r.PC)
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, m.attr(a))
		return true
	})
	// Nest the record's attributes in the handler's groups, innermost first, each level's own
	// attributes before the group it opens.
	for i := len(h.groups); i >= 1; i-- {
		level := m.attrs(h.levels[i])
		g := slog.Attr{Key: m.redactString(h.groups[i-1]), Value: slog.GroupValue(append(level, attrs...)...)}
		attrs = []slog.Attr{g}
	}
	out.AddAttrs(append(m.attrs(h.levels[0]), attrs...)...)
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	levels := slices.Clone(h.levels)
	last := len(levels) - 1
	levels[last] = append(slices.Clip(levels[last]), as...)
	return &handler{set: h.set, next: h.next, groups: h.groups, levels: levels}
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &handler{
		set:    h.set,
		next:   h.next,
		groups: append(slices.Clip(h.groups), name),
		levels: append(slices.Clip(h.levels), nil),
	}
}

// attrs returns redacted copies of as.
func (m *matcher) attrs(as []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = m.attr(a)
	}
	return out
}

func (m *matcher) attr(a slog.Attr) slog.Attr {
	return slog.Attr{Key: m.redactString(a.Key), Value: m.value(a.Value)}
}

// value returns v resolved and redacted. What is checked is what is passed on: a LogValuer is
// resolved once, here.
func (m *matcher) value(v slog.Value) slog.Value {
	v = v.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.StringValue(m.redactString(v.String()))
	case slog.KindGroup:
		return slog.GroupValue(m.attrs(v.Group())...)
	case slog.KindAny:
		return m.anyValue(v)
	default:
		return v
	}
}

// anyValue redacts a value of kind Any (see Handler).
func (m *matcher) anyValue(v slog.Value) slog.Value {
	x := v.Any()
	secret := false
	for _, text := range renderings(x) {
		if _, found := m.redact(text); found {
			secret = true
			break
		}
	}
	if !secret {
		return v
	}
	if err, ok := x.(error); ok {
		msg, _ := render(err.Error)
		return slog.AnyValue(redactedError(m.redactString(msg)))
	}
	if b, ok := byteSlice(x); ok {
		return slog.StringValue(m.redactString(string(b)))
	}
	text, _ := render(func() string { return fmt.Sprintf("%+v", x) })
	return slog.StringValue(m.redactString(text))
}

// byteSlice returns x's bytes when it is a slice of bytes, which handlers write as text.
func byteSlice(x any) ([]byte, bool) {
	if rv := reflect.ValueOf(x); rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
		return rv.Bytes(), true
	}
	return nil, false
}

// renderings returns the texts handlers may write for x. A method that panics renders nothing.
func renderings(x any) []string {
	var out []string
	add := func(f func() string) {
		if text, ok := render(f); ok {
			out = append(out, text)
		}
	}
	add(func() string { return fmt.Sprintf("%+v", x) })
	add(func() string { return fmt.Sprint(x) })
	if b, ok := byteSlice(x); ok {
		out = append(out, string(b))
	}
	if e, ok := x.(error); ok {
		add(e.Error)
	}
	if st, ok := x.(fmt.Stringer); ok {
		add(st.String)
	}
	if tm, ok := x.(encoding.TextMarshaler); ok {
		add(func() string {
			b, err := tm.MarshalText()
			if err != nil {
				return err.Error()
			}
			return string(b)
		})
	}
	add(func() string {
		b, err := json.Marshal(x)
		if err != nil {
			return err.Error()
		}
		return string(b)
	})
	return out
}

// render calls f, reporting false when it panicked (a nil pointer's method, typically).
func render(f func() string) (text string, ok bool) {
	defer func() {
		if recover() != nil {
			text, ok = "", false
		}
	}()
	return f(), true
}

// redactedError stands for an error whose text held a secret.
type redactedError string

func (e redactedError) Error() string { return string(e) }
