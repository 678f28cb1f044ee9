package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/trueup/trueup/reconciler/api"
)

func TestLeaderLine(t *testing.T) {
	tests := []struct {
		in   api.Leadership
		want string
	}{
		{api.Leadership{Replicated: true, Self: "a-1", Leading: true, Leader: "a-1", Epoch: 3, LeaseAgeSeconds: 2.4},
			"replica a-1: leader (epoch 3, lease renewed 2s ago)"},
		{api.Leadership{Replicated: true, Self: "b-2", Leader: "a-1", Epoch: 3, LeaseAgeSeconds: 12.6},
			"replica b-2: standby; leader a-1 (epoch 3, lease renewed 13s ago)"},
		{api.Leadership{Replicated: true, Self: "b-2"}, "replica b-2: standby; no replica has led yet"},
		{api.Leadership{Replicated: true, Self: "b-2", Leader: "a-1", Error: "store: not answering"},
			"replica b-2: standby; the lease cannot be read (store: not answering)"},
		{api.Leadership{Replicated: true, Self: "b\x1b[2J", Leader: "a"}, `replica b\x1b[2J: standby; leader a (epoch 0, lease renewed 0s ago)`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, leaderLine(tt.in))
	}
}
