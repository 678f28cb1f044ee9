// Package aws connects trueup to AWS: per-run credentials from sts:AssumeRole (the
// reconciler.Credentials port), secrets read from Secrets Manager, and the on_apply hooks
// (reconciler.Hooks: an ECS forced redeployment under the apply role, and a webhook).
//
// Every type here starts from a base aws.Config, trueup's own identity (an ECS task role in
// production), and never logs a credential or a secret value: logs carry role ARNs, session names,
// secret ARNs and expiry times only.
package aws
