package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// yamlDoc is one document of a YAML file under deploy/.
type yamlDoc struct {
	path string
	node yaml.Node
}

// decode fills v from the document, failing the test on unknown shapes.
func (d yamlDoc) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, d.node.Decode(v), d.path)
}

// parseYAMLFile decodes every document of a (multi-document) YAML file.
func parseYAMLFile(t *testing.T, path string) []yamlDoc {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []yamlDoc
	for {
		d := yamlDoc{path: rel(t, path)}
		err := dec.Decode(&d.node)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "%s: document %d", rel(t, path), len(docs)+1)
		docs = append(docs, d)
	}
	require.NotEmpty(t, docs, "%s: no YAML document", rel(t, path))
	return docs
}

// k8sMeta is what every Kubernetes object has.
type k8sMeta struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

type deployment struct {
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Strategy struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				TerminationGracePeriodSeconds *int `yaml:"terminationGracePeriodSeconds"`
				SecurityContext               struct {
					RunAsNonRoot *bool `yaml:"runAsNonRoot"`
					RunAsUser    *int  `yaml:"runAsUser"`
				} `yaml:"securityContext"`
				Containers []struct {
					Name  string   `yaml:"name"`
					Args  []string `yaml:"args"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
					EnvFrom []struct {
						SecretRef *struct {
							Name string `yaml:"name"`
						} `yaml:"secretRef"`
					} `yaml:"envFrom"`
					LivenessProbe   *probe `yaml:"livenessProbe"`
					ReadinessProbe  *probe `yaml:"readinessProbe"`
					SecurityContext struct {
						ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
						AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
					} `yaml:"securityContext"`
					Resources struct {
						Requests map[string]string `yaml:"requests"`
						Limits   map[string]string `yaml:"limits"`
					} `yaml:"resources"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name                  string `yaml:"name"`
					PersistentVolumeClaim *struct {
						ClaimName string `yaml:"claimName"`
					} `yaml:"persistentVolumeClaim"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
					EmptyDir *struct{} `yaml:"emptyDir"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// k8sDirs are the directories of Kubernetes manifests: one replica on bbolt, two on PostgreSQL.
var k8sDirs = []string{"kubernetes", "kubernetes-ha"}

// k8sObjects are the Kubernetes documents in deploy/<dir> keyed by "Kind/name", and the file of each.
func k8sObjects(t *testing.T, dir string) (map[string]yamlDoc, map[string]string) {
	t.Helper()
	objs := map[string]yamlDoc{}
	files := map[string]string{}
	paths, err := filepath.Glob(deployPath(t, dir, "*.yaml"))
	require.NoError(t, err)
	for _, path := range paths {
		for _, d := range parseYAMLFile(t, path) {
			var meta k8sMeta
			d.decode(t, &meta)
			require.NotEmpty(t, meta.APIVersion, d.path)
			require.NotEmpty(t, meta.Kind, d.path)
			key := meta.Kind + "/" + meta.Metadata.Name
			require.NotContains(t, objs, key, "%s: %s defined twice", d.path, key)
			objs[key] = d
			files[key] = filepath.Base(path)
		}
	}
	return objs, files
}

func object(t *testing.T, objs map[string]yamlDoc, key string, v any) {
	t.Helper()
	d, ok := objs[key]
	require.True(t, ok, "no %s", key)
	d.decode(t, v)
}

func TestYAMLFilesParse(t *testing.T) {
	files := deployFiles(t, ".yaml", ".yml")
	require.NotEmpty(t, files)
	for _, path := range files {
		parseYAMLFile(t, path)
	}
}

func TestKubernetesDeployment(t *testing.T) {
	objs, _ := k8sObjects(t, "kubernetes")
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	object(t, objs, "ConfigMap/trueup-config", &cm)
	require.Contains(t, cm.Data, "trueup.yaml")
	grace := parseConfigGrace(t, []byte(cm.Data["trueup.yaml"]), "configmap.yaml trueup.yaml")
	var cfg struct {
		DataDir string `yaml:"data_dir"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(cm.Data["trueup.yaml"]), &cfg))
	assert.Equal(t, dataDir, cfg.DataDir, "the data dir is the PersistentVolumeClaim")
	// bbolt in the data dir: one replica only.
	assert.Nil(t, parseStoreConfig(t, []byte(cm.Data["trueup.yaml"]), "kubernetes/configmap.yaml").Postgres,
		"the single-replica config keeps the embedded store")

	var d deployment
	object(t, objs, "Deployment/trueup", &d)
	spec := d.Spec.Template.Spec

	// One trueup per data dir, also during a rollout.
	require.NotNil(t, d.Spec.Replicas)
	assert.Equal(t, 1, *d.Spec.Replicas)
	assert.Equal(t, "Recreate", d.Spec.Strategy.Type)
	assert.Equal(t, d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)

	// The kubelet must not kill trueup while it drains.
	require.NotNil(t, spec.TerminationGracePeriodSeconds)
	assert.Greater(t, time.Duration(*spec.TerminationGracePeriodSeconds)*time.Second, grace,
		"terminationGracePeriodSeconds must outlast shutdown_grace")

	require.NotNil(t, spec.SecurityContext.RunAsNonRoot)
	assert.True(t, *spec.SecurityContext.RunAsNonRoot)
	require.NotNil(t, spec.SecurityContext.RunAsUser)
	assert.Equal(t, trueupUID, *spec.SecurityContext.RunAsUser)

	require.Len(t, spec.Containers, 1)
	c := spec.Containers[0]
	assert.Equal(t, []string{"--config", configPath}, c.Args)
	require.Len(t, c.Ports, 1)
	assert.Equal(t, httpPort, c.Ports[0].ContainerPort)

	require.NotNil(t, c.LivenessProbe)
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	require.NotNil(t, c.ReadinessProbe)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	for _, p := range []*probe{c.LivenessProbe, c.ReadinessProbe} {
		assert.Contains(t, []any{c.Ports[0].Name, httpPort}, p.HTTPGet.Port)
	}

	require.NotNil(t, c.SecurityContext.ReadOnlyRootFilesystem)
	assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	require.NotNil(t, c.SecurityContext.AllowPrivilegeEscalation)
	assert.False(t, *c.SecurityContext.AllowPrivilegeEscalation)

	for _, r := range []map[string]string{c.Resources.Requests, c.Resources.Limits} {
		assert.Equal(t, map[string]string{"cpu": "1", "memory": "2Gi"}, r)
	}

	// Writable: the data PVC and an emptyDir /tmp; the config is the ConfigMap.
	volumes := map[string]string{}
	for _, v := range spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			volumes[v.Name] = "PersistentVolumeClaim/" + v.PersistentVolumeClaim.ClaimName
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
		dataDir:                  "PersistentVolumeClaim/trueup-data",
		filepath.Dir(configPath): "ConfigMap/trueup-config",
		"/tmp":                   "emptyDir",
	}, mounts)
	assert.Contains(t, objs, "PersistentVolumeClaim/trueup-data")

	// Secrets as environment, from the Secret whose example lists exactly trueup's variables.
	require.Len(t, c.EnvFrom, 1)
	require.NotNil(t, c.EnvFrom[0].SecretRef)
	var secret struct {
		StringData map[string]string `yaml:"stringData"`
	}
	object(t, objs, "Secret/"+c.EnvFrom[0].SecretRef.Name, &secret)
	var keys []string
	for k := range secret.StringData {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	assert.Equal(t, secretEnv, keys)
}

func TestKubernetesServiceAndMonitor(t *testing.T) {
	for _, dir := range k8sDirs {
		t.Run(dir, func(t *testing.T) { checkServiceAndMonitor(t, dir) })
	}
}

func checkServiceAndMonitor(t *testing.T, dir string) {
	objs, _ := k8sObjects(t, dir)
	var d deployment
	object(t, objs, "Deployment/trueup", &d)

	var svc struct {
		Metadata struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name       string `yaml:"name"`
				Port       int    `yaml:"port"`
				TargetPort any    `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	object(t, objs, "Service/trueup", &svc)
	for k, v := range svc.Spec.Selector {
		assert.Equal(t, v, d.Spec.Template.Metadata.Labels[k], "the Service selects the trueup pod: %s", k)
	}
	require.Len(t, svc.Spec.Ports, 1)
	assert.Contains(t, []any{"http", httpPort}, svc.Spec.Ports[0].TargetPort)

	var sm struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Endpoints []struct {
				Port string `yaml:"port"`
				Path string `yaml:"path"`
			} `yaml:"endpoints"`
		} `yaml:"spec"`
	}
	object(t, objs, "ServiceMonitor/trueup", &sm)
	for k, v := range sm.Spec.Selector.MatchLabels {
		assert.Equal(t, v, svc.Metadata.Labels[k], "the ServiceMonitor selects the Service: %s", k)
	}
	require.Len(t, sm.Spec.Endpoints, 1)
	assert.Equal(t, svc.Spec.Ports[0].Name, sm.Spec.Endpoints[0].Port)
	assert.Equal(t, "/metrics", sm.Spec.Endpoints[0].Path)
}

func TestKustomization(t *testing.T) {
	for _, dir := range k8sDirs {
		t.Run(dir, func(t *testing.T) { checkKustomization(t, dir) })
	}
}

func checkKustomization(t *testing.T, dir string) {
	var k struct {
		Resources []string `yaml:"resources"`
	}
	docs := parseYAMLFile(t, deployPath(t, dir, "kustomization.yaml"))
	require.Len(t, docs, 1)
	docs[0].decode(t, &k)

	_, files := k8sObjects(t, dir)
	listed := map[string]bool{}
	for _, r := range k.Resources {
		_, err := os.Stat(deployPath(t, dir, r))
		assert.NoError(t, err, "kustomization resource %s", r)
		listed[r] = true
	}
	// Placeholders and one-off jobs (*.example.yaml) are never applied; the ServiceMonitor needs a CRD and is
	// opt-in; everything else is.
	for key, file := range files {
		switch {
		case file == "kustomization.yaml":
		case strings.HasSuffix(file, ".example.yaml"), file == "servicemonitor.yaml":
			assert.False(t, listed[file], "%s must not be in the kustomization", file)
		default:
			assert.True(t, listed[file], "%s (%s) is not in the kustomization", file, key)
		}
	}
}
