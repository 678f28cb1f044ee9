package gitlab

import "time"

// SetStatusRetryWait shortens the wait before a status is sent again after a 409, until restore.
func SetStatusRetryWait(d time.Duration) (restore func()) {
	old := statusRetryWait
	statusRetryWait = d
	return func() { statusRetryWait = old }
}
