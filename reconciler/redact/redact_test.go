package redact_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/redact"
)

func TestRedact(t *testing.T) {
	const tok = "ghp_0123456789abcdefABCDEF"
	tests := []struct {
		name    string
		secrets []string
		text    string
		want    string
	}{
		{"no secret known", nil, "token " + tok, "token " + tok},
		{"no secret in text", []string{tok}, "nothing to see here", "nothing to see here"},
		{"empty text", []string{tok}, "", ""},
		{"text shorter than any secret", []string{tok}, "ghp", "ghp"},
		{"whole text", []string{tok}, tok, "***"},
		{"at start", []string{tok}, tok + " was used", "*** was used"},
		{"at end", []string{tok}, "used " + tok, "used ***"},
		{"repeated", []string{tok}, tok + " and " + tok + " again " + tok, "*** and *** again ***"},
		{"repeated back to back", []string{tok}, tok + tok, "******"},
		{"inside a word", []string{tok}, "x" + tok + "y", "x***y"},
		{"prefix of the secret only", []string{tok}, tok[:len(tok)-1], tok[:len(tok)-1]},
		{"secret containing another, longest wins", []string{"secret", "mysecretvalue"}, "a mysecretvalue b secret", "a *** b ***"},
		{"shorter added first", []string{"mysecretvalue", "secret"}, "mysecretvalue", "***"},
		{"overlapping secrets leave nothing of either", []string{"abcdefgh12", "gh12ijklmn"}, "<abcdefgh12ijklmn>", "<***>"},
		{"chain of overlaps", []string{"aaaa1111", "1111bbbb", "bbbbcccc"}, "aaaa1111bbbbcccc!", "***!"},
		{"secrets sharing their first bytes", []string{"AKIAAAAA1111", "AKIAAAAA2222"}, "AKIAAAAA2222 AKIAAAAA1111 AKIAAAAA3333", "*** *** AKIAAAAA3333"},
		{"secret of exactly MinLen bytes", []string{"abc123"}, "x abc123 y", "x *** y"},
		{"value shorter than MinLen ignored", []string{"abc12"}, "x abc12 y", "x abc12 y"},
		{"one-byte value ignored", []string{"a"}, "a banana", "a banana"},
		{"empty value ignored", []string{""}, "text", "text"},
		{"value trimmed: a token file's newline", []string{tok + "\n"}, "Authorization: token " + tok + ".", "Authorization: token ***."},
		{"value trimmed: trailing blanks", []string{"\t" + tok + " \t"}, "token\t" + tok + " \tend", "token\t*** \tend"},
		{"value short once trimmed ignored", []string{"   ab   "}, "x   ab   y", "x   ab   y"},
		{"unicode value", []string{"pässwörd"}, "pw=pässwörd;", "pw=***;"},
		{"binary value", []string{"\x00\xff\x01\xfe\x02\xfd"}, "a\x00\xff\x01\xfe\x02\xfdb", "a***b"},
		{"Go-quoted form", []string{"pa\"ss\\wo\trd"}, fmt.Sprintf("value = %q", "pa\"ss\\wo\trd"), `value = "***"`},
		{"Go-quoted form of control bytes", []string{"pass\aword\x01"}, fmt.Sprintf("value = %q", "pass\aword\x01"), `value = "***"`},
		{"JSON form of control bytes", []string{"pass\aword\x01"}, `{"v":"pass\u0007word\u0001"}`, `{"v":"***"}`},
		{"JSON form escapes HTML", []string{"a<b>&c_long"}, `{"v":"a\u003cb\u003e\u0026c_long"}`, `{"v":"***"}`},
		{"JSON form without HTML escaping", []string{"a<b>&\"c_long"}, `{"v":"a<b>&\"c_long"}`, `{"v":"***"}`},
		{"query-escaped form", []string{"s3cr3t+/=value"}, "https://x.test/?k=" + url.QueryEscape("s3cr3t+/=value") + "&z=1", "https://x.test/?k=***&z=1"},
		{"path-escaped form", []string{"s3cr3t value/x"}, "https://x.test/" + url.PathEscape("s3cr3t value/x"), "https://x.test/***"},
		{
			"each line of a multi-line secret, re-indented",
			[]string{"-----BEGIN KEY-----\nMIIEowIBAAKCAQEA\nq1w2e3r4t5y6u7i8\n-----END KEY-----\n"},
			"  content = <<EOT\n      MIIEowIBAAKCAQEA\n      q1w2e3r4t5y6u7i8\n  EOT",
			"  content = <<EOT\n      ***\n      ***\n  EOT",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := redact.New()
			s.Add(tt.secrets...)
			assert.Equal(t, tt.want, s.Redact(tt.text))
			assert.Equal(t, tt.want, s.Func()(tt.text))
		})
	}
}

func TestRedactJSONDocuments(t *testing.T) {
	// A secret with every character JSON and URLs escape, as it appears in encoded documents.
	secret := "p@ss<wörd>\u2028&\"quote\"\\back/slash\n\t+=?#%"
	s := redact.New()
	s.Add(secret)

	marshaled, err := json.Marshal(map[string]string{"password": secret})
	require.NoError(t, err)
	assert.Equal(t, `{"password":"***"}`, s.Redact(string(marshaled)))

	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(map[string]string{"password": secret}))
	assert.Equal(t, "{\"password\":\"***\"}\n", s.Redact(b.String()))

	q := url.Values{"password": {secret}, "user": {"bob"}}.Encode()
	assert.Equal(t, "password=***&user=bob", s.Redact(q))
}

// TestRedactMatchesReference compares Redact with a naive reference on random texts over a small
// alphabet, where secrets overlap, nest and repeat all the time.
func TestRedactMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "ab"[r.IntN(2)]
		}
		return string(b)
	}
	for range 3000 {
		var secrets []string
		for range 1 + r.IntN(4) {
			secrets = append(secrets, word(redact.MinLen+r.IntN(5)))
		}
		text := word(r.IntN(120))
		s := redact.New()
		s.Add(secrets...)
		got := s.Redact(text)
		require.Equal(t, reference(secrets, text), got, "secrets %q, text %q", secrets, text)
		// Masking may meet text to make a secret only through its "*", which these never hold.
		for _, sec := range secrets {
			require.NotContains(t, got, sec)
		}
	}
}

// reference masks the union of every occurrence of every secret: overlapping occurrences make one
// mask, occurrences that only touch make one each.
func reference(secrets []string, text string) string {
	type span struct{ start, end int }
	var spans []span
	for at := range len(text) {
		longest := 0
		for _, s := range secrets {
			if strings.HasPrefix(text[at:], s) {
				longest = max(longest, len(s))
			}
		}
		if longest == 0 {
			continue
		}
		if n := len(spans); n > 0 && at < spans[n-1].end {
			spans[n-1].end = max(spans[n-1].end, at+longest)
		} else {
			spans = append(spans, span{at, at + longest})
		}
	}
	var b strings.Builder
	done := 0
	for _, sp := range spans {
		b.WriteString(text[done:sp.start])
		b.WriteString("***")
		done = sp.end
	}
	b.WriteString(text[done:])
	return b.String()
}

func TestRedactReturnsTextUnchangedWithoutCopy(t *testing.T) {
	s := redact.New()
	s.Add("supersecret")
	text := strings.Repeat("harmless text ", 1000)
	allocs := testing.AllocsPerRun(10, func() { _ = s.Redact(text) })
	assert.Zero(t, allocs)
}

func TestAddConcurrentWithRedact(t *testing.T) {
	s := redact.New()
	s.Add("own-secret-0001")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				secret := fmt.Sprintf("cred-%d-%04d-xyz", g, i)
				if i%2 == 0 {
					s.Add(secret)
				} else {
					s.AddExpiring(time.Now().Add(time.Hour), secret)
				}
				// Once Add returned, every Redact sees the value, in this goroutine and any other.
				text := "a " + secret + " b own-secret-0001 c"
				if got := s.Redact(text); got != "a *** b *** c" {
					t.Errorf("Redact(%q) = %q", text, got)
					return
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 500 {
				if got := s.Redact("x own-secret-0001"); got != "x ***" {
					t.Errorf("own secret leaked: %q", got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestAddExpiringForgetsAfterGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := redact.New()
		s.Add("daemon-own-token")
		expires := time.Now().Add(time.Hour)
		s.AddExpiring(expires, "ASIAEXAMPLEKEY000001", "session-secret-000001")
		const text = "ASIAEXAMPLEKEY000001 session-secret-000001 daemon-own-token"
		assert.Equal(t, "*** *** ***", s.Redact(text))

		time.Sleep(time.Until(expires.Add(redact.Grace)) - time.Nanosecond)
		assert.Equal(t, "*** *** ***", s.Redact(text), "kept until the grace ends")

		time.Sleep(time.Nanosecond)
		assert.Equal(t, "ASIAEXAMPLEKEY000001 session-secret-000001 ***", s.Redact(text),
			"forgotten once expired and the grace passed; trueup's own kept")

		time.Sleep(1000 * time.Hour)
		assert.Equal(t, "ASIAEXAMPLEKEY000001 session-secret-000001 ***", s.Redact(text))
	})
}

func TestAddExpiring(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		s := redact.New()

		s.AddExpiring(now.Add(-redact.Grace), "already-dead-credential")
		assert.Equal(t, "already-dead-credential", s.Redact("already-dead-credential"), "expired before it was added")

		s.AddExpiring(now.Add(-redact.Grace+time.Minute), "just-expired-credential")
		assert.Equal(t, "***", s.Redact("just-expired-credential"), "expired but in its grace")

		s.AddExpiring(now.Add(time.Minute), "renewed-credential")
		s.AddExpiring(now.Add(10*time.Hour), "renewed-credential")
		s.AddExpiring(now.Add(2*time.Minute), "renewed-credential") // an earlier expiry does not shorten it

		s.AddExpiring(now.Add(time.Minute), "promoted-credential")
		s.Add("promoted-credential")

		s.Add("own-then-issued")
		s.AddExpiring(now.Add(time.Minute), "own-then-issued")

		s.AddExpiring(time.Time{}, "never-expiring-cred")

		time.Sleep(5 * time.Hour)
		assert.Equal(t, "just-expired-credential", s.Redact("just-expired-credential"))
		assert.Equal(t, "*** *** *** ***", s.Redact("renewed-credential promoted-credential own-then-issued never-expiring-cred"))

		time.Sleep(10 * time.Hour)
		assert.Equal(t, "renewed-credential *** *** ***", s.Redact("renewed-credential promoted-credential own-then-issued never-expiring-cred"))
	})
}

func TestAddExpiringCapEvictsOldestIssuedOnly(t *testing.T) {
	s := redact.New()
	own := "the-daemon-github-token"
	s.Add(own)
	expires := time.Now().Add(time.Hour)
	cred := func(i int) string { return fmt.Sprintf("issued-credential-%06d", i) }
	for i := range redact.MaxIssued {
		s.AddExpiring(expires, cred(i))
	}
	assert.Equal(t, "*** *** ***", s.Redact(cred(0)+" "+cred(redact.MaxIssued-1)+" "+own), "at the cap nothing is forgotten")

	s.AddExpiring(expires, cred(0)) // added again: now the newest
	s.AddExpiring(expires, cred(redact.MaxIssued))
	assert.Equal(t, cred(1), s.Redact(cred(1)), "the oldest forgotten")
	assert.Equal(t, "*** *** *** ***", s.Redact(cred(0)+" "+cred(2)+" "+cred(redact.MaxIssued)+" "+own))

	for i := range 2 * redact.MaxIssued {
		s.AddExpiring(expires, fmt.Sprintf("more-credential-%06d", i))
	}
	assert.Equal(t, "*** "+cred(redact.MaxIssued), s.Redact(own+" "+cred(redact.MaxIssued)), "trueup's own secrets are never evicted")
	assert.Equal(t, "***", s.Redact(fmt.Sprintf("more-credential-%06d", 2*redact.MaxIssued-1)))
}

func TestAddPromotedValueLeavesTheCap(t *testing.T) {
	s := redact.New()
	expires := time.Now().Add(time.Hour)
	cred := func(i int) string { return fmt.Sprintf("issued-credential-%06d", i) }
	for i := range redact.MaxIssued - 1 {
		s.AddExpiring(expires, cred(i))
	}
	s.AddExpiring(expires, "promoted-to-own-secret")
	s.Add("promoted-to-own-secret") // no longer an issued value
	s.AddExpiring(expires, cred(redact.MaxIssued))
	assert.Equal(t, "*** *** ***", s.Redact(cred(0)+" "+cred(redact.MaxIssued)+" promoted-to-own-secret"),
		"MaxIssued issued values are kept")
}

func TestSecretLooking(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"GITHUB_TOKEN", true},
		{"github_token", true},
		{"TF_VAR_db_password", true},
		{"DB_PASSWORD_FILE", true},
		{"ClientSecret", true},
		{"AWS_SECRET_ACCESS_KEY", true},
		{"API_KEY", true},
		{"apikey", true},
		{"SSH_PRIVATE_KEY", true},
		{"Token", true},
		{"PATH", false},
		{"HOME", false},
		{"TF_VAR_region", false},
		{"AWS_REGION", false},
		{"SECRE_T", false},
		{"PASS", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, redact.SecretLooking(tt.name))
		})
	}
}
