package pgstore

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTerraformStateRoundTripInTheBackendsOwnTable(t *testing.T) {
	dsn := newDB(t)
	s := openStore(t, dsn)
	ctx := t.Context()

	got, err := s.TerraformState(ctx, "tfstate_app_0011", "default")
	require.NoError(t, err)
	assert.Nil(t, got, "no schema yet: no state, not an error")

	state := []byte(`{"version":4,"serial":3,"lineage":"l-1","resources":[]}`)
	require.NoError(t, s.PutTerraformState(ctx, "tfstate_app_0011", "default", state))
	require.NoError(t, s.PutTerraformState(ctx, "tfstate_app_0011", "staging", []byte(`{"serial":1}`)))
	got, err = s.TerraformState(ctx, "tfstate_app_0011", "default")
	require.NoError(t, err)
	assert.JSONEq(t, string(state), string(got))
	got, err = s.TerraformState(ctx, "tfstate_app_0011", "prod")
	require.NoError(t, err)
	assert.Nil(t, got, "a workspace without a row has no state")

	newer := []byte(`{"version":4,"serial":4,"lineage":"l-1","resources":[]}`)
	require.NoError(t, s.PutTerraformState(ctx, "tfstate_app_0011", "default", newer))
	got, err = s.TerraformState(ctx, "tfstate_app_0011", "default")
	require.NoError(t, err)
	assert.JSONEq(t, string(newer), string(got), "a second write replaces the state")

	// The rows are where Terraform's pg backend reads them: schema.states (name, data), ids from
	// public.global_states_id_seq.
	assert.Equal(t, int64(2), scalar[int64](t, dsn, `SELECT count(*) FROM tfstate_app_0011.states`))
	assert.Equal(t, "staging", scalar[string](t, dsn, `SELECT name FROM tfstate_app_0011.states WHERE data = '{"serial":1}'`))
	assert.Positive(t, scalar[int64](t, dsn, `SELECT last_value FROM public.global_states_id_seq`))
}

// A schema name comes from trueup, never from a user, but it is spliced into SQL: refuse anything
// that is not a plain identifier.
func TestTerraformStateRefusesInjectedSchemaNames(t *testing.T) {
	s := openStore(t, newDB(t))
	for _, schema := range []string{"x; DROP SCHEMA trueup CASCADE", `"quoted"`, "Upper", "", "public.states --"} {
		_, err := s.TerraformState(t.Context(), schema, "default")
		assert.ErrorContains(t, err, "is not a state schema", schema)
		err = s.PutTerraformState(t.Context(), schema, "default", []byte("{}"))
		assert.ErrorContains(t, err, "is not a state schema", schema)
	}
}
