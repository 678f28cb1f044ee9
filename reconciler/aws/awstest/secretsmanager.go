package awstest

import (
	"net/http"
	"testing"
)

// SecretsManager is a fake Secrets Manager answering GetSecretValue in its JSON 1.1 protocol.
// A secret is found by the exact SecretId it was Set under (an ARN or a name); any other id answers
// ResourceNotFoundException.
type SecretsManager struct {
	server

	secrets map[string]string // SecretId → SecretString
	fail    bool
	calls   int
	signers []Signer
}

// NewSecretsManager starts a fake Secrets Manager holding no secrets.
func NewSecretsManager(t testing.TB) *SecretsManager {
	f := &SecretsManager{secrets: map[string]string{}}
	f.start(t, f.serve)
	return f
}

func (f *SecretsManager) serve(w http.ResponseWriter, r *http.Request) {
	var in struct{ SecretId string }
	if !f.readJSON(w, r, "secretsmanager.GetSecretValue", &in) {
		return
	}
	f.mu.Lock()
	f.calls++
	f.signers = append(f.signers, SignerOf(r))
	value, ok := f.secrets[in.SecretId]
	fail := f.fail
	f.mu.Unlock()
	switch {
	case fail:
		writeJSONError(w, "AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/trueup-task/x is not authorized to perform: secretsmanager:GetSecretValue")
	case !ok:
		writeJSONError(w, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	default:
		writeJSON(w, http.StatusOK, map[string]any{
			"ARN": in.SecretId, "Name": in.SecretId, "SecretString": value, "VersionId": "v1",
			"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
		})
	}
}

// Set stores value as the SecretString of the secret with id (an ARN or a name), replacing any before.
func (f *SecretsManager) Set(id, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[id] = value
}

// Fail makes every later GetSecretValue answer AccessDeniedException while fail is true.
func (f *SecretsManager) Fail(fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

// Calls is how many GetSecretValue requests were received so far, failed ones included.
func (f *SecretsManager) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// Signers are the signers of the GetSecretValue requests received so far, in order.
func (f *SecretsManager) Signers() []Signer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Signer(nil), f.signers...)
}
