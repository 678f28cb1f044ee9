package redact_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/redact"
)

// farFuture is an expiry no test reaches.
var farFuture = time.Now().Add(24 * time.Hour)

// fakeForge records what it was asked to write.
type fakeForge struct {
	pulls    []reconciler.PullRequest
	pull     reconciler.PullRequest
	err      error
	reports  []reconciler.PullReport
	statuses []status
}

type status struct {
	rev         reconciler.Revision
	stack       string
	state       reconciler.StatusState
	description string
}

var _ reconciler.Forge = (*fakeForge)(nil)

func (f *fakeForge) OpenPulls(context.Context, string) ([]reconciler.PullRequest, error) {
	return f.pulls, f.err
}

func (f *fakeForge) Pull(context.Context, int) (reconciler.PullRequest, error) { return f.pull, f.err }

func (f *fakeForge) SetStatus(_ context.Context, rev reconciler.Revision, stack string, state reconciler.StatusState, description string) error {
	f.statuses = append(f.statuses, status{rev, stack, state, description})
	return f.err
}

func (f *fakeForge) Comment(_ context.Context, r reconciler.PullReport) error {
	f.reports = append(f.reports, r)
	return f.err
}

// kept are the string types that are identities or enumerations, not text: they pass unchanged.
var kept = map[reflect.Type]bool{
	reflect.TypeFor[reconciler.Revision]():    true,
	reflect.TypeFor[reconciler.RunResult]():   true,
	reflect.TypeFor[reconciler.RunKind]():     true,
	reflect.TypeFor[reconciler.Action]():      true,
	reflect.TypeFor[reconciler.EventKind]():   true,
	reflect.TypeFor[reconciler.StatusState](): true,
}

// fill sets every exported string field reachable from v (through structs, pointers and slices,
// which it allocates with two elements) to a text holding secret, so a field added to the core
// types later is covered by these tests without a change to them.
func fill(v reflect.Value, secret string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("before " + secret + " after")
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem(), secret)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range v.Len() {
			fill(v.Index(i), secret)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), secret)
			}
		}
	}
}

// texts returns every exported string field reachable from v, by path.
func texts(v reflect.Value, path string, out map[string]reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		out[path] = v
	case reflect.Pointer:
		if !v.IsNil() {
			texts(v.Elem(), path, out)
		}
	case reflect.Slice:
		for i := range v.Len() {
			texts(v.Index(i), path+"["+string(rune('0'+i))+"]", out)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				texts(v.Field(i), path+"."+f.Name, out)
			}
		}
	}
}

// assertRedacted checks that every text of got is redacted and every kept field (by type, or by
// path in keptPaths) unchanged.
func assertRedacted(t *testing.T, sent, got any, keptPaths ...string) {
	t.Helper()
	before, after := map[string]reflect.Value{}, map[string]reflect.Value{}
	texts(reflect.ValueOf(sent), "", before)
	texts(reflect.ValueOf(got), "", after)
	require.Equal(t, len(before), len(after), "the same fields arrive")
	require.NotEmpty(t, before)
	for path, b := range before {
		a := after[path]
		if kept[b.Type()] || slices.Contains(keptPaths, path) {
			assert.Equal(t, b.String(), a.String(), "%s is kept", path)
			continue
		}
		assert.Equal(t, "before *** after", a.String(), "%s is redacted", path)
	}
}

func TestForgeRedactsTheComment(t *testing.T) {
	const secret = "ghs_InstallationToken0123456789"
	s := redact.New()
	s.Add(secret)
	var report reconciler.PullReport
	fill(reflect.ValueOf(&report), secret)
	report.Number = 7
	report.Stacks[0].Add = 3
	sent := deepCopy(t, report)

	fake := &fakeForge{}
	require.NoError(t, s.Forge(fake).Comment(context.Background(), report))
	require.Len(t, fake.reports, 1)
	got := fake.reports[0]
	assertRedacted(t, sent, got)
	assert.Equal(t, 7, got.Number)
	assert.Equal(t, 3, got.Stacks[0].Add)
	assert.Equal(t, sent, report, "the caller's report is not changed")
	assert.NotSame(t, report.Stacks[0].Applied, got.Stacks[0].Applied)
}

func TestForgeRedactsAPlanRendering(t *testing.T) {
	const secret = "AKIAIOSFODNN7EXAMPLE"
	s := redact.New()
	s.AddExpiring(farFuture, secret)
	fake := &fakeForge{}
	rendered := "  + resource \"aws_ssm_parameter\" \"p\" {\n      + value = \"" + secret + "\"\n    }\n"
	err := s.Forge(fake).Comment(context.Background(), reconciler.PullReport{Number: 1, Stacks: []reconciler.StackReport{
		{Stack: "app", Rendered: rendered, Result: reconciler.ResultSucceeded},
	}})
	require.NoError(t, err)
	require.Len(t, fake.reports, 1)
	assert.Equal(t, strings.ReplaceAll(rendered, secret, "***"), fake.reports[0].Stacks[0].Rendered)
}

func TestForgeRedactsTheStatus(t *testing.T) {
	const secret = "webhook-secret-value-123"
	s := redact.New()
	s.Add(secret)
	fake := &fakeForge{err: errors.New("forge down")}
	err := s.Forge(fake).SetStatus(context.Background(), "abc123", "stack-"+secret, reconciler.StatusFailure, "plan failed: "+secret+" rejected")
	assert.EqualError(t, err, "forge down", "the forge's error comes back")
	require.Len(t, fake.statuses, 1)
	assert.Equal(t, status{"abc123", "stack-***", reconciler.StatusFailure, "plan failed: *** rejected"}, fake.statuses[0])
}

func TestForgePassesReadsThrough(t *testing.T) {
	s := redact.New()
	s.Add("Title-secret-0001")
	pr := reconciler.PullRequest{Number: 3, Title: "Title-secret-0001", HeadBranch: "b", Head: "h"}
	fake := &fakeForge{pulls: []reconciler.PullRequest{pr}, pull: pr}
	f := s.Forge(fake)
	pulls, err := f.OpenPulls(context.Background(), "main")
	require.NoError(t, err)
	assert.Equal(t, []reconciler.PullRequest{pr}, pulls)
	got, err := f.Pull(context.Background(), 3)
	require.NoError(t, err)
	assert.Equal(t, pr, got)

	fake.err = errors.New("boom")
	_, err = f.OpenPulls(context.Background(), "main")
	assert.EqualError(t, err, "boom")
	_, err = f.Pull(context.Background(), 3)
	assert.EqualError(t, err, "boom")
}

func TestForgeWithNoStacks(t *testing.T) {
	s := redact.New()
	s.Add("some-secret-1")
	fake := &fakeForge{}
	require.NoError(t, s.Forge(fake).Comment(context.Background(), reconciler.PullReport{Number: 2, Note: "fork: some-secret-1"}))
	assert.Equal(t, []reconciler.PullReport{{Number: 2, Note: "fork: ***"}}, fake.reports)
}

func TestNotifierRedactsEveryText(t *testing.T) {
	const secret = "https://hooks.slack.com/services/T0/B0/XXXXXXXX"
	s := redact.New()
	s.Add(secret)
	var e reconciler.Event
	fill(reflect.ValueOf(&e), secret)
	e.Seq, e.PullRequest = 9, 4
	sent := deepCopy(t, e)

	var got []reconciler.Event
	n := s.Notifier(reconciler.NotifierFunc(func(_ context.Context, e reconciler.Event) error {
		got = append(got, e)
		return errors.New("slack down")
	}))
	assert.EqualError(t, n.Notify(context.Background(), e), "slack down", "the notifier's error comes back")
	require.Len(t, got, 1)
	assertRedacted(t, sent, got[0])
	assert.Equal(t, uint64(9), got[0].Seq)
	assert.Equal(t, 4, got[0].PullRequest)
	assert.Equal(t, sent, e, "the caller's event is not changed")
}

func TestRedactRunAndEventKeepNil(t *testing.T) {
	s := redact.New()
	s.Add("secret-value-1")
	assert.Equal(t, reconciler.Event{Summary: "***"}, s.RedactEvent(reconciler.Event{Summary: "secret-value-1"}))
	assert.Equal(t, reconciler.RunRecord{Error: "***"}, s.RedactRun(reconciler.RunRecord{Error: "secret-value-1"}))
	assert.Equal(t, reconciler.PullReport{}, s.RedactReport(reconciler.PullReport{}))
}

func TestRedactRun(t *testing.T) {
	const secret = "aws-session-token-value"
	s := redact.New()
	s.Add(secret)
	var r reconciler.RunRecord
	fill(reflect.ValueOf(&r), secret)
	sent := deepCopy(t, r)
	got := s.RedactRun(r)
	assertRedacted(t, sent, got)
	assert.Equal(t, sent, r, "the caller's record is not changed")
}

// deepCopy copies v through reflection, so a change to v's slices or pointers would show.
func deepCopy[T any](t *testing.T, v T) T {
	t.Helper()
	var out T
	copyValue(reflect.ValueOf(&out).Elem(), reflect.ValueOf(v))
	require.Equal(t, v, out)
	return out
}

func copyValue(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.New(src.Type().Elem()))
		copyValue(dst.Elem(), src.Elem())
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.MakeSlice(src.Type(), src.Len(), src.Len()))
		for i := range src.Len() {
			copyValue(dst.Index(i), src.Index(i))
		}
	case reflect.Struct:
		dst.Set(src) // copies unexported fields (time.Time) too
		for i := range src.NumField() {
			if src.Type().Field(i).IsExported() {
				copyValue(dst.Field(i), src.Field(i))
			}
		}
	default:
		dst.Set(src)
	}
}

func TestRedactStack(t *testing.T) {
	const secret = "aws-session-token-value"
	s := redact.New()
	s.Add(secret)
	var st reconciler.StackState
	fill(reflect.ValueOf(&st), secret)
	sent := deepCopy(t, st)
	got := s.RedactStack(st)
	assertRedacted(t, sent, got, ".Name", ".Dir", ".Workspace")
	assert.Equal(t, sent, st, "the caller's state is not changed")
}
