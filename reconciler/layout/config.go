package layout

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/trueup/trueup/reconciler"
)

// ConfigFile is the repository file that lists the stacks explicitly.
const ConfigFile = ".trueup.yaml"

// fileConfig is the schema of .trueup.yaml. Decoding is strict: unknown keys are errors.
type fileConfig struct {
	Version *int         `yaml:"version"`
	Stacks  []stackEntry `yaml:"stacks"`
}

type stackEntry struct {
	Dir          string        `yaml:"dir"`
	Workspace    string        `yaml:"workspace"`
	WhenModified []string      `yaml:"when_modified"`
	VarFiles     []string      `yaml:"var_files"`
	Drift        *driftEntry   `yaml:"drift"`
	AWS          *awsEntry     `yaml:"aws"`
	OnApply      *onApplyEntry `yaml:"on_apply"`
}

type driftEntry struct {
	Interval     *string `yaml:"interval"`
	Remediate    *string `yaml:"remediate"`
	AllowDestroy *bool   `yaml:"allow_destroy"`
	MaxChanges   *int    `yaml:"max_changes"`
}

type awsEntry struct {
	RoleARN         string `yaml:"role_arn"`
	BranchRoleARN   string `yaml:"branch_role_arn"`
	ApplyRoleARN    string `yaml:"apply_role_arn"`
	ExternalID      string `yaml:"external_id"`
	Region          string `yaml:"region"`
	SessionDuration string `yaml:"session_duration"`
}

type onApplyEntry struct {
	ECSRedeploy *ecsRedeployEntry `yaml:"ecs_redeploy"`
	Webhook     *webhookEntry     `yaml:"webhook"`
}

// ecsRedeployEntry forces a new deployment of one ECS service.
type ecsRedeployEntry struct {
	Cluster string `yaml:"cluster"`
	Service string `yaml:"service"`
}

// webhookEntry is called after an apply; its URL is read from the environment variable URLEnv
// (URLs often carry secrets, so they stay out of the repository).
type webhookEntry struct {
	URLEnv string `yaml:"url_env"`
}

// hooks is the entry as the stack's reconciler.OnApply; nil fields stay nil.
func (e *onApplyEntry) hooks() reconciler.OnApply {
	var o reconciler.OnApply
	if e.ECSRedeploy != nil {
		o.ECSRedeploy = &reconciler.ECSRedeploy{Cluster: e.ECSRedeploy.Cluster, Service: e.ECSRedeploy.Service}
	}
	if e.Webhook != nil {
		o.Webhook = &reconciler.WebhookHook{URLEnv: e.Webhook.URLEnv}
	}
	return o
}

// parsedConfig is a decoded .trueup.yaml with the YAML tree kept for error positions.
type parsedConfig struct {
	cfg  fileConfig
	root *yaml.Node // the document's top mapping, nil for an empty document
}

// parseConfig decodes .trueup.yaml strictly. Every unknown or mistyped key is reported, each
// as ".trueup.yaml:<line>: <path>: <problem>", joined into one error.
func parseConfig(data []byte) (*parsedConfig, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", ConfigFile, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	p := &parsedConfig{}
	if len(doc.Content) == 0 {
		return p, nil
	}
	p.root = doc.Content[0]
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&p.cfg)
	if errors.Is(err, io.EOF) {
		return p, nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, 0, len(te.Errors))
		for _, msg := range te.Errors {
			errs = append(errs, p.typeError(msg))
		}
		return nil, errors.Join(errs...)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ConfigFile, err)
	}
	return p, nil
}

var (
	lineMsg      = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	cannotDecode = regexp.MustCompile("^cannot unmarshal (\\S+)(?: `(.*)`)? into (\\S+)$")
)

// typeError rewrites one of yaml's "line N: ..." messages to name the key by its path.
func (p *parsedConfig) typeError(msg string) error {
	m := lineMsg.FindStringSubmatch(msg)
	if m == nil {
		return fmt.Errorf("%s: %s", ConfigFile, msg)
	}
	line, _ := strconv.Atoi(m[1])
	text := m[2]
	key, collection := "", false
	if u := unknownField.FindStringSubmatch(text); u != nil {
		key = u[1]
		text = "unknown key"
	} else if c := cannotDecode.FindStringSubmatch(text); c != nil {
		switch c[1] {
		case "!!seq":
			collection = true
			text = "cannot use a list here: want " + goTypeWord(c[3])
		case "!!map":
			collection = true
			text = "cannot use a mapping here: want " + goTypeWord(c[3])
		default:
			text = fmt.Sprintf("cannot use %q here: want %s", c[2], goTypeWord(c[3]))
		}
	}
	if where := findPath(p.root, "", line, key, collection); where != "" {
		return fmt.Errorf("%s:%d: %s: %s", ConfigFile, line, where, text)
	}
	return fmt.Errorf("%s:%d: %s", ConfigFile, line, text)
}

// goTypeWord turns a Go type from yaml's message into a word a config author understands.
func goTypeWord(t string) string {
	t = strings.TrimLeft(t, "*")
	switch {
	case t == "string":
		return "a string"
	case t == "int":
		return "an integer"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	default:
		return "a mapping"
	}
}

// findPath returns the dotted path ("stacks[2].drift.remediate") of the mapping key on line
// (named key, when key is set) or of the value or list item on that line: a collection when
// collection is set, else a scalar. "" if none is found.
func findPath(n *yaml.Node, prefix string, line int, key string, collection bool) string {
	if n == nil {
		return ""
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if prefix != "" {
				p = prefix + "." + k.Value
			}
			if k.Line == line && (key == "" || k.Value == key) {
				if key == "" && !collection && v.Kind != yaml.ScalarNode {
					// The mistyped scalar is inside a flow collection on the key's line.
					if inner := findPath(v, p, line, key, collection); inner != "" {
						return inner
					}
				}
				return p
			}
			if inner := findPath(v, p, line, key, collection); inner != "" {
				return inner
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", prefix, i)
			if inner := findPath(item, p, line, key, collection); inner != "" {
				return inner
			}
			if key == "" && item.Line == line && (item.Kind == yaml.ScalarNode) != collection {
				return p
			}
		}
	}
	return ""
}

// entryNode returns the YAML mapping of stacks[i], or nil.
func (p *parsedConfig) entryNode(i int) *yaml.Node {
	stacks := mappingValue(p.root, "stacks")
	if stacks == nil || stacks.Kind != yaml.SequenceNode || i >= len(stacks.Content) {
		return nil
	}
	return stacks.Content[i]
}

// line returns the line of stacks[i].<keys...> (the deepest one present), for error messages.
func (p *parsedConfig) line(i int, keys ...string) int {
	n := p.entryNode(i)
	if n == nil {
		if p.root != nil {
			return p.root.Line
		}
		return 1
	}
	line := n.Line
	for _, k := range keys {
		v := mappingValue(n, k)
		if v == nil {
			break
		}
		line, n = v.Line, v
	}
	return line
}

// itemLine returns the line of the j-th item of the list at stacks[i].key.
func (p *parsedConfig) itemLine(i int, key string, j int) int {
	v := mappingValue(p.entryNode(i), key)
	if v == nil || v.Kind != yaml.SequenceNode || j >= len(v.Content) {
		return p.line(i, key)
	}
	return v.Content[j].Line
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
