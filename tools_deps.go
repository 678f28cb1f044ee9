//go:build tools

package main
import (
 _ "github.com/go-git/go-git/v5"
 _ "github.com/hashicorp/terraform-exec/tfexec"
 _ "github.com/hashicorp/terraform-json"
 _ "github.com/hashicorp/terraform-config-inspect/tfconfig"
 _ "github.com/hashicorp/hcl/v2/hclparse"
 _ "github.com/lmittmann/tint"
 _ "github.com/stretchr/testify/require"
 _ "go.etcd.io/bbolt"
 _ "go.yaml.in/yaml/v3"
 _ "github.com/google/go-github/v60/github"
 _ "github.com/bradleyfalzon/ghinstallation/v2"
 _ "github.com/slack-go/slack"
 _ "github.com/prometheus/client_golang/prometheus"
 _ "github.com/aws/aws-sdk-go-v2/config"
 _ "github.com/aws/aws-sdk-go-v2/service/sts"
 _ "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
 _ "github.com/aws/aws-sdk-go-v2/service/ecs"
)
func main(){}
