package deploy_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// generic decodes a document into maps, for comparing whole parts of two manifests.
func generic(t *testing.T, objs map[string]yamlDoc, key string) map[string]any {
	t.Helper()
	var m map[string]any
	object(t, objs, key, &m)
	return m
}

// dig follows keys (and, for an int, a list index) through generic YAML, failing the test on a missing step.
func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for i, p := range path {
		switch p := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			require.True(t, ok, "%v: not a map at %v", path, path[:i])
			v, ok = m[p]
			require.True(t, ok, "%v: no %s", path, p)
		case int:
			l, ok := v.([]any)
			require.True(t, ok && p < len(l), "%v: no item %d", path, p)
			v = l[p]
		}
	}
	return v
}

func TestKubernetesHADeployment(t *testing.T) {
	objs, _ := k8sObjects(t, "kubernetes-ha")
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	object(t, objs, "ConfigMap/trueup-config", &cm)
	conf := []byte(cm.Data["trueup.yaml"])
	p := parseStoreConfig(t, conf, "kubernetes-ha/configmap.yaml").Postgres
	require.NotNil(t, p, "two replicas need store.postgres: bbolt is one replica per data dir")
	assert.Equal(t, dsnEnv, p.DSNEnv)

	var d deployment
	object(t, objs, "Deployment/trueup", &d)
	spec := d.Spec.Template.Spec
	require.NotNil(t, d.Spec.Replicas)
	assert.Equal(t, 2, *d.Spec.Replicas)
	assert.Equal(t, d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)

	// Rolling, never below two ready pods: a standby is there whenever a leader stops.
	dep := generic(t, objs, "Deployment/trueup")
	assert.Equal(t, "RollingUpdate", dig(t, dep, "spec", "strategy", "type"))
	assert.Equal(t, 0, dig(t, dep, "spec", "strategy", "rollingUpdate", "maxUnavailable"))
	assert.Equal(t, 1, dig(t, dep, "spec", "strategy", "rollingUpdate", "maxSurge"))

	// The kubelet must not kill a leader while it drains and releases its lease.
	grace := parseConfigGrace(t, conf, "kubernetes-ha/configmap.yaml")
	require.NotNil(t, spec.TerminationGracePeriodSeconds)
	assert.Greater(t, time.Duration(*spec.TerminationGracePeriodSeconds)*time.Second, grace)

	// One pod per zone, as a hard rule, over the pods of this Deployment.
	zone := false
	for _, c := range dig(t, dep, "spec", "template", "spec", "topologySpreadConstraints").([]any) {
		c := c.(map[string]any)
		if c["topologyKey"] != "topology.kubernetes.io/zone" {
			continue
		}
		zone = true
		assert.Equal(t, "DoNotSchedule", c["whenUnsatisfiable"])
		assert.Equal(t, 1, c["maxSkew"])
		for k, v := range dig(t, c, "labelSelector", "matchLabels").(map[string]any) {
			assert.Equal(t, v, d.Spec.Template.Metadata.Labels[k], "the zone spread counts trueup's pods: %s", k)
		}
	}
	assert.True(t, zone, "a topology spread constraint across zones")

	// A drain takes one pod at a time.
	pdb := generic(t, objs, "PodDisruptionBudget/trueup")
	assert.Equal(t, 1, dig(t, pdb, "spec", "minAvailable"))
	assert.NotContains(t, dig(t, pdb, "spec").(map[string]any), "maxUnavailable")
	for k, v := range dig(t, pdb, "spec", "selector", "matchLabels").(map[string]any) {
		assert.Equal(t, v, d.Spec.Template.Metadata.Labels[k], "the PodDisruptionBudget selects trueup's pods: %s", k)
	}

	// The data dir is each pod's own emptyDir, inside it a directory trueup creates; no shared volume.
	require.Len(t, spec.Containers, 1)
	c := spec.Containers[0]
	volumes := map[string]string{}
	for _, v := range spec.Volumes {
		assert.Nil(t, v.PersistentVolumeClaim, "volume %s: no shared volume", v.Name)
		switch {
		case v.ConfigMap != nil:
			volumes[v.Name] = "ConfigMap/" + v.ConfigMap.Name
		case v.EmptyDir != nil:
			volumes[v.Name] = "emptyDir"
		}
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = volumes[m.Name]
	}
	assert.Equal(t, map[string]string{
		dataDir:       "emptyDir",
		"/etc/trueup": "ConfigMap/trueup-config",
		"/tmp":        "emptyDir",
	}, mounts)
	var cfg struct {
		DataDir string `yaml:"data_dir"`
	}
	require.NoError(t, yaml.Unmarshal(conf, &cfg))
	assert.True(t, strings.HasPrefix(cfg.DataDir, dataDir+"/"), "data_dir %q: a directory trueup creates in the emptyDir", cfg.DataDir)
	for key := range objs {
		assert.False(t, strings.HasPrefix(key, "PersistentVolumeClaim/"), "%s: the data dir is a cache", key)
	}

	// The DSN only from a Secret, under the name the config references; the other secrets as in one replica.
	container := dig(t, dep, "spec", "template", "spec", "containers", 0).(map[string]any)
	var dsn map[string]any
	for _, e := range dig(t, container, "env").([]any) {
		if e := e.(map[string]any); e["name"] == dsnEnv {
			dsn = e
		}
	}
	require.NotNil(t, dsn, "the container gets %s", dsnEnv)
	assert.NotContains(t, dsn, "value", "the DSN is never written in a manifest")
	ref := dig(t, dsn, "valueFrom", "secretKeyRef").(map[string]any)
	var dbSecret struct {
		StringData map[string]string `yaml:"stringData"`
	}
	object(t, objs, "Secret/"+ref["name"].(string), &dbSecret)
	assert.Contains(t, dbSecret.StringData, ref["key"])

	require.Len(t, c.EnvFrom, 1)
	require.NotNil(t, c.EnvFrom[0].SecretRef)
	var secret struct {
		StringData map[string]string `yaml:"stringData"`
	}
	object(t, objs, "Secret/"+c.EnvFrom[0].SecretRef.Name, &secret)
	var names []string
	for k := range secret.StringData {
		names = append(names, k)
	}
	sort.Strings(names)
	assert.Equal(t, secretEnv, names)
}

// TestKubernetesHAMatchesSingle: two replicas run each pod exactly as the single-replica manifests run theirs.
func TestKubernetesHAMatchesSingle(t *testing.T) {
	one, _ := k8sObjects(t, "kubernetes")
	two, _ := k8sObjects(t, "kubernetes-ha")
	a, b := generic(t, one, "Deployment/trueup"), generic(t, two, "Deployment/trueup")
	for _, path := range [][]any{
		{"spec", "template", "spec", "securityContext"},
		{"spec", "template", "spec", "terminationGracePeriodSeconds"},
		{"spec", "template", "spec", "serviceAccountName"},
		{"spec", "template", "spec", "automountServiceAccountToken"},
		{"spec", "template", "spec", "containers", 0, "securityContext"},
		{"spec", "template", "spec", "containers", 0, "livenessProbe"},
		{"spec", "template", "spec", "containers", 0, "readinessProbe"},
		{"spec", "template", "spec", "containers", 0, "resources"},
		{"spec", "template", "spec", "containers", 0, "ports"},
		{"spec", "template", "spec", "containers", 0, "args"},
	} {
		assert.Equal(t, dig(t, a, path...), dig(t, b, path...), "%v", path)
	}
	for _, key := range []string{"Service/trueup", "ServiceAccount/trueup", "ServiceMonitor/trueup"} {
		assert.Equal(t, generic(t, one, key), generic(t, two, key), key)
	}

	// Both configs run the same trueup, but for the store and the data dir.
	var c1, c2 map[string]any
	for dir, c := range map[string]*map[string]any{"kubernetes": &c1, "kubernetes-ha": &c2} {
		objs := one
		if dir == "kubernetes-ha" {
			objs = two
		}
		var cm struct {
			Data map[string]string `yaml:"data"`
		}
		object(t, objs, "ConfigMap/trueup-config", &cm)
		require.NoError(t, yaml.Unmarshal([]byte(cm.Data["trueup.yaml"]), c))
	}
	for _, k := range []string{"store", "data_dir"} {
		delete(c1, k)
		delete(c2, k)
	}
	assert.Equal(t, c1, c2)
}
