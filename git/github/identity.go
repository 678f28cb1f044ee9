package github

import (
	"context"
	"errors"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/trueup/trueup/reconciler"
)

// identity returns the login trueup's own comments are written by: Options.Login, else looked up
// once and remembered: the token's user (GET /user), or for a GitHub App "<slug>[bot]" (GET /app,
// authenticated with the App's JWT, since an installation token cannot read /user). A failed lookup
// is returned and tried again on the next call: without the login no comment can be told to be
// trueup's.
func (f *Forge) identity(ctx context.Context) (string, error) {
	f.mu.Lock()
	login := f.login
	f.mu.Unlock()
	if login != "" {
		return login, nil
	}
	if f.appClient != nil {
		app, _, err := f.appClient.Apps.Get(ctx, "")
		if err != nil {
			return "", classify("look up the GitHub App's login (GET /app)", err)
		}
		if app.GetSlug() != "" {
			login = app.GetSlug() + "[bot]"
		}
	} else {
		u, _, err := f.client.Users.Get(ctx, "")
		if err != nil {
			return "", classify("look up the token's login (GET /user; or configure the login)", err)
		}
		login = u.GetLogin()
	}
	if login == "" {
		return "", reconciler.Errorf(reconciler.KindFailed, "look up trueup's login", errors.New("GitHub answered without a login"))
	}
	f.mu.Lock()
	f.login = login
	f.mu.Unlock()
	return login, nil
}

// ownComment reports whether c was written by login. GitHub logins are case-insensitive.
func ownComment(c *gh.IssueComment, login string) bool {
	return strings.EqualFold(c.GetUser().GetLogin(), login)
}
