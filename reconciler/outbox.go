package reconciler

import (
	"context"
	"errors"
	"time"
)

// ErrPermanent marks a notification that can never be delivered as it is (the receiver rejected it):
// it is dropped from the outbox instead of retried. Notifiers wrap it.
var ErrPermanent = errors.New("permanent delivery failure")

// announce logs events that were just saved and wakes the delivery of those queued in the outbox.
func (r *Reconciler) announce(ctx context.Context, events []Event, queued bool) {
	for _, e := range events {
		if r.opts.Log != nil {
			_ = r.opts.Log.Notify(ctx, e)
		}
	}
	if queued {
		select {
		case r.outboxWake <- struct{}{}:
		default:
		}
	}
}

// deliverLoop sends queued notifications in order. A failed delivery is retried with capped backoff and
// blocks the ones behind it, so people read events in the order they happened; it survives restarts
// because the outbox is in the store.
func (r *Reconciler) deliverLoop(ctx context.Context) {
	if r.opts.Alerts == nil {
		return
	}
	failures := 0
	for {
		wait := time.Duration(0)
		events, err := r.store.Outbox(ctx, 20)
		if err != nil && ctx.Err() == nil {
			r.log.Error("read notification outbox", "err", err)
			wait = 5 * time.Second
		}
		for _, e := range events {
			err := r.opts.Alerts.Notify(ctx, e)
			if err != nil && !errors.Is(err, ErrPermanent) {
				if ctx.Err() != nil {
					return
				}
				failures++
				r.opts.Metrics.DeliveryFailed()
				if failures == 1 {
					r.log.Warn("notification not delivered; it waits in the outbox and is retried", "stack", e.Stack, "kind", string(e.Kind), "err", err)
				}
				wait = min(time.Second<<min(failures-1, 6), time.Minute)
				break
			}
			if err != nil {
				r.log.Error("notification rejected by the receiver; dropped", "stack", e.Stack, "kind", string(e.Kind), "err", err)
			} else if failures > 0 {
				r.log.Info("notifications delivered again", "after_failures", failures)
				failures = 0
			}
			if err := r.store.Ack(context.WithoutCancel(ctx), e.Seq); err != nil {
				r.log.Error("ack notification", "seq", e.Seq, "err", err)
			}
		}
		if wait == 0 && len(events) > 0 {
			continue
		}
		var timer <-chan time.Time
		if wait > 0 {
			timer = time.After(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.outboxWake:
			if wait > 0 {
				// A new event does not cut a backoff short.
				select {
				case <-ctx.Done():
					return
				case <-timer:
				}
			}
		case <-timer:
		}
	}
}
