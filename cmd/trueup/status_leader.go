package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/trueup/trueup/reconciler/api"
)

// printLeader writes which replica leads, when the daemon runs as one of several replicas. A daemon
// that does not answer /api/v1/leader (an older one) prints nothing: the table follows as before.
func printLeader(ctx context.Context, c *apiClient, w io.Writer) error {
	raw, err := c.get(ctx, "/api/v1/leader")
	if err != nil {
		return nil
	}
	var l api.Leadership
	if json.Unmarshal(raw, &l) != nil || !l.Replicated {
		return nil
	}
	_, err = io.WriteString(w, leaderLine(l)+"\n\n")
	return err
}

// leaderLine says, for people, which replica leads and how this one sees it.
func leaderLine(l api.Leadership) string {
	role := "standby"
	if l.Leading {
		role = "leader"
	}
	line := fmt.Sprintf("replica %s: %s", printable(l.Self, false), role)
	switch {
	case l.Error != "":
		return line + "; the lease cannot be read (" + l.Error + ")"
	case l.Leader == "":
		return line + "; no replica has led yet"
	}
	age := (time.Duration(l.LeaseAgeSeconds * float64(time.Second))).Round(time.Second)
	if l.Leading {
		return fmt.Sprintf("%s (epoch %d, lease renewed %s ago)", line, l.Epoch, age)
	}
	return fmt.Sprintf("%s; leader %s (epoch %d, lease renewed %s ago)", line, printable(l.Leader, false), l.Epoch, age)
}
