package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	slackgo "github.com/slack-go/slack"

	"github.com/trueup/trueup/reconciler"
)

// maxResourceLine bounds one resource line, so one absurd address cannot crowd out the others.
const maxResourceLine = 400

// maxFallbackResources is how many resources the plain-text fallback names; notifications are short.
const maxFallbackResources = 5

// maxFallbackError bounds the error in the plain-text fallback.
const maxFallbackError = 500

// Render returns the message Slack receives for e: a header with the verdict, the revision and
// pull request, up to 20 resources, what trueup did (and why it held back), the error in a code
// block, and the time; plus a plain-text fallback with the same facts for notifications.
// It keeps within Slack's limits: header ≤ 150 characters, sections ≤ 3,000, at most 50 blocks.
func Render(e reconciler.Event) slackgo.WebhookMessage {
	var blocks []slackgo.Block
	blocks = append(blocks, slackgo.NewHeaderBlock(plain(truncate(headline(e), maxHeader))))

	var intro []string
	if e.Summary != "" {
		intro = append(intro, escape(e.Summary))
	}
	var fs []string
	if e.Revision != "" {
		fs = append(fs, "*Revision* "+code(e.Revision.Short()))
	}
	if e.PullRequest != 0 {
		fs = append(fs, fmt.Sprintf("*Pull request* #%d", e.PullRequest))
	}
	if len(fs) > 0 {
		intro = append(intro, strings.Join(fs, "  ·  "))
	}
	if len(intro) > 0 {
		blocks = append(blocks, section(strings.Join(intro, "\n")))
	}

	if rs := resources(e); len(rs) > 0 {
		blocks = append(blocks, section(resourceList(rs)))
	}

	var did []string
	if e.Action != "" {
		did = append(did, "*What trueup did:* "+escape(e.Action))
	}
	if e.Reason != "" {
		did = append(did, "*Held because:* "+escape(e.Reason))
	}
	if len(did) > 0 {
		blocks = append(blocks, section(strings.Join(did, "\n")))
	}

	if e.Error != "" {
		const open, close = "*Error*\n```\n", "\n```"
		budget := maxSection - len([]rune(open+close))
		blocks = append(blocks, section(open+truncateMrkdwn(codeBlock(strings.TrimSpace(e.Error)), budget)+close))
	}

	footer := "trueup"
	if !e.Time.IsZero() {
		// Slack shows the date in each reader's time zone; the text after | is the fallback.
		footer += fmt.Sprintf(" · <!date^%d^{date_short_pretty} {time_secs}|%s>", e.Time.Unix(), stamp(e.Time))
	}
	blocks = append(blocks, slackgo.NewContextBlock("", mrkdwn(footer)))

	if len(blocks) > maxBlocks {
		blocks = blocks[:maxBlocks]
	}
	return slackgo.WebhookMessage{
		Text:   truncateMrkdwn(escape(fallback(e)), maxText),
		Blocks: &slackgo.Blocks{BlockSet: blocks},
	}
}

// Marshal encodes msg as the JSON Slack receives, indented when indent is true. It leaves <, >
// and & as they are (encoding/json would write \u003c): the payload means the same and reads better.
func Marshal(msg slackgo.WebhookMessage, indent bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(msg); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// resourceList is the resources section: a title with the count, one line per resource, and
// "…and N more" for those beyond 20 or beyond what fits in one section.
func resourceList(rs []resource) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*Resources (%d)*", len(rs))
	// Keep room for the "more" line, whatever number it ends up with.
	budget := maxSection - len([]rune(b.String())) - len([]rune("\n"+more(len(rs))))
	shown := 0
	for _, r := range rs {
		if shown == maxResources {
			break
		}
		line := truncateMrkdwn("\n• "+code(r.Address)+escape(r.describe()), maxResourceLine)
		n := len([]rune(line))
		if n > budget {
			break
		}
		budget -= n
		b.WriteString(line)
		shown++
	}
	if left := len(rs) - shown; left > 0 {
		b.WriteString("\n" + more(left))
	}
	return b.String()
}

// fallback is the plain text a notification or an old client shows: the same facts, shorter.
func fallback(e reconciler.Event) string {
	lines := []string{headline(e)}
	if e.Summary != "" {
		lines = append(lines, e.Summary)
	}
	if f := facts(e); f != "" {
		lines = append(lines, f)
	}
	if rs := resources(e); len(rs) > 0 {
		var names []string
		for i, r := range rs {
			if i == maxFallbackResources {
				names = append(names, more(len(rs)-i))
				break
			}
			names = append(names, r.Address+r.describe())
		}
		lines = append(lines, fmt.Sprintf("Resources (%d): %s", len(rs), strings.Join(names, "; ")))
	}
	if e.Action != "" {
		lines = append(lines, "What trueup did: "+e.Action)
	}
	if e.Reason != "" {
		lines = append(lines, "Held because: "+e.Reason)
	}
	if e.Error != "" {
		lines = append(lines, "Error: "+truncate(strings.TrimSpace(e.Error), maxFallbackError))
	}
	return strings.Join(lines, "\n")
}

func plain(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.PlainTextType, s, true, false)
}

func mrkdwn(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.MarkdownType, s, false, false)
}

// section is a mrkdwn section, cut to Slack's limit as a last resort (callers budget their text).
func section(s string) *slackgo.SectionBlock {
	return slackgo.NewSectionBlock(mrkdwn(truncateMrkdwn(s, maxSection)), nil, nil)
}
