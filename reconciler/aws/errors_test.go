package aws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"

	"github.com/trueup/trueup/reconciler"
)

func TestSTSErrorKind(t *testing.T) {
	api := func(code string, fault smithy.ErrorFault) error {
		return fmt.Errorf("operation error STS: AssumeRole: %w", &smithy.GenericAPIError{Code: code, Message: "m", Fault: fault})
	}
	tests := []struct {
		name string
		err  error
		want reconciler.ErrorKind
	}{
		{"access denied", api("AccessDenied", smithy.FaultClient), reconciler.KindFailed},
		{"no such role", api("NoSuchEntity", smithy.FaultClient), reconciler.KindFailed},
		{"validation (duration over the role's maximum)", api("ValidationError", smithy.FaultClient), reconciler.KindFailed},
		{"region disabled", api("RegionDisabledException", smithy.FaultClient), reconciler.KindFailed},
		{"throttling", api("Throttling", smithy.FaultClient), reconciler.KindTransient},
		{"request limit", api("RequestLimitExceeded", smithy.FaultClient), reconciler.KindTransient},
		{"server fault", api("SomethingNew", smithy.FaultServer), reconciler.KindTransient},
		{"network", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, reconciler.KindTransient},
		{"deadline", context.DeadlineExceeded, reconciler.KindTransient},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, stsErrorKind(tt.err), tt.name)
	}
}
