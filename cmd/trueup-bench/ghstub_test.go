package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/github"
)

// The GitHub stand-in pages its pull requests as GitHub does (the scale scenario has 200 open), and
// trueup's forge reads every page.
func TestStubListsPullRequestsInPages(t *testing.T) {
	stub, err := startGHStub()
	require.NoError(t, err)
	defer stub.close()
	const open = 230
	for n := 1; n <= open; n++ {
		stub.addPull(stubPull{Number: n, Branch: "b", Head: "0123456789012345678901234567890123456789"})
	}
	f, err := github.New(context.Background(), github.Options{Owner: stubOwner, Repo: stubRepo, APIURL: stub.url, Token: "t"})
	require.NoError(t, err)
	pulls, err := f.OpenPulls(context.Background(), "main")
	require.NoError(t, err)
	seen := map[int]bool{}
	for _, p := range pulls {
		seen[p.Number] = true
	}
	assert.Len(t, pulls, open)
	assert.Len(t, seen, open, "each pull request once")
	assert.Equal(t, 3, stub.pullListRequests(), "three pages of at most 100")
}
