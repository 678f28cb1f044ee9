package redact_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/redact"
)

// benchSecrets returns n secrets shaped like AWS session credentials (a third each: access key ids,
// secret keys, session tokens), as the daemon accumulates them over many runs.
func benchSecrets(r *rand.Rand, n int) []string {
	const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	pick := func(alphabet string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	out := make([]string, n)
	for i := range out {
		switch i % 3 {
		case 0:
			out[i] = "ASIA" + pick(upper, 16)
		case 1:
			out[i] = pick(b64, 40)
		default:
			out[i] = "IQoJb3JpZ2luX2VjE" + pick(b64, 300)
		}
	}
	return out
}

// benchText returns about size bytes shaped like a rendered plan (indentation, attribute names,
// ids, hashes, base64), holding each of secrets once every so often.
func benchText(r *rand.Rand, size int, secrets []string) string {
	const hex = "0123456789abcdef"
	word := func(alphabet string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "  # aws_instance.web[%d] will be updated in-place\n", i)
		fmt.Fprintf(&b, "  ~ resource \"aws_instance\" \"web\" {\n")
		fmt.Fprintf(&b, "        id            = \"i-%s\"\n", word(hex, 17))
		fmt.Fprintf(&b, "      ~ user_data     = \"%s\" -> \"%s\"\n", word(hex, 40), word(hex, 40))
		fmt.Fprintf(&b, "        tags          = {\n            \"Name\" = \"web-%d\"\n        }\n", i)
		if i%50 == 0 && len(secrets) > 0 {
			fmt.Fprintf(&b, "      ~ environment   = \"%s\"\n", secrets[r.IntN(len(secrets))])
		}
		fmt.Fprintf(&b, "        # (%d unchanged attributes hidden)\n    }\n\n", r.IntN(30))
	}
	return b.String()
}

// BenchmarkRedact redacts a 1 MB plan rendering with 1,000 known secrets (about 2,300 patterns with
// their encoded forms), against strings.Replacer over the same patterns.
func BenchmarkRedact(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	secrets := benchSecrets(r, 1000)
	text := benchText(r, 1<<20, secrets)
	clean := benchText(r, 1<<20, nil)

	s := redact.New()
	s.AddExpiring(time.Now().Add(time.Hour), secrets...)
	got := s.Redact(text)
	for _, sec := range secrets {
		require.NotContains(b, got, sec)
	}

	b.Run("set/with-secrets", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			_ = s.Redact(text)
		}
	})
	b.Run("set/clean", func(b *testing.B) {
		b.SetBytes(int64(len(clean)))
		for b.Loop() {
			_ = s.Redact(clean)
		}
	})

	// The baseline: strings.Replacer over the raw values and their escaped forms, longest first.
	var pairs []string
	for _, sec := range secrets {
		for _, f := range []string{sec, strings.ReplaceAll(strings.ReplaceAll(sec, "+", "%2B"), "/", "%2F")} {
			pairs = append(pairs, f, "***")
		}
	}
	rep := strings.NewReplacer(pairs...)
	b.Run("strings.Replacer/with-secrets", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			_ = rep.Replace(text)
		}
	})
}

// BenchmarkAddThenRedact is the cost of registering one more credential with 1,000 known: the next
// Redact rebuilds the matcher.
func BenchmarkAddThenRedact(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	s := redact.New()
	s.AddExpiring(time.Now().Add(time.Hour), benchSecrets(r, 1000)...)
	expires := time.Now().Add(time.Hour)
	i := 0
	for b.Loop() {
		i++
		s.AddExpiring(expires, fmt.Sprintf("ASIANEWCREDENTIAL%06d", i))
		_ = s.Redact("a short log line")
	}
}
