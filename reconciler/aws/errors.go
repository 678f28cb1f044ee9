package aws

import (
	"errors"

	"github.com/aws/smithy-go"

	"github.com/trueup/trueup/reconciler"
)

// transientCodes are STS error codes that may go away by themselves: throttling that outlasted the
// SDK's retries, and STS's own trouble.
var transientCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "RequestLimitExceeded": true, "TooManyRequestsException": true,
	"ServiceUnavailable": true, "InternalFailure": true, "InternalError": true, "IDPCommunicationError": true,
}

// stsErrorKind is the reconciler's kind of an AssumeRole error. STS refusing the request (AccessDenied,
// NoSuchEntity, ValidationError, RegionDisabledException, ...) needs a human: KindFailed. Throttling,
// server faults and errors that never reached STS (network, base credentials not retrievable) are
// KindTransient.
func stsErrorKind(err error) reconciler.ErrorKind {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return reconciler.KindTransient
	}
	if transientCodes[api.ErrorCode()] || api.ErrorFault() == smithy.FaultServer {
		return reconciler.KindTransient
	}
	return reconciler.KindFailed
}
