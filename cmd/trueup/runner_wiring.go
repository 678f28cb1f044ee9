package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/remote"
	"github.com/trueup/trueup/reconciler/remote/ecs"
	"github.com/trueup/trueup/reconciler/remote/process"
	"github.com/trueup/trueup/reconciler/terraform"
)

// The variables with which the daemon tells a runner it starts about this machine's Terraform.
const (
	envRunnerTerraform   = "TRUEUP_RUNNER_TERRAFORM"
	envRunnerPluginCache = "TRUEUP_RUNNER_PLUGIN_CACHE"
	// envRunnerPrivate lists (colon-separated) directories the sandbox never shows: the data dir.
	envRunnerPrivate = "TRUEUP_RUNNER_PRIVATE"
)

// ecsStartTimeout is how long an ECS task may take to call trueup: Fargate places the task, pulls
// the image and starts it, which takes a minute or two.
const ecsStartTimeout = 5 * time.Minute

// adoptListTimeout bounds listing the runners in flight at start.
const adoptListTimeout = 30 * time.Second

// dispatch is where runs go: the local runner, or a remote one and the routes its runners call.
type dispatch struct {
	runner reconciler.Runner
	// routes serves the runner protocol; nil with the local executor.
	routes http.Handler
	// listening tells the dispatcher the daemon's listen address (the default callback URL).
	listening func(addr net.Addr)
	// replicated is set with runners and two replicas: the relay to the leader and the adoption
	// each term as leader starts with.
	replicated *replicatedRunners
}

// replicatedRunners is what runners need on a replica that shares its store.
type replicatedRunners struct {
	ctx    context.Context
	cfg    RunnerConfig
	remote *remote.Runner
	relay  *runnerRelay
	peers  runnerPeers
	log    *slog.Logger
	self   string
}

// bind makes the relay follow the replica's elector, and each of its terms as leader start by
// adopting the runners in flight (the previous leader's) and end by abandoning those it did not
// claim, for the next leader.
func (d *dispatch) bind(rep *replica) {
	if d.replicated == nil {
		return
	}
	rr := d.replicated
	rr.self = rep.elector.State().Self
	rr.relay.follow(rep.elector.State)
	rep.term = func(ctx context.Context, epoch int64) func() {
		adoptInFlight(ctx, rr.remote, rr.log)
		rr.relay.ready(epoch)
		return rr.remote.Abandon
	}
}

// advertise records where this replica answers, once the listen address is known.
func (rr *replicatedRunners) advertise(addr net.Addr) {
	if rr.self == "" {
		return
	}
	go advertise(rr.ctx, rr.peers, rr.self, advertiseURL(rr.cfg.AdvertiseURL, addr), rr.log)
}

// newDispatch applies runner.executor over the local Terraform runner.
//
// With peers (store.postgres) runners may be adopted by the next leader: the adoption key is the
// store's, adoption waits for each term as leader (bind), and runners' calls that reach the
// standby are relayed to the leader. Runners then never share the data dir: stacks without a
// backend keep their state in PostgreSQL, which runners are not given.
func newDispatch(ctx context.Context, cfg Config, dataDir string, local *terraform.Runner, peers runnerPeers, log *slog.Logger) (*dispatch, error) {
	var (
		ex     remote.Executor
		shared bool
		err    error
	)
	switch cfg.Runner.Executor {
	case executorProcess:
		ex, err = processExecutor(cfg, dataDir, local)
		shared = true
	case executorECS:
		ex, err = ecsExecutor(ctx, cfg)
	case executorKubernetes:
		ex, err = kubernetesExecutor(cfg)
	default:
		return &dispatch{runner: local, listening: func(net.Addr) {}}, nil
	}
	if err != nil {
		return nil, err
	}
	if peers != nil {
		shared = false
	}
	u := &callbackURL{url: strings.TrimRight(cfg.Runner.CallbackURL, "/")}
	var startTimeout time.Duration // the default: a process starts in moments
	switch cfg.Runner.Executor {
	case executorECS:
		startTimeout = ecsStartTimeout
	case executorKubernetes:
		startTimeout = kubernetesStartTimeout
	}
	key, err := runnerAdoptionKey(ctx, dataDir, peers)
	if err != nil {
		return nil, err
	}
	r, err := remote.New(remote.Options{
		AdoptKey: key, SpoolDir: filepath.Join(dataDir, "runner-spool"),
		Executor: ex, URL: u.get, MaxParallel: cfg.Runner.MaxParallel, SharedFilesystem: shared, StartTimeout: startTimeout,
		PassMain: cfg.Terraform.PassEnv.Main, PassPlans: cfg.Terraform.PassEnv.Plans,
		Terraform: remote.JobTerraform{LockTimeoutMillis: cfg.Terraform.LockTimeout.Milliseconds(), Sandbox: cfg.Terraform.Sandbox,
			SandboxReadOnly: cfg.Terraform.SandboxReadOnly},
		Logger: log,
	})
	if err != nil {
		return nil, err
	}
	log.Info("Terraform runs in trueup runners", "executor", cfg.Runner.Executor, "max_parallel", cfg.Runner.MaxParallel)
	if peers == nil {
		adoptInFlight(ctx, r, log)
		return &dispatch{runner: r, routes: r.Handler(), listening: u.listening}, nil
	}
	rr := &replicatedRunners{ctx: ctx, cfg: cfg.Runner, remote: r, relay: newRunnerRelay(r.Handler(), peers, log), peers: peers, log: log}
	d := &dispatch{runner: r, routes: rr.relay, replicated: rr}
	d.listening = func(addr net.Addr) {
		u.listening(addr)
		rr.advertise(addr)
	}
	return d, nil
}

// processExecutor runs `trueup runner` as a child process, told where this machine's Terraform is.
func processExecutor(cfg Config, dataDir string, local *terraform.Runner) (remote.Executor, error) {
	bin := cfg.Runner.Process.Binary
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("runner.executor process: find trueup's executable: %w", err)
		}
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("runner.process.binary: %w", err)
	}
	home, _ := os.UserHomeDir()
	env := map[string]string{
		envRunnerTerraform:   local.Binary(),
		envRunnerPluginCache: filepath.Join(dataDir, "plugin-cache"),
		envRunnerPrivate:     strings.Join([]string{dataDir, home}, ":"),
	}
	if rc := local.CLIConfig(); rc != "" {
		env["TF_CLI_CONFIG_FILE"] = rc
	}
	return &process.Executor{Binary: bin, Args: []string{"runner"}, Env: env}, nil
}

// ecsExecutor runs runners as ECS tasks, with trueup's own AWS identity (AWS_ENDPOINT_URL_ECS is
// honoured).
func ecsExecutor(ctx context.Context, cfg Config) (remote.Executor, error) {
	awsCfg, err := loadAWSConfig(ctx, cfg.AWS.Region)
	if err != nil {
		return nil, err
	}
	e := cfg.Runner.ECS
	ex, err := ecs.New(awsecs.NewFromConfig(awsCfg), ecs.Options{
		Cluster: e.Cluster, Subnets: e.Subnets, SecurityGroups: e.SecurityGroups, AssignPublicIP: e.AssignPublicIP, Container: e.Container,
		TaskDefinitions: map[remote.Purpose]string{remote.PurposePlan: e.TaskDefinitions.Plan, remote.PurposeApply: e.TaskDefinitions.Apply},
	})
	if err != nil {
		return nil, fmt.Errorf("runner.ecs: %w", err)
	}
	return ex, nil
}

// callbackURL is runner.callback_url, or the listen address once it is known.
type callbackURL struct {
	mu  sync.Mutex
	url string
}

func (c *callbackURL) get() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.url
}

// listening sets the URL from the listen address unless runner.callback_url set it: an
// unspecified address (":8080") is reached on the loopback interface.
func (c *callbackURL) listening(addr net.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.url != "" {
		return
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	c.url = "http://" + net.JoinHostPort(host, port)
}
