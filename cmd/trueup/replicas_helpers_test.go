package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/cmd/internal/proctree"
	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/api"
	"github.com/trueup/trueup/reconciler/pgstore/pgtest"
)

// replicaTTL is the lease TTL of the replica tests: the shortest trueup accepts, so takeovers are quick.
const replicaTTL = 3 * time.Second

// replicaSet is a PostgreSQL database and the configs of trueup replicas that share it, each with a
// data dir of its own.
type replicaSet struct {
	t    *testing.T
	dsn  string
	work string
	repo string
	env  []string
	// poll is the replicas' poll interval (200ms when zero).
	poll time.Duration
	// stateDSNEnv, when set, is store.postgres.state_dsn_env.
	stateDSNEnv string
}

// newReplicaSet makes a fresh database for replicas following repoURL; extra is more YAML for every
// replica (slack, github, api sections).
func newReplicaSet(t *testing.T, repoURL string, env ...string) *replicaSet {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: real PostgreSQL, binary, git and Terraform")
	}
	dsn := pgtest.Start(t).NewDatabase(t)
	return &replicaSet{t: t, dsn: dsn, work: t.TempDir(), repo: repoURL, env: append([]string{"TRUEUP_DATABASE_URL=" + dsn}, env...)}
}

// start runs replica name (its own data dir and config) with extra YAML.
func (s *replicaSet) start(name, extra string) *opsProcess {
	s.t.Helper()
	return s.startAt(name, "", extra)
}

// startAt is start with the replica listening on listen ("" for a free port).
func (s *replicaSet) startAt(name, listen, extra string) *opsProcess {
	s.t.Helper()
	dir := filepath.Join(s.work, name)
	require.NoError(s.t, os.MkdirAll(dir, 0o700))
	store := fmt.Sprintf("store:\n  postgres:\n    dsn_env: TRUEUP_DATABASE_URL\n    lease_ttl: %s\n", replicaTTL)
	if s.stateDSNEnv != "" {
		store += "    state_dsn_env: " + s.stateDSNEnv + "\n"
	}
	config := opsConfigFile(s.t, dir, s.repo, filepath.Join(dir, "data"), 30*time.Second, store+extra)
	if s.poll != 0 || listen != "" {
		raw, err := os.ReadFile(config)
		require.NoError(s.t, err)
		if s.poll != 0 {
			raw = bytes.Replace(raw, []byte("poll_interval: 200ms"), []byte("poll_interval: "+s.poll.String()), 1)
		}
		if listen != "" {
			raw = bytes.Replace(raw, []byte("listen: 127.0.0.1:0"), []byte("listen: "+listen), 1)
		}
		require.NoError(s.t, os.WriteFile(config, raw, 0o600))
	}
	return opsStartTrueup(s.t, config, s.env...)
}

// leadership is GET base/api/v1/leader, decoded.
func leadership(t *testing.T, base string) api.Leadership {
	t.Helper()
	code, body := opsGet(t, base+"/api/v1/leader")
	require.Equal(t, http.StatusOK, code, body)
	var l api.Leadership
	require.NoError(t, json.Unmarshal([]byte(body), &l), body)
	return l
}

// waitLeading waits until p says it leads, and returns its view of the lease.
func waitLeading(p *opsProcess) api.Leadership {
	p.t.Helper()
	base := p.url()
	var l api.Leadership
	p.waitFor("this replica to lead", func() bool {
		l = leadership(p.t, base)
		return l.Leading
	})
	return l
}

// forward sends req (a signed webhook from githubtest) to base+path and returns the status and body.
func forward(t *testing.T, base, path string, req *http.Request) (int, string) {
	t.Helper()
	body, err := io.ReadAll(req.Body)
	require.NoError(t, err)
	out, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
	require.NoError(t, err)
	out.Header = req.Header.Clone()
	resp, err := http.DefaultClient.Do(out)
	require.NoError(t, err)
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(reply)
}

// stackOnce is GET base/api/v1/stacks/{name}, decoded; false while the replica does not know the
// stack yet (a new leader that has not read the repository).
func stackOnce(t *testing.T, base, name string) (reconciler.StackStatus, bool) {
	t.Helper()
	code, body := opsGet(t, base+"/api/v1/stacks/"+name)
	if code == http.StatusNotFound {
		return reconciler.StackStatus{}, false
	}
	require.Equal(t, http.StatusOK, code, body)
	var s reconciler.StackStatus
	require.NoError(t, json.Unmarshal([]byte(body), &s), body)
	return s, true
}

// crash kills trueup and every process it started, Terraform's own process groups and the shells of
// its provisioners included, with SIGKILL: a container or machine that dies whole.
func (p *opsProcess) crash() {
	proctree.Crash(p.cmd.Process.Pid)
	p.killGroup()
}
