package slack

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	slackgo "github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	when = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	rev  = reconciler.Revision("9fceb02d0ae598e95dc970b74767f19372d61af8")
)

// goldenEvents are the events whose Slack payload and terminal text are kept in testdata/.
func goldenEvents() map[string]reconciler.Event {
	var drift []reconciler.ResourceDrift
	var changes []reconciler.ResourceChange
	for i := range 25 {
		addr := fmt.Sprintf("aws_security_group_rule.ingress[%d]", i)
		switch {
		case i%3 == 0:
			drift = append(drift, reconciler.ResourceDrift{Address: addr, Change: "deleted"})
			changes = append(changes, reconciler.ResourceChange{Address: addr, Action: reconciler.ActionCreate})
		case i%3 == 1:
			drift = append(drift, reconciler.ResourceDrift{Address: addr, Change: "updated"})
		default:
			changes = append(changes, reconciler.ResourceChange{Address: addr, Action: reconciler.ActionUpdate})
		}
	}
	longErr := "Error: creating EC2 Instance: operation error EC2: RunInstances, https response error StatusCode: 400, " +
		"api error InvalidParameterValue: Value (t9.<huge>) for parameter instanceType is invalid & unknown.\n\n" +
		"  with aws_instance.web,\n  on main.tf line 12, in resource \"aws_instance\" \"web\":\n  12: resource \"aws_instance\" \"web\" {\n\n" +
		strings.Repeat("stack trace line that goes on and on ```and on```\n", 120)
	return map[string]reconciler.Event{
		"drift_detected": {
			Kind: reconciler.EventDriftDetected, Stack: "network", Revision: rev, Time: when,
			Summary: "network: 25 resources changed outside Terraform",
			Action:  "alert only (remediate = alert)",
			Drift:   drift, Changes: changes,
		},
		"drift_resolved": {
			Kind: reconciler.EventDriftResolved, Stack: "network", Revision: rev, Time: when,
			Summary: "network matches main again",
			Action:  "corrected",
		},
		"correction_held": {
			Kind: reconciler.EventCorrectionHeld, Stack: "app@prod", Revision: rev, Time: when,
			Summary: "a correction of app@prod would destroy a resource",
			Action:  "held: correction not applied",
			Reason:  "the plan destroys aws_db_instance.main and allow_destroy is off",
			Drift:   []reconciler.ResourceDrift{{Address: "aws_db_instance.main", Change: "updated"}},
			Changes: []reconciler.ResourceChange{{Address: "aws_db_instance.main", Action: reconciler.ActionReplace}},
		},
		"apply_failed": {
			Kind: reconciler.EventApplyFailed, Stack: "app@prod", Revision: rev, Time: when, PullRequest: 42,
			Summary: "apply of app@prod at 9fceb02d failed",
			Action:  "stopped; will retry on the next commit",
			Changes: []reconciler.ResourceChange{{Address: "aws_instance.web", Action: reconciler.ActionCreate}},
			Error:   longErr,
		},
	}
}

func TestRenderGolden(t *testing.T) {
	for name, e := range goldenEvents() {
		t.Run(name, func(t *testing.T) {
			msg := Render(e)
			raw, err := Marshal(msg, true)
			require.NoError(t, err)
			golden(t, name+".json", raw)
			golden(t, name+".txt", []byte(RenderText(e)))
			checkLimits(t, msg)
		})
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), string(got), "%s differs; run go test -update and review the diff", path)
}

// checkLimits asserts msg keeps within Slack's limits and decodes as blocks Slack knows.
func checkLimits(t *testing.T, msg slackgo.WebhookMessage) {
	t.Helper()
	require.NotNil(t, msg.Blocks)
	assert.LessOrEqual(t, len(msg.Blocks.BlockSet), maxBlocks)
	assert.LessOrEqual(t, utf8.RuneCountInString(msg.Text), maxText)
	assert.NotEmpty(t, msg.Text)
	for _, b := range msg.Blocks.BlockSet {
		switch b := b.(type) {
		case *slackgo.HeaderBlock:
			assert.LessOrEqual(t, utf8.RuneCountInString(b.Text.Text), maxHeader)
			assert.Equal(t, slackgo.PlainTextType, b.Text.Type)
		case *slackgo.SectionBlock:
			assert.LessOrEqual(t, utf8.RuneCountInString(b.Text.Text), maxSection)
			assert.True(t, utf8.ValidString(b.Text.Text))
		}
	}
	raw, err := json.Marshal(msg)
	require.NoError(t, err)
	var back slackgo.WebhookMessage
	require.NoError(t, json.Unmarshal(raw, &back), "the payload decodes as Block Kit")
	assert.Len(t, back.Blocks.BlockSet, len(msg.Blocks.BlockSet))
}

func TestRenderResourceList(t *testing.T) {
	e := goldenEvents()["drift_detected"]
	msg := Render(e)
	res := msg.Blocks.BlockSet[2].(*slackgo.SectionBlock).Text.Text
	assert.Equal(t, 20, strings.Count(res, "\n• "), "20 resources listed")
	assert.True(t, strings.HasSuffix(res, "\n…and 5 more"))
	assert.Contains(t, res, "• `aws_security_group_rule.ingress[0]` — deleted outside Terraform → create")
	assert.Contains(t, res, "• `aws_security_group_rule.ingress[1]` — updated outside Terraform\n")
	assert.Contains(t, res, "• `aws_security_group_rule.ingress[2]` → update")
}

func TestRenderEveryKindHasAVerdict(t *testing.T) {
	kinds := map[reconciler.EventKind]string{
		reconciler.EventDriftDetected:    "drift detected",
		reconciler.EventDriftChanged:     "drift changed",
		reconciler.EventDriftResolved:    "drift resolved",
		reconciler.EventCorrectionHeld:   "correction held",
		reconciler.EventCorrectionFailed: "correction failed",
		reconciler.EventApplyFailed:      "apply failed",
		reconciler.EventApplyRecovered:   "apply recovered",
		reconciler.EventApplyHeld:        "apply held",
		reconciler.EventRunInterrupted:   "run interrupted",
		reconciler.EventStackRemoved:     "stack removed",
		reconciler.EventHookFailed:       "hook failed",
		"brand_new_kind":                 "brand new kind",
	}
	for kind, verdict := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			msg := Render(reconciler.Event{Kind: kind, Stack: "s"})
			header := msg.Blocks.BlockSet[0].(*slackgo.HeaderBlock).Text.Text
			assert.True(t, strings.HasSuffix(header, " s: "+verdict), header)
			assert.True(t, strings.HasPrefix(msg.Text, header), "the fallback starts with the headline")
			assert.True(t, strings.HasPrefix(RenderText(reconciler.Event{Kind: kind, Stack: "s"}), header+"\n"))
		})
	}
}

func TestRenderKeepsWithinLimits(t *testing.T) {
	huge := strings.Repeat("日本&<>", 2000)
	e := reconciler.Event{
		Kind: reconciler.EventCorrectionFailed, Stack: strings.Repeat("very-long-stack-name/", 20), Revision: rev, Time: when,
		Summary: huge, Action: huge, Reason: huge, Error: huge,
	}
	for i := range 300 {
		e.Drift = append(e.Drift, reconciler.ResourceDrift{Address: fmt.Sprintf("module.m[%q].aws_x.y%d", strings.Repeat("k", 200), i), Change: "deleted"})
		e.Changes = append(e.Changes, reconciler.ResourceChange{Address: e.Drift[i].Address, Action: reconciler.ActionCreate})
	}
	msg := Render(e)
	checkLimits(t, msg)
	res := msg.Blocks.BlockSet[2].(*slackgo.SectionBlock).Text.Text
	shown := strings.Count(res, "\n• ")
	assert.Less(t, shown, 20, "long lines are cut short of 20 to fit the section")
	assert.True(t, strings.HasSuffix(res, fmt.Sprintf("\n…and %d more", 300-shown)), "every resource left out is counted")
}

func TestRenderEscapesMrkdwn(t *testing.T) {
	msg := Render(reconciler.Event{
		Kind: reconciler.EventApplyHeld, Stack: "s", Summary: "<!channel> & friends",
		Changes: []reconciler.ResourceChange{{Address: "aws_x.y[\"`a`\"]", Action: reconciler.ActionUpdate}},
	})
	raw, err := json.Marshal(msg)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "<!channel>", "text from the repository must not ping a channel")
	intro := msg.Blocks.BlockSet[1].(*slackgo.SectionBlock).Text.Text
	assert.Equal(t, "&lt;!channel&gt; &amp; friends", intro)
	res := msg.Blocks.BlockSet[2].(*slackgo.SectionBlock).Text.Text
	assert.Contains(t, res, "`aws_x.y[\"'a'\"]`", "a backtick cannot end the code span early")
}

func TestNaturalCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"a[2]", "a[10]", -1},
		{"a[10]", "a[2]", 1},
		{"a[02]", "a[2]", 0},
		{"a.b", "a.c", -1},
		{"a", "a.b", -1},
		{"x1y2", "x1y10", -1},
		{"module.m[3].x", "module.m[3].x", 0},
		{"aws_b", "aws_a9", 1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, naturalCompare(tt.a, tt.b), "naturalCompare(%q, %q)", tt.a, tt.b)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in         string
		max        int
		want, mrkd string
	}{
		{"", 5, "", ""},
		{"hello", 5, "hello", "hello"},
		{"hello!", 5, "hell…", "hell…"},
		{"日本語テキスト", 3, "日本…", "日本…"},
		{"ab&amp;cd", 6, "ab&am…", "ab…"},
		{"ab&amp;cd", 8, "ab&amp;…", "ab&amp;…"},
		{"x &lt; y", 5, "x &l…", "x …"},
		{"abc", 0, "", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, truncate(tt.in, tt.max), "truncate(%q, %d)", tt.in, tt.max)
		assert.Equal(t, tt.mrkd, truncateMrkdwn(tt.in, tt.max), "truncateMrkdwn(%q, %d)", tt.in, tt.max)
	}
}
