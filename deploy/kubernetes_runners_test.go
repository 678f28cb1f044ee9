package deploy_test

import (
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The runner namespace of deploy/kubernetes/runners and the component giving trueup its API token, read as
// someone who wants trueup (or whoever holds its token) to do more than run its Jobs, or a runner pod to
// reach more than trueup and the internet, would.

const (
	runnersDir       = "kubernetes/runners"
	runnersComponent = "kubernetes/runners/daemon"
	// daemonNamespace is the namespace trueup runs in, as the READMEs apply it (-n trueup).
	daemonNamespace = "trueup"
)

// runnerRole is exactly what trueup may do in the runner namespace: "group/resource" -> verbs.
var runnerRole = map[string][]string{
	"batch/jobs": {"create", "delete", "get", "list"},
	"/pods":      {"delete", "list"},
	"/secrets":   {"create", "delete", "get"},
}

// kustomization is the part of a kustomization.yaml the tests read.
type kustomization struct {
	Kind      string   `yaml:"kind"`
	Namespace string   `yaml:"namespace"`
	Resources []string `yaml:"resources"`
	Patches   []struct {
		Path   string `yaml:"path"`
		Target struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"target"`
	} `yaml:"patches"`
	Components []string `yaml:"components"`
}

func readKustomization(t *testing.T, dir string) kustomization {
	t.Helper()
	docs := parseYAMLFile(t, deployPath(t, dir, "kustomization.yaml"))
	require.Len(t, docs, 1)
	var k kustomization
	docs[0].decode(t, &k)
	return k
}

// runnerObjects are the objects the runner kustomization applies, keyed "Kind/name".
func runnerObjects(t *testing.T) (map[string]yamlDoc, kustomization) {
	t.Helper()
	k := readKustomization(t, runnersDir)
	objs := map[string]yamlDoc{}
	for _, r := range k.Resources {
		for _, d := range parseYAMLFile(t, deployPath(t, runnersDir, r)) {
			var meta k8sMeta
			d.decode(t, &meta)
			require.NotEmpty(t, meta.Kind, d.path)
			key := meta.Kind + "/" + meta.Metadata.Name
			require.NotContains(t, objs, key, "%s defined twice", key)
			objs[key] = d
		}
	}
	return objs, k
}

// runnerConfig is the runner: section of runners/trueup-runner.example.yaml.
type runnerConfig struct {
	Executor    string `yaml:"executor"`
	MaxParallel int    `yaml:"max_parallel"`
	CallbackURL string `yaml:"callback_url"`
	Kubernetes  struct {
		Namespace       string            `yaml:"namespace"`
		Image           string            `yaml:"image"`
		ServiceAccounts map[string]string `yaml:"service_accounts"`
		Resources       map[string]any    `yaml:"resources"`
	} `yaml:"kubernetes"`
}

func readRunnerConfig(t *testing.T) (runnerConfig, map[string]any) {
	t.Helper()
	data := readFile(t, deployPath(t, runnersDir, "trueup-runner.example.yaml"))
	var cfg struct {
		Runner runnerConfig `yaml:"runner"`
	}
	require.NoError(t, yaml.Unmarshal(data, &cfg))
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal(data, &raw))
	return cfg.Runner, raw
}

// TestNoClusterWideRBAC: nothing under deploy/ grants anything cluster-wide.
func TestNoClusterWideRBAC(t *testing.T) {
	for _, path := range deployFiles(t, ".yaml", ".yml") {
		for _, d := range parseYAMLFile(t, path) {
			var meta k8sMeta
			d.decode(t, &meta)
			assert.NotContains(t, []string{"ClusterRole", "ClusterRoleBinding"}, meta.Kind, "%s: %s", d.path, meta.Metadata.Name)
		}
	}
}

// TestKubernetesRunnerNamespace: the runner namespace holds runners only, under Pod Security "restricted",
// and the kustomization applies everything that is not an example.
func TestKubernetesRunnerNamespace(t *testing.T) {
	objs, k := runnerObjects(t)
	assert.Equal(t, "trueup-runners", k.Namespace)
	var ns struct {
		Metadata struct {
			Name   string            `yaml:"name"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
	}
	object(t, objs, "Namespace/"+k.Namespace, &ns)
	assert.Equal(t, "restricted", ns.Metadata.Labels["pod-security.kubernetes.io/enforce"],
		"RBAC cannot limit what trueup's Jobs' pods look like: Pod Security must")
	assert.Equal(t, "latest", ns.Metadata.Labels["pod-security.kubernetes.io/enforce-version"])

	// Only what the namespace needs: a Job may name any service account there, and trueup may read any Secret
	// there by name.
	var kinds []string
	for key, d := range objs {
		kind, _, _ := strings.Cut(key, "/")
		kinds = append(kinds, kind)
		var meta struct {
			Metadata struct {
				Namespace string `yaml:"namespace"`
			} `yaml:"metadata"`
		}
		d.decode(t, &meta)
		assert.Contains(t, []string{"", k.Namespace}, meta.Metadata.Namespace, "%s: in the runner namespace", key)
	}
	assert.Subset(t, []string{"Namespace", "ServiceAccount", "Role", "RoleBinding", "NetworkPolicy", "ResourceQuota"}, kinds)
	assert.NotContains(t, kinds, "Secret", "trueup creates each run's Secret; none lives there otherwise")

	// Every manifest is applied, except the examples.
	listed := map[string]bool{}
	for _, r := range k.Resources {
		listed[r] = true
	}
	files, err := filepath.Glob(deployPath(t, runnersDir, "*.yaml"))
	require.NoError(t, err)
	for _, f := range files {
		name := filepath.Base(f)
		if name == "kustomization.yaml" || strings.HasSuffix(name, ".example.yaml") {
			assert.False(t, listed[name], name)
			continue
		}
		assert.True(t, listed[name], "%s is not in the kustomization", name)
	}
}

// TestKubernetesRunnerRole: trueup may do exactly what running its Jobs needs in the runner namespace,
// through a Role bound to its service account, and nothing else anywhere.
func TestKubernetesRunnerRole(t *testing.T) {
	objs, k := runnerObjects(t)
	var roles []string
	for key := range objs {
		if strings.HasPrefix(key, "Role/") {
			roles = append(roles, key)
		}
	}
	require.Len(t, roles, 1, "one Role")

	var role struct {
		Rules []struct {
			APIGroups       []string `yaml:"apiGroups"`
			Resources       []string `yaml:"resources"`
			Verbs           []string `yaml:"verbs"`
			ResourceNames   []string `yaml:"resourceNames"`
			NonResourceURLs []string `yaml:"nonResourceURLs"`
		} `yaml:"rules"`
	}
	object(t, objs, roles[0], &role)
	granted := map[string][]string{}
	for _, r := range role.Rules {
		assert.Empty(t, r.NonResourceURLs)
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					assert.NotContains(t, []string{g, res, v}, "*", "no wildcard")
					granted[g+"/"+res] = append(granted[g+"/"+res], v)
				}
			}
		}
	}
	for k := range granted {
		sort.Strings(granted[k])
	}
	assert.Equal(t, runnerRole, granted, "the Role's grants")
	// Spelled out, for whoever widens it: each of these would let trueup's token do more than run Jobs.
	for res, verbs := range map[string][]string{
		"/pods":                                  {"create", "update", "patch"}, // a pod outside a Job, or changing one
		"/pods/log":                              {"get"},                       // a runner's output: trueup reads termination messages
		"/pods/exec":                             {"create", "get"},
		"/pods/attach":                           {"create", "get"},
		"/pods/portforward":                      {"create", "get"},
		"/secrets":                               {"list", "watch", "update", "patch"}, // every Secret of the namespace
		"/serviceaccounts":                       {"create", "get", "list", "update", "patch"},
		"/serviceaccounts/token":                 {"create"},
		"batch/jobs":                             {"update", "patch", "deletecollection"},
		"batch/cronjobs":                         {"create"},
		"rbac.authorization.k8s.io/roles":        {"create", "update", "patch", "bind", "escalate"},
		"rbac.authorization.k8s.io/rolebindings": {"create", "update", "patch"},
		"networking.k8s.io/networkpolicies":      {"create", "update", "patch", "delete"},
		"/resourcequotas":                        {"update", "patch", "delete"},
	} {
		for _, v := range verbs {
			assert.NotContains(t, granted[res], v, "%s %s", v, res)
		}
	}

	// Bound to trueup's own service account, in trueup's namespace, by a RoleBinding (not a ClusterRole).
	var rb struct {
		RoleRef struct {
			APIGroup string `yaml:"apiGroup"`
			Kind     string `yaml:"kind"`
			Name     string `yaml:"name"`
		} `yaml:"roleRef"`
		Subjects []struct {
			Kind      string `yaml:"kind"`
			Name      string `yaml:"name"`
			Namespace string `yaml:"namespace"`
		} `yaml:"subjects"`
	}
	var bindings []string
	for key := range objs {
		if strings.HasPrefix(key, "RoleBinding/") {
			bindings = append(bindings, key)
		}
	}
	require.Len(t, bindings, 1)
	object(t, objs, bindings[0], &rb)
	assert.Equal(t, "Role", rb.RoleRef.Kind)
	assert.Equal(t, "rbac.authorization.k8s.io", rb.RoleRef.APIGroup)
	assert.Equal(t, strings.TrimPrefix(roles[0], "Role/"), rb.RoleRef.Name)
	require.Len(t, rb.Subjects, 1, "trueup only")
	var d deployment
	base, _ := k8sObjects(t, "kubernetes")
	object(t, base, "Deployment/trueup", &d)
	sa := generic(t, base, "Deployment/trueup")
	assert.Equal(t, "ServiceAccount", rb.Subjects[0].Kind)
	assert.Equal(t, dig(t, sa, "spec", "template", "spec", "serviceAccountName"), rb.Subjects[0].Name, "trueup's service account")
	assert.Equal(t, daemonNamespace, rb.Subjects[0].Namespace)
	assert.NotEqual(t, k.Namespace, rb.Subjects[0].Namespace, "trueup runs outside the runner namespace")
}

// TestKubernetesRunnerServiceAccounts: a plan runner never runs as the apply identity, and no runner pod
// mounts a Kubernetes API token.
func TestKubernetesRunnerServiceAccounts(t *testing.T) {
	objs, k := runnerObjects(t)
	cfg, _ := readRunnerConfig(t)
	accounts := cfg.Kubernetes.ServiceAccounts
	assert.Equal(t, []string{"apply", "plan"}, keysOf(accounts))
	assert.NotEqual(t, accounts["plan"], accounts["apply"], "one identity per purpose")
	assert.Equal(t, k.Namespace, cfg.Kubernetes.Namespace)

	var names []string
	for key := range objs {
		if name, ok := strings.CutPrefix(key, "ServiceAccount/"); ok {
			names = append(names, name)
		}
	}
	assert.ElementsMatch(t, []string{accounts["plan"], accounts["apply"]}, names,
		"the runner namespace holds the runners' accounts and no other (a Job may name any)")
	for _, name := range names {
		var sa struct {
			Metadata struct {
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
		}
		object(t, objs, "ServiceAccount/"+name, &sa)
		require.NotNil(t, sa.AutomountServiceAccountToken, "%s: automountServiceAccountToken is set", name)
		assert.False(t, *sa.AutomountServiceAccountToken, "%s: runner pods mount no API token", name)
		assert.Empty(t, sa.Metadata.Annotations, "%s: an identity is the operator's choice (commented examples only)", name)
	}

	// The commented IRSA examples give plan and apply different roles, and the plan one is read-only.
	text := string(readFile(t, deployPath(t, runnersDir, "serviceaccounts.yaml")))
	roleARN := regexp.MustCompile(`(?m)^\s*#\s*eks\.amazonaws\.com/role-arn:\s*(\S+)`)
	arns := map[string]string{}
	for _, doc := range strings.Split(text, "\n---\n") {
		name := regexp.MustCompile(`(?m)^  name: (\S+)`).FindStringSubmatch(doc)
		require.NotNil(t, name)
		m := roleARN.FindStringSubmatch(doc)
		require.NotNil(t, m, "%s: a commented IRSA example", name[1])
		arns[name[1]] = m[1]
		if name[1] == accounts["plan"] {
			assert.Contains(t, doc, "read-only", "the plan example says its role is read-only")
		}
	}
	assert.NotEqual(t, arns[accounts["plan"]], arns[accounts["apply"]])
	daemonSA := string(readFile(t, deployPath(t, "kubernetes", "serviceaccount.yaml")))
	for name, arn := range arns {
		assert.NotContains(t, daemonSA, arn, "%s: a runner never gets trueup's own role", name)
	}
}

// TestKubernetesRunnerNetworkPolicy: runner pods accept nothing, and reach trueup's port, the cluster DNS and
// HTTPS outside the private and link-local ranges (instance metadata included), nothing else.
func TestKubernetesRunnerNetworkPolicy(t *testing.T) {
	objs, _ := runnerObjects(t)
	var policies []string
	for key := range objs {
		if strings.HasPrefix(key, "NetworkPolicy/") {
			policies = append(policies, key)
		}
	}
	require.Len(t, policies, 1)
	np := generic(t, objs, policies[0])
	spec := dig(t, np, "spec").(map[string]any)
	assert.Empty(t, dig(t, spec, "podSelector"), "every pod of the namespace, labelled or not")
	assert.ElementsMatch(t, []any{"Ingress", "Egress"}, dig(t, spec, "policyTypes"))
	assert.Empty(t, spec["ingress"], "runner pods accept no connection")

	base, _ := k8sObjects(t, "kubernetes")
	var d deployment
	object(t, base, "Deployment/trueup", &d)
	podLabels := d.Spec.Template.Metadata.Labels

	var toTrueup, dns, internet int
	for i, r := range dig(t, spec, "egress").([]any) {
		rule := r.(map[string]any)
		to, _ := rule["to"].([]any)
		ports, _ := rule["ports"].([]any)
		require.NotEmpty(t, to, "egress rule %d: an empty to is every destination", i)
		require.NotEmpty(t, ports, "egress rule %d: no ports is every port", i)
		var portList []string
		for _, p := range ports {
			p := p.(map[string]any)
			portList = append(portList, p["protocol"].(string)+"/"+strings.TrimSpace(yamlScalar(p["port"])))
		}
		sort.Strings(portList)
		for _, peer := range to {
			peer := peer.(map[string]any)
			switch {
			case peer["ipBlock"] != nil:
				internet++
				assert.Equal(t, []string{"TCP/443"}, portList, "the internet: HTTPS only")
				checkOutsideOnly(t, peer["ipBlock"].(map[string]any))
			case dig(t, peer, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") == daemonNamespace:
				toTrueup++
				for k, v := range dig(t, peer, "podSelector", "matchLabels").(map[string]any) {
					assert.Equal(t, v, podLabels[k], "trueup's pods: %s", k)
				}
				assert.Equal(t, []string{"TCP/8080"}, portList, "trueup's port only")
			case dig(t, peer, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") == "kube-system":
				dns++
				assert.Equal(t, map[string]any{"k8s-app": "kube-dns"}, dig(t, peer, "podSelector", "matchLabels"))
				assert.Equal(t, []string{"TCP/53", "UDP/53"}, portList)
			default:
				t.Errorf("egress rule %d: an unexpected peer %v", i, peer)
			}
		}
	}
	assert.Equal(t, [3]int{1, 1, 1}, [3]int{toTrueup, dns, internet}, "trueup, DNS, the internet")
}

func yamlScalar(v any) string {
	out, _ := yaml.Marshal(v)
	return string(out)
}

// checkOutsideOnly: an ipBlock allowing the whole IPv4 internet leaves out the private, shared and
// link-local ranges (other pods, nodes, the instance metadata service).
func checkOutsideOnly(t *testing.T, block map[string]any) {
	t.Helper()
	cidr, err := netip.ParsePrefix(block["cidr"].(string))
	require.NoError(t, err)
	var except []netip.Prefix
	for _, e := range block["except"].([]any) {
		p, err := netip.ParsePrefix(e.(string))
		require.NoError(t, err)
		except = append(except, p)
	}
	excluded := func(addr string) bool {
		a := netip.MustParseAddr(addr)
		if !cidr.Contains(a) {
			return true
		}
		for _, p := range except {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	for _, addr := range []string{
		"169.254.169.254", // instance metadata: the node's role
		"169.254.170.23",  // the EKS Pod Identity agent
		"10.0.0.1", "10.100.0.10", "172.16.0.1", "172.20.0.10", "192.168.1.1", "100.64.0.1",
	} {
		assert.True(t, excluded(addr), "%s is reachable from runner pods", addr)
	}
	for _, addr := range []string{"140.82.112.3", "52.94.133.131", "8.8.8.8"} {
		assert.False(t, excluded(addr), "%s (the internet) is not reachable", addr)
	}
}

// TestKubernetesRunnerConfig: the runner: section points at what the manifests create: trueup's Service,
// the runner namespace and accounts, trueup's image, a parallelism the quota allows.
func TestKubernetesRunnerConfig(t *testing.T) {
	objs, k := runnerObjects(t)
	cfg, raw := readRunnerConfig(t)
	assert.Equal(t, "kubernetes", cfg.Executor)

	// Keys trueup decodes (runner.kubernetes once cmd/trueup has it: the executor is being written).
	section := raw["runner"].(map[string]any)
	fields, _ := configFields(t, "RunnerConfig")
	if _, ok := fields["kubernetes"]; !ok {
		t.Log("cmd/trueup has no runner.kubernetes yet: its keys are not checked")
		section = map[string]any{}
		for key, v := range raw["runner"].(map[string]any) {
			if key != "kubernetes" {
				section[key] = v
			}
		}
	}
	checkConfigKeys(t, "runner", section, "RunnerConfig")

	// callback_url is trueup's Service, by its cluster DNS name, on its port.
	base, _ := k8sObjects(t, "kubernetes")
	svc := generic(t, base, "Service/trueup")
	u, err := url.Parse(cfg.CallbackURL)
	require.NoError(t, err)
	assert.Equal(t, "http", u.Scheme)
	assert.Equal(t, "trueup."+daemonNamespace+".svc", u.Hostname())
	assert.Equal(t, dig(t, svc, "spec", "ports", 0, "port"), mustAtoi(t, u.Port()), "the Service's port")

	// The image trueup's own Deployment runs (the base kustomization's images:).
	var bk struct {
		Images []struct {
			Name    string `yaml:"name"`
			NewName string `yaml:"newName"`
			NewTag  string `yaml:"newTag"`
		} `yaml:"images"`
	}
	docs := parseYAMLFile(t, deployPath(t, "kubernetes", "kustomization.yaml"))
	docs[0].decode(t, &bk)
	require.Len(t, bk.Images, 1)
	assert.Equal(t, bk.Images[0].NewName+":"+bk.Images[0].NewTag, cfg.Kubernetes.Image, "runners run trueup's image: one protocol")

	// The quota admits max_parallel runner pods.
	var quota struct {
		Spec struct {
			Hard map[string]string `yaml:"hard"`
		} `yaml:"spec"`
	}
	object(t, objs, "ResourceQuota/trueup-runners", &quota)
	assert.LessOrEqual(t, cfg.MaxParallel, mustAtoi(t, quota.Spec.Hard["pods"]), "runner.max_parallel above the pod quota")
	assert.Equal(t, k.Namespace, cfg.Kubernetes.Namespace)
	assert.Contains(t, cfg.Kubernetes.Resources, "limits", "a runner pod has limits")
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	require.NoError(t, yaml.Unmarshal([]byte(s), &n), "%q is a number", s)
	return n
}

// TestKubernetesRunnersComponent: the component only lets trueup's pod mount its token; the bases do not
// by default (trueup needs no API access without the kubernetes executor).
func TestKubernetesRunnersComponent(t *testing.T) {
	k := readKustomization(t, runnersComponent)
	assert.Equal(t, "Component", k.Kind)
	assert.Empty(t, k.Resources, "the component adds no object to trueup's namespace")
	require.Len(t, k.Patches, 1)
	assert.Equal(t, "Deployment", k.Patches[0].Target.Kind)
	assert.Equal(t, "trueup", k.Patches[0].Target.Name)
	docs := parseYAMLFile(t, deployPath(t, runnersComponent, k.Patches[0].Path))
	require.Len(t, docs, 1)
	var patch map[string]any
	docs[0].decode(t, &patch)
	assert.Equal(t, map[string]any{"automountServiceAccountToken": true}, dig(t, patch, "spec", "template", "spec"),
		"the patch changes nothing but the token mount")
	assert.Len(t, dig(t, patch, "spec").(map[string]any), 1)
	assert.Len(t, dig(t, patch, "spec", "template").(map[string]any), 1)

	// The example for namespaces that deny ingress by default lets in runners and the other trueup replica
	// (the standby's relay), on trueup's port only.
	ex := parseYAMLFile(t, deployPath(t, runnersComponent, "networkpolicy.example.yaml"))
	require.Len(t, ex, 1)
	var np map[string]any
	ex[0].decode(t, &np)
	assert.Equal(t, []any{"Ingress"}, dig(t, np, "spec", "policyTypes"))
	rules := dig(t, np, "spec", "ingress").([]any)
	require.Len(t, rules, 1)
	assert.Equal(t, []any{map[string]any{"protocol": "TCP", "port": httpPort}}, dig(t, rules[0], "ports"))
	assert.ElementsMatch(t, []any{
		map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "trueup-runners"}}},
		map[string]any{"podSelector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": "trueup"}}},
	}, dig(t, rules[0], "from"))

	for _, dir := range k8sDirs {
		base, _ := k8sObjects(t, dir)
		assert.Equal(t, false, dig(t, generic(t, base, "Deployment/trueup"), "spec", "template", "spec", "automountServiceAccountToken"),
			"%s: no token without the component", dir)
		assert.Empty(t, readKustomization(t, dir).Components, "%s: runners are opt-in", dir)
	}
}

// kubectl is the kubectl binary (TRUEUP_KUBECTL, else on PATH); the test is skipped without one.
func kubectl(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TRUEUP_KUBECTL"); p != "" {
		return p
	}
	p, err := exec.LookPath("kubectl")
	if err != nil {
		skipOrFail(t, "no kubectl (set TRUEUP_KUBECTL; make tools builds one): the kustomizations are not built")
	}
	return p
}

// kustomizeBuild runs kubectl kustomize on dir and returns the objects keyed "Kind/namespace/name".
func kustomizeBuild(t *testing.T, bin, dir string) map[string]map[string]any {
	t.Helper()
	out, err := exec.Command(bin, "kustomize", dir).Output()
	var stderr string
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = string(ee.Stderr)
	}
	require.NoError(t, err, "kubectl kustomize %s: %s", dir, stderr)
	objs := map[string]map[string]any{}
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var m map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &m))
		meta := m["metadata"].(map[string]any)
		ns, _ := meta["namespace"].(string)
		objs[m["kind"].(string)+"/"+ns+"/"+meta["name"].(string)] = m
	}
	return objs
}

// overlay writes a kustomization in a temporary directory using base and components (directories under
// deploy/, by relative path: kustomize refuses absolute ones) and returns its directory.
func overlay(t *testing.T, base string, components ...string) string {
	t.Helper()
	dir := t.TempDir()
	relTo := func(p string) string {
		r, err := filepath.Rel(dir, deployPath(t, p))
		require.NoError(t, err)
		return r
	}
	k := map[string]any{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": []string{relTo(base)}}
	var cs []string
	for _, c := range components {
		cs = append(cs, relTo(c))
	}
	if len(cs) > 0 {
		k["components"] = cs
	}
	data, err := yaml.Marshal(k)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), data, 0o644))
	return dir
}

// TestKubernetesRunnersBuild runs kustomize: the runner namespace's objects all land in it (the
// RoleBinding's subject keeps trueup's namespace), and each base with the component differs from itself
// without it only in the token mount.
func TestKubernetesRunnersBuild(t *testing.T) {
	bin := kubectl(t)
	objs := kustomizeBuild(t, bin, deployPath(t, runnersDir))
	for key, o := range objs {
		if strings.HasPrefix(key, "Namespace/") {
			continue
		}
		assert.Equal(t, "trueup-runners", dig(t, o, "metadata", "namespace"), key)
	}
	rb := objs["RoleBinding/trueup-runners/trueup-runners"]
	require.NotNil(t, rb)
	assert.Equal(t, daemonNamespace, dig(t, rb, "subjects", 0, "namespace"), "kustomize's namespace leaves the subject alone")

	for _, base := range k8sDirs {
		t.Run(base, func(t *testing.T) {
			plain := kustomizeBuild(t, bin, overlay(t, base))
			with := kustomizeBuild(t, bin, overlay(t, base, runnersComponent))
			assert.Equal(t, keysOf(plain), keysOf(with), "the component adds no object")
			d := with["Deployment//trueup"]
			require.NotNil(t, d)
			spec := dig(t, d, "spec", "template", "spec").(map[string]any)
			assert.Equal(t, true, spec["automountServiceAccountToken"])
			spec["automountServiceAccountToken"] = false
			assert.Equal(t, plain["Deployment//trueup"], d, "nothing else of the Deployment changes")
			for key := range plain {
				if key != "Deployment//trueup" {
					assert.Equal(t, plain[key], with[key], key)
				}
			}
		})
	}
}

// skipOrFail skips a test that needs the Kubernetes tools, or fails it under make test
// (TRUEUP_REQUIRE_KUBE=1), where make tools must have built them.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("TRUEUP_REQUIRE_KUBE") == "1" {
		t.Fatal(why)
	}
	t.Skip(why)
}
