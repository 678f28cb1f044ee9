// Package notifier holds the reconciler.Notifier implementations that need no external service
// (a structured log line) and the fan-out that delivers one event to several notifiers.
//
// When to notify is not decided here: the reconciler emits one event per transition and keeps
// undelivered events in its outbox. A notifier's only job is to deliver one event well.
package notifier
