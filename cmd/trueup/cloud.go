package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/aws"
)

// cloud is the per-run credentials and on_apply hooks.
type cloud struct {
	credentials reconciler.Credentials
	hooks       reconciler.Hooks
}

// loadAWSConfig reads trueup's own AWS credentials from the default chain (environment, shared files,
// an ECS task role); AWS_ENDPOINT_URL_<SERVICE> variables are honoured. Nothing is called yet.
func loadAWSConfig(ctx context.Context, region string) (awssdk.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// newCloud builds per-run credentials and hooks. A cached session is reused only while it has at least
// 30 minutes left, so a long apply does not run out of credentials halfway.
func newCloud(ctx context.Context, cfg Config, log *slog.Logger) (cloud, error) {
	awsCfg, err := loadAWSConfig(ctx, cfg.AWS.Region)
	if err != nil {
		return cloud{}, err
	}
	creds, err := aws.NewCredentials(ctx, aws.CredentialsOptions{AWSConfig: awsCfg, Defaults: cfg.AWS.StackAWS(), RefreshBefore: 30 * time.Minute, Logger: log})
	if err != nil {
		return cloud{}, fmt.Errorf("aws credentials: %w", err)
	}
	hooks, err := aws.NewHooks(aws.HooksOptions{AWSConfig: awsCfg, Credentials: creds, Branch: cfg.Repo.Branch, Logger: log})
	if err != nil {
		return cloud{}, fmt.Errorf("on_apply hooks: %w", err)
	}
	return cloud{credentials: creds, hooks: hooks}, nil
}

func newSecretsManager(ctx context.Context, cfg Config, log *slog.Logger) (secretReader, error) {
	awsCfg, err := loadAWSConfig(ctx, cfg.AWS.Region)
	if err != nil {
		return nil, err
	}
	s, err := aws.NewSecrets(ctx, aws.SecretsOptions{AWSConfig: awsCfg, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("secrets manager: %w", err)
	}
	return s, nil
}
