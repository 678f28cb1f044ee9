package awstest

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// AssumeRoleCall is one AssumeRole request as the fake STS received it.
type AssumeRoleCall struct {
	Role, Session, ExternalID string
	// Duration is the DurationSeconds parameter as sent ("" when absent).
	Duration          string
	Tags              map[string]string // session tags, key → value
	TransitiveTagKeys []string
	Signer            Signer
}

// Credentials are the temporary credentials the fake STS handed out for one AssumeRole call.
type Credentials struct {
	Role                    string // the role assumed
	KeyID, SecretKey, Token string
	Expiration              time.Time
}

// STS is a fake Security Token Service answering AssumeRole in STS's query protocol (form-encoded POSTs,
// XML answers). The n-th call (counting refused ones) is answered, unless refused, with access key id
// "ASIAFAKE000n", secret key "secret-access-key-n-SENSITIVE" and session token
// "session-token-n-SENSITIVE", valid for the call's DurationSeconds (an hour when absent).
type STS struct {
	server
	now func() time.Time

	calls     []AssumeRoleCall
	issued    []Credentials
	deny      map[string]string // role ARN → AccessDenied message
	throttles int               // the next n calls answer Throttling
}

// NewSTS starts a fake STS whose credentials expire relative to now (time.Now when now is nil).
func NewSTS(t testing.TB, now func() time.Time) *STS {
	if now == nil {
		now = time.Now
	}
	f := &STS{now: now, deny: map[string]string{}}
	f.start(t, f.serve)
	return f
}

func (f *STS) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost ||
		r.PostForm.Get("Action") != "AssumeRole" || r.PostForm.Get("Version") != "2011-06-15" {
		f.t.Errorf("awstest: STS: unexpected request %s %s action %q version %q", r.Method, r.URL, r.PostForm.Get("Action"), r.PostForm.Get("Version"))
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	call := AssumeRoleCall{
		Role: r.PostForm.Get("RoleArn"), Session: r.PostForm.Get("RoleSessionName"),
		ExternalID: r.PostForm.Get("ExternalId"), Duration: r.PostForm.Get("DurationSeconds"),
		Tags: map[string]string{}, Signer: SignerOf(r),
	}
	for i := 1; r.PostForm.Has(fmt.Sprintf("Tags.member.%d.Key", i)); i++ {
		call.Tags[r.PostForm.Get(fmt.Sprintf("Tags.member.%d.Key", i))] = r.PostForm.Get(fmt.Sprintf("Tags.member.%d.Value", i))
	}
	for i := 1; r.PostForm.Has(fmt.Sprintf("TransitiveTagKeys.member.%d", i)); i++ {
		call.TransitiveTagKeys = append(call.TransitiveTagKeys, r.PostForm.Get(fmt.Sprintf("TransitiveTagKeys.member.%d", i)))
	}
	secs, err := strconv.Atoi(call.Duration)
	if err != nil {
		secs = 3600
	}

	f.mu.Lock()
	f.calls = append(f.calls, call)
	n := len(f.calls)
	denied, isDenied := f.deny[call.Role]
	throttled := f.throttles > 0
	if throttled {
		f.throttles--
	}
	creds := Credentials{
		Role:       call.Role,
		KeyID:      fmt.Sprintf("ASIAFAKE%04d", n),
		SecretKey:  fmt.Sprintf("secret-access-key-%d-SENSITIVE", n),
		Token:      fmt.Sprintf("session-token-%d-SENSITIVE", n),
		Expiration: f.now().Add(time.Duration(secs) * time.Second).UTC().Truncate(time.Second),
	}
	if !isDenied && !throttled {
		f.issued = append(f.issued, creds)
	}
	f.mu.Unlock()

	w.Header().Set("Content-Type", "text/xml")
	switch {
	case isDenied:
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, stsError, "AccessDenied", denied)
	case throttled:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, stsError, "Throttling", "Rate exceeded")
	default:
		fmt.Fprintf(w, stsOK, creds.KeyID, creds.SecretKey, creds.Token, creds.Expiration.Format(time.RFC3339), call.Role, call.Session)
	}
}

const stsOK = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>%s/%s</Arn>
      <AssumedRoleId>AROAFAKE:session</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>`

const stsError = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>
  <RequestId>4a0e5d8f-9f7a-4c8b-a3e7-2f1b1c0d9e6a</RequestId>
</ErrorResponse>`

// Deny makes every later AssumeRole of role answer AccessDenied (HTTP 403) with message.
// A denial wins over Throttle.
func (f *STS) Deny(role, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny[role] = message
}

// Throttle makes the next n AssumeRole calls, whatever their role, answer Throttling (HTTP 400),
// which the SDK retries.
func (f *STS) Throttle(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttles = n
}

// Calls are the AssumeRole requests received so far, in order, refused ones included.
func (f *STS) Calls() []AssumeRoleCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]AssumeRoleCall(nil), f.calls...)
}

// Roles are the roles of Calls, in order, with repeats.
func (f *STS) Roles() []string {
	var roles []string
	for _, c := range f.Calls() {
		roles = append(roles, c.Role)
	}
	return roles
}

// CredentialsFor are the credentials handed out for role so far, in order.
func (f *STS) CredentialsFor(role string) []Credentials {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Credentials
	for _, c := range f.issued {
		if c.Role == role {
			out = append(out, c)
		}
	}
	return out
}

// Issued are the secrets handed out so far — each secret key and session token — for tests that check
// none of them leaks.
func (f *STS) Issued() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.issued {
		out = append(out, c.SecretKey, c.Token)
	}
	return out
}
