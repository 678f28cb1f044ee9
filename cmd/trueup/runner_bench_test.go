package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/terraform"
	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

// BenchmarkRunnerDispatch plans a one-resource stack with the local runner and through a `trueup
// runner` process: the difference per plan is the process executor's dispatch overhead (a fresh
// init in the runner's directory, the tree and the plan file over HTTP, two process starts).
//
//	go test ./cmd/trueup -run '^$' -bench RunnerDispatch -benchtime 10x
func BenchmarkRunnerDispatch(b *testing.B) {
	bin, rc := tftest.Tools(b)
	dataDir := b.TempDir()
	local, err := terraform.New(terraform.Options{Binary: bin, CLIConfigFile: rc, PluginCacheDir: filepath.Join(dataDir, "plugin-cache")})
	require.NoError(b, err)
	cfg := DefaultConfig()
	cfg.Runner.Executor = executorProcess
	cfg.Runner.Process.Binary = opsBinary(b)
	cfg.Terraform.Sandbox = "off"
	d, err := newDispatch(context.Background(), cfg, dataDir, local, nil, slog.New(slog.DiscardHandler))
	require.NoError(b, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	srv := &http.Server{Handler: d.routes}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	d.listening(ln.Addr())

	work := b.TempDir()
	require.NoError(b, os.MkdirAll(filepath.Join(work, "s"), 0o755))
	require.NoError(b, os.WriteFile(filepath.Join(work, "s", "main.tf"), []byte(localStack(b.TempDir(), "s", "v1", "")), 0o644))
	for _, tc := range []struct {
		name   string
		runner reconciler.Runner
	}{{"local", local}, {"process", d.runner}} {
		b.Run(tc.name, func(b *testing.B) {
			spec := reconciler.RunSpec{Stack: reconciler.Stack{Name: "s", Dir: "s", Workspace: "default"}, Workdir: work,
				DataDir: filepath.Join(dataDir, tc.name), StatePath: filepath.Join(dataDir, "state", tc.name, "terraform.tfstate")}
			_, err := tc.runner.Plan(context.Background(), spec) // the local runner's first init
			require.NoError(b, err)
			b.ResetTimer()
			for b.Loop() {
				p, err := tc.runner.Plan(context.Background(), spec)
				require.NoError(b, err)
				require.True(b, p.HasChanges())
			}
		})
	}
}
