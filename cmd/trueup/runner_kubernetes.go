package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/trueup/trueup/reconciler/remote"
	"github.com/trueup/trueup/reconciler/remote/kubernetes"
)

// kubernetesStartTimeout is how long a runner's pod may take to call trueup: scheduled (perhaps
// on a node the cluster adds), its image pulled and started, which takes a minute or two.
const kubernetesStartTimeout = 5 * time.Minute

// KubernetesRunnerConfig is runner.kubernetes: where runner Jobs run on Kubernetes.
type KubernetesRunnerConfig struct {
	// Namespace holds the runners' Jobs, pods and Secrets (a namespace for runners only).
	Namespace string `yaml:"namespace"`
	// Image is the trueup image runners run as `trueup runner`.
	Image string `yaml:"image"`
	// ServiceAccounts are the service accounts per purpose: a plan pod never holds the apply identity.
	ServiceAccounts KubernetesServiceAccounts `yaml:"service_accounts"`
	// Resources are the runner container's requests and limits (Kubernetes quantities).
	Resources KubernetesResources `yaml:"resources"`
	// Kubeconfig is a kubeconfig file; "" for the in-cluster config (trueup's own service account).
	Kubeconfig string `yaml:"kubeconfig"`
	// ActiveDeadline bounds a runner's Job (default 2h); TTLAfterFinished is how long a finished
	// Job stays (default 1h).
	ActiveDeadline   time.Duration `yaml:"active_deadline"`
	TTLAfterFinished time.Duration `yaml:"ttl_after_finished"`
	// Container is the runner container's name (default trueup).
	Container string `yaml:"container"`
}

// KubernetesServiceAccounts are runner.kubernetes.service_accounts.
type KubernetesServiceAccounts struct {
	Plan  string `yaml:"plan"`
	Apply string `yaml:"apply"`
}

// KubernetesResources are runner.kubernetes.resources: quantities by resource name.
type KubernetesResources struct {
	Requests map[string]string `yaml:"requests"`
	Limits   map[string]string `yaml:"limits"`
}

// validateKubernetes checks runner.kubernetes for the kubernetes executor.
func (r RunnerConfig) validateKubernetes() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	k := r.Kubernetes
	dnsName := func(key, v string, check func(string) []string) {
		if msgs := check(v); v != "" && len(msgs) > 0 {
			bad("runner.kubernetes.%s %q is not a valid name: %s", key, v, strings.Join(msgs, "; "))
		}
	}
	if k.Namespace == "" {
		bad("runner.kubernetes.namespace is required with runner.executor: kubernetes")
	}
	dnsName("namespace", k.Namespace, validation.IsDNS1123Label)
	if k.Image == "" || strings.ContainsAny(k.Image, " \t\n") {
		bad("runner.kubernetes.image is required with runner.executor: kubernetes (trueup's image, without spaces), got %q", k.Image)
	}
	if k.ServiceAccounts.Plan == "" || k.ServiceAccounts.Apply == "" {
		bad("runner.kubernetes.service_accounts needs plan and apply (a service account each: a plan pod never holds the apply identity)")
	}
	if k.ServiceAccounts.Plan != "" && k.ServiceAccounts.Plan == k.ServiceAccounts.Apply {
		bad("runner.kubernetes.service_accounts: plan and apply must differ (a plan pod never holds the apply identity)")
	}
	dnsName("service_accounts.plan", k.ServiceAccounts.Plan, validation.IsDNS1123Subdomain)
	dnsName("service_accounts.apply", k.ServiceAccounts.Apply, validation.IsDNS1123Subdomain)
	dnsName("container", k.Container, validation.IsDNS1123Label)
	if _, err := k.Resources.requirements(); err != nil {
		errs = append(errs, err)
	}
	if k.ActiveDeadline < 0 || (k.ActiveDeadline > 0 && k.ActiveDeadline < time.Second) {
		bad("runner.kubernetes.active_deadline must be at least 1s (or unset for 2h), got %s", k.ActiveDeadline)
	}
	if k.TTLAfterFinished < 0 {
		bad("runner.kubernetes.ttl_after_finished must not be negative (unset for 1h), got %s", k.TTLAfterFinished)
	}
	if r.CallbackURL == "" {
		bad("runner.callback_url is required with runner.executor: kubernetes (how pods reach trueup, e.g. http://trueup.trueup.svc:8080)")
	}
	return errs
}

// requirements parses the quantities; a request above its limit is an error, as Kubernetes
// would refuse every Job with it.
func (res KubernetesResources) requirements() (corev1.ResourceRequirements, error) {
	var (
		out  corev1.ResourceRequirements
		errs []string
	)
	parse := func(key string, in map[string]string) corev1.ResourceList {
		if len(in) == 0 {
			return nil
		}
		list := corev1.ResourceList{}
		for _, name := range sortedKeys(in) {
			if msgs := validation.IsQualifiedName(name); len(msgs) > 0 {
				errs = append(errs, fmt.Sprintf("%s: %q is not a resource name", key, name))
				continue
			}
			q, err := resource.ParseQuantity(in[name])
			if err != nil || q.Sign() < 0 {
				errs = append(errs, fmt.Sprintf("%s.%s: %q is not a quantity (500m, 2Gi)", key, name, in[name]))
				continue
			}
			list[corev1.ResourceName(name)] = q
		}
		return list
	}
	out.Requests, out.Limits = parse("requests", res.Requests), parse("limits", res.Limits)
	for name, req := range out.Requests {
		if limit, ok := out.Limits[name]; ok && req.Cmp(limit) > 0 {
			errs = append(errs, fmt.Sprintf("requests.%s %s is above limits.%s %s", name, req.String(), name, limit.String()))
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return out, fmt.Errorf("runner.kubernetes.resources: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// kubernetesExecutor runs runners as Kubernetes Jobs, with trueup's own identity: its service
// account in a cluster, or runner.kubernetes.kubeconfig.
func kubernetesExecutor(cfg Config) (remote.Executor, error) {
	k := cfg.Runner.Kubernetes
	rc, err := kubernetesRESTConfig(k.Kubeconfig)
	if err != nil {
		return nil, err
	}
	client, err := clientset.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("runner.kubernetes: client: %w", err)
	}
	res, err := k.Resources.requirements()
	if err != nil {
		return nil, err
	}
	ex, err := kubernetes.New(client, kubernetes.Options{
		Namespace: k.Namespace, Image: k.Image, Container: k.Container, Resources: res,
		ServiceAccounts:  map[remote.Purpose]string{remote.PurposePlan: k.ServiceAccounts.Plan, remote.PurposeApply: k.ServiceAccounts.Apply},
		ActiveDeadline:   k.ActiveDeadline,
		TTLAfterFinished: k.TTLAfterFinished,
	})
	if err != nil {
		return nil, fmt.Errorf("runner.kubernetes: %w", err)
	}
	return ex, nil
}

// kubernetesRESTConfig is the in-cluster config, or the kubeconfig file's current context.
func kubernetesRESTConfig(kubeconfig string) (*rest.Config, error) {
	var (
		rc  *rest.Config
		err error
	)
	if kubeconfig == "" {
		if rc, err = rest.InClusterConfig(); err != nil {
			return nil, fmt.Errorf("runner.kubernetes: in-cluster config (outside a cluster, set runner.kubernetes.kubeconfig): %w", err)
		}
	} else if rc, err = clientcmd.BuildConfigFromFlags("", kubeconfig); err != nil {
		return nil, fmt.Errorf("runner.kubernetes.kubeconfig: %w", err)
	}
	rc.UserAgent = "trueup/" + version
	return rc, nil
}
