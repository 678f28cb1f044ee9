// Package slack delivers trueup events to a Slack incoming webhook as Block Kit messages.
//
// Render turns an event into the message Slack receives, RenderText into the same facts for a
// terminal, and Notifier posts the message with rate limiting and retries. The webhook URL is a
// secret: it never appears in an error or a log line.
package slack
