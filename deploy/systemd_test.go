package deploy_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unitFile is a systemd unit: section => key => values in order (keys may repeat).
type unitFile map[string]map[string][]string

// parseUnit reads systemd's INI dialect: [Section] headers, Key=Value, # and ; comments, backslash continuation.
func parseUnit(src string) (unitFile, error) {
	u := unitFile{}
	section := ""
	pending := ""
	for i, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if pending == "" && (line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			pending += strings.TrimSpace(strings.TrimSuffix(line, `\`)) + " "
			continue
		}
		line, pending = pending+line, ""
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			return nil, fmt.Errorf("line %d: not a Key=Value in a section: %q", i+1, line)
		}
		k = strings.TrimSpace(k)
		u[section][k] = append(u[section][k], strings.TrimSpace(v))
	}
	return u, nil
}

// get is the value of key in section, the last one when it repeats (systemd's rule for single-valued keys).
func (u unitFile) get(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// parseTimespan reads a systemd time span: "300", "300s", "5min", "4min 30s", "1h".
func parseTimespan(s string) (time.Duration, error) {
	units := map[string]time.Duration{
		"": time.Second, "s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
		"ms": time.Millisecond, "msec": time.Millisecond,
		"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
		"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
	}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return 0, fmt.Errorf("empty time span")
	}
	var total time.Duration
	for _, f := range fields {
		i := strings.IndexFunc(f, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i < 0 {
			i = len(f)
		}
		n, err := strconv.ParseFloat(f[:i], 64)
		unit, ok := units[f[i:]]
		if err != nil || !ok {
			return 0, fmt.Errorf("bad time span %q", s)
		}
		total += time.Duration(n * float64(unit))
	}
	return total, nil
}

func TestParseTimespan(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"300", 300 * time.Second},
		{"300s", 300 * time.Second},
		{"5min", 5 * time.Minute},
		{"4min 30s", 4*time.Minute + 30*time.Second},
		{"1h", time.Hour},
		{"1.5m", 90 * time.Second},
	}
	for _, tt := range tests {
		got, err := parseTimespan(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"", "infinity", "5 fortnights", "s"} {
		_, err := parseTimespan(bad)
		assert.Error(t, err, bad)
	}
}

func TestParseUnit(t *testing.T) {
	u, err := parseUnit("# c\n[Unit]\nA=1\n; c\n[Service]\nB = x \\\n  y\nB=z\n")
	require.NoError(t, err)
	assert.Equal(t, unitFile{"Unit": {"A": {"1"}}, "Service": {"B": {"x y", "z"}}}, u)
	assert.Equal(t, "z", u.get("Service", "B"))
	_, err = parseUnit("A=1\n")
	assert.Error(t, err, "a key outside a section")
}

func TestSystemdUnit(t *testing.T) {
	src, err := os.ReadFile(deployPath(t, "systemd", "trueup.service"))
	require.NoError(t, err)
	u, err := parseUnit(string(src))
	require.NoError(t, err)

	stop, err := parseTimespan(u.get("Service", "TimeoutStopSec"))
	require.NoError(t, err, "TimeoutStopSec")
	assert.Greater(t, stop, defaultShutdownGrace, "TimeoutStopSec must outlast trueup's shutdown_grace")

	want := map[string]string{
		"User":            "trueup",
		"StateDirectory":  "trueup",
		"EnvironmentFile": "/etc/trueup/env",
		"ExecStart":       "/usr/local/bin/trueup run --config " + configPath,
		"KillSignal":      "SIGTERM",
		// SIGTERM to trueup only; its Terraform children are interrupted by trueup, after the grace.
		"KillMode":        "mixed",
		"Restart":         "on-failure",
		"NoNewPrivileges": "yes",
		"ProtectSystem":   "strict",
		"PrivateTmp":      "yes",
		"ReadWritePaths":  dataDir,
	}
	for k, v := range want {
		assert.Equal(t, v, u.get("Service", k), k)
	}
	assert.Equal(t, []string{"multi-user.target"}, u["Install"]["WantedBy"])

	assert.Equal(t, secretEnv, envFileKeys(t, deployPath(t, "systemd", "env.example")))
}
