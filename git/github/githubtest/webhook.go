package githubtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
)

// SignedRequest returns a webhook delivery as GitHub sends it: a POST of payload (JSON-encoded unless it
// is a []byte or string) with X-GitHub-Event, X-GitHub-Delivery and an X-Hub-Signature-256 made with secret.
func SignedRequest(secret, event, deliveryID string, payload any) *http.Request {
	body := encode(payload)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req := UnsignedRequest(event, deliveryID, body)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	return req
}

// UnsignedRequest is SignedRequest without the signature header.
func UnsignedRequest(event, deliveryID string, payload any) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(encode(payload)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", deliveryID)
	return req
}

func encode(payload any) []byte {
	switch p := payload.(type) {
	case []byte:
		return p
	case string:
		return []byte(p)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		panic(fmt.Sprintf("githubtest: encode webhook payload: %v", err))
	}
	return b
}
