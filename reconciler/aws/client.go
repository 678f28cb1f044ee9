package aws

import (
	"log/slog"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
)

// newClient is the skeleton every constructor here shares: one service client (newFromConfig is
// sts.NewFromConfig, ecs.NewFromConfig, …) built from cfg, pointed at endpoint when it is set
// (tests, VPC endpoints; otherwise the SDK resolves it, AWS_ENDPOINT_URL_<SERVICE> included) and
// given retryer when it is not nil (otherwise the SDK's standard one). fields returns where the
// service's Options keep the two.
func newClient[O, C any](newFromConfig func(awssdk.Config, ...func(*O)) C, cfg awssdk.Config,
	endpoint string, retryer awssdk.Retryer, fields func(*O) (**string, *awssdk.Retryer),
) C {
	return newFromConfig(cfg, func(o *O) {
		baseEndpoint, r := fields(o)
		if endpoint != "" {
			*baseEndpoint = awssdk.String(endpoint)
		}
		if retryer != nil {
			*r = retryer
		}
	})
}

// orDiscard is logger, or a logger that discards when it is nil.
func orDiscard(logger *slog.Logger) *slog.Logger {
	if logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return logger
}
