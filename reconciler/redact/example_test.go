package redact_test

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/trueup/trueup/reconciler/redact"
)

func ExampleSet() {
	s := redact.New()
	// At start: trueup's own secrets, and the pass-through variables whose names look secret.
	s.Add("ghp_0123456789abcdefghij")
	env := map[string]string{"TF_VAR_db_password": "hunter2hunter2", "TF_VAR_region": "eu-west-1"}
	for name, value := range env {
		if redact.SecretLooking(name) {
			s.Add(value)
		}
	}
	// At each run: the credentials issued to it.
	s.AddExpiring(time.Now().Add(time.Hour), "ASIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

	fmt.Println(s.Redact(`password = "hunter2hunter2", region = "eu-west-1", key = ASIAIOSFODNN7EXAMPLE`))
	fmt.Println(s.Redact("https://x.test/?secret=wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYEXAMPLEKEY"))

	log := slog.New(s.Handler(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})))
	log.Info("clone failed", "url", "https://x-access-token:ghp_0123456789abcdefghij@github.com/o/r")
	// Output:
	// password = "***", region = "eu-west-1", key = ***
	// https://x.test/?secret=***
	// level=INFO msg="clone failed" url=https://x-access-token:***@github.com/o/r
}
