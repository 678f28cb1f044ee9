package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper case: FROM, RUN, ...
	Args string
	Line int    // of the first line
	Raw  string // Args before ARG expansion (set by stages)
}

// stage is the instructions from one FROM up to the next, ARGs expanded.
type stage struct {
	From         string // image, ARGs expanded
	Name         string // after AS, or ""
	Instructions []instruction
}

// parseDockerfile splits a Dockerfile into instructions: comment lines are dropped (also inside a continued
// instruction, as Docker does), lines ending in a backslash continue on the next. Heredocs and the escape
// directive are not supported; the Dockerfile does not use them.
func parseDockerfile(src string) ([]instruction, error) {
	var out []instruction
	var cur *instruction
	for i, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || trimmed == "" {
			continue // Docker also drops empty lines inside a continued instruction
		}
		cont := strings.HasSuffix(trimmed, `\`)
		text := strings.TrimSpace(strings.TrimSuffix(trimmed, `\`))
		if cur == nil {
			cmd, args, _ := strings.Cut(text, " ")
			if !regexp.MustCompile(`^[A-Za-z]+$`).MatchString(cmd) {
				return nil, fmt.Errorf("line %d: not an instruction: %q", i+1, cmd)
			}
			cur = &instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: i + 1}
		} else if text != "" {
			cur.Args = strings.TrimSpace(cur.Args + " " + text)
		}
		if !cont {
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: continuation at end of file", cur.Line)
	}
	return out, nil
}

// stages groups instructions by FROM and expands ${ARG} and $ARG with the ARG defaults in scope: global ARGs
// (before the first FROM) in FROM lines, and in a stage those it declares (inheriting the global default).
func stages(instrs []instruction) []stage {
	global := map[string]string{}
	var out []stage
	var scope map[string]string
	expand := func(s string, vars map[string]string) string {
		return os.Expand(s, func(k string) string {
			if v, ok := vars[k]; ok {
				return v
			}
			return "$" + k // a shell variable at run time
		})
	}
	for _, in := range instrs {
		switch {
		case in.Cmd == "FROM":
			f := strings.Fields(expand(in.Args, global))
			s := stage{}
			if len(f) > 0 {
				s.From = f[0]
			}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.Name = f[2]
			}
			out = append(out, s)
			scope = map[string]string{}
		case in.Cmd == "ARG":
			name, def, hasDef := strings.Cut(in.Args, "=")
			if scope == nil {
				global[name] = def
				continue
			}
			if hasDef {
				scope[name] = expand(def, scope)
			} else if v, ok := global[name]; ok {
				scope[name] = v
			}
		case scope != nil:
			in.Raw, in.Args = in.Args, expand(in.Args, scope)
			out[len(out)-1].Instructions = append(out[len(out)-1].Instructions, in)
		}
	}
	return out
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.Instructions {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// last is the stage's last cmd instruction, the one in effect.
func (s stage) last(t *testing.T, cmd string) instruction {
	t.Helper()
	all := s.all(cmd)
	require.NotEmpty(t, all, "stage %q has no %s", s.Name, cmd)
	return all[len(all)-1]
}

func (s stage) runs() string {
	var b strings.Builder
	for _, in := range s.all("RUN") {
		b.WriteString(in.Args + "\n")
	}
	return b.String()
}

func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var argv []string
	require.NoError(t, json.Unmarshal([]byte(in.Args), &argv), "line %d: %s must be in exec (JSON) form", in.Line, in.Cmd)
	return argv
}

func TestParseDockerfile(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []instruction
	}{
		{"simple", "FROM a\nRUN b\n", []instruction{{"FROM", "a", 1, ""}, {"RUN", "b", 2, ""}}},
		{"comments and blank lines", "# c\n\nfrom a AS b\n  # c2\n", []instruction{{"FROM", "a AS b", 3, ""}}},
		{"continuation", "RUN a \\\n  && b \\\n  && c\nUSER x", []instruction{{"RUN", "a && b && c", 1, ""}, {"USER", "x", 4, ""}}},
		{"comment inside continuation", "RUN a \\\n# skipped\n && b\n", []instruction{{"RUN", "a && b", 1, ""}}},
		{"blank line inside continuation", "RUN a \\\n\n && b\n", []instruction{{"RUN", "a && b", 1, ""}}},
		{"exec form", `CMD ["x", "y"]`, []instruction{{"CMD", `["x", "y"]`, 1, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDockerfile(tt.src)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	for _, bad := range []string{"RUN a \\\n", "--x\n"} {
		_, err := parseDockerfile(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestStagesExpandArgs(t *testing.T) {
	instrs, err := parseDockerfile("ARG V=1\nARG G=go\nFROM ${G}:x AS b\nARG V\nARG W=$V-w\nRUN echo ${V} $W $HOME\nFROM d\nRUN echo $V\n")
	require.NoError(t, err)
	got := stages(instrs)
	require.Len(t, got, 2)
	assert.Equal(t, stage{From: "go:x", Name: "b", Instructions: []instruction{{"RUN", "echo 1 1-w $HOME", 6, "echo ${V} $W $HOME"}}}, got[0])
	assert.Equal(t, stage{From: "d", Instructions: []instruction{{"RUN", "echo $V", 8, "echo $V"}}}, got[1])
}

// makefileTFVersion is TF_VERSION from the Makefile: the Terraform the tests and `make tools` use.
func makefileTFVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "Makefile"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^TF_VERSION\s*:?=\s*(\S+)`).FindSubmatch(data)
	require.NotNil(t, m, "TF_VERSION in the Makefile")
	return string(m[1])
}

func TestDockerfile(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	require.NoError(t, err)
	instrs, err := parseDockerfile(string(src))
	require.NoError(t, err)
	st := stages(instrs)
	require.GreaterOrEqual(t, len(st), 2, "multi-stage")

	build := st[0]
	assert.Equal(t, "build", build.Name)
	assert.True(t, strings.HasPrefix(build.From, "golang:"), build.From)
	runs := build.runs()
	assert.Contains(t, runs, "go install", "Terraform is built from source")
	assert.Contains(t, runs, "github.com/hashicorp/terraform@v"+makefileTFVersion(t), "the Makefile's Terraform")
	var raw string
	for _, in := range build.all("RUN") {
		raw += in.Raw + "\n"
	}
	assert.Regexp(t, `go build -trimpath -ldflags "[^"]*-X main\.version=\$\{?VERSION\}?[^"]*-X main\.commit=\$\{?COMMIT\}?`, raw)
	assert.Regexp(t, `\./cmd/trueup\b`, runs)
	var env string
	for _, in := range build.all("ENV") {
		env += in.Args + " "
	}
	assert.Contains(t, env, "CGO_ENABLED=0")

	final := st[len(st)-1]
	assert.Regexp(t, `^debian:[a-z]+-slim$`, final.From)
	finalRuns := final.runs()
	for _, pkg := range []string{"git", "ca-certificates", "openssh-client", "bubblewrap"} {
		assert.Regexp(t, `apt-get install [^&]*\b`+pkg+`\b`, finalRuns)
	}
	assert.Contains(t, finalRuns, "rm -rf /var/lib/apt/lists/*")
	assert.Contains(t, finalRuns, "--uid 10001")

	var copied []string
	for _, in := range final.all("COPY") {
		if strings.HasPrefix(in.Args, "--from="+build.Name+" ") {
			copied = append(copied, strings.Fields(in.Args)[1:]...)
		}
	}
	assert.Subset(t, copied, []string{"/out/trueup", "/out/terraform"})

	user := final.last(t, "USER").Args
	uid, _, _ := strings.Cut(user, ":")
	assert.NotContains(t, []string{"root", "0", ""}, uid, "non-root USER")
	assert.Equal(t, strconv.Itoa(trueupUID), uid)

	assert.Equal(t, []string{"/usr/local/bin/trueup", "run"}, execForm(t, final.last(t, "ENTRYPOINT")))
	assert.Equal(t, []string{"--config", configPath}, execForm(t, final.last(t, "CMD")))
	assert.Contains(t, strings.Fields(final.last(t, "EXPOSE").Args), strconv.Itoa(httpPort))
	assert.Equal(t, []string{dataDir}, execForm(t, final.last(t, "VOLUME")))

	// The probe runs inside the image: what it calls must be installed.
	hc := final.last(t, "HEALTHCHECK").Args
	assert.Contains(t, hc, "/healthz")
	if strings.Contains(hc, "curl") {
		assert.Regexp(t, `apt-get install [^&]*\bcurl\b`, finalRuns)
	}
}

func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), ".dockerignore"))
	require.NoError(t, err)
	patterns := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns[strings.TrimPrefix(line, "/")] = true
		}
	}
	for _, p := range []string{".git", ".tools", "bin", ".bench"} {
		assert.True(t, patterns[p], "%s is excluded", p)
	}
	for _, p := range []string{"go.mod", "go.sum", "cmd", "*", "*.go", "**/*.go"} {
		assert.False(t, patterns[p], "%s must reach the build", p)
	}
}
