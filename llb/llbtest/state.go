package llbtest

import (
	"testing"

	"github.com/moby/buildkit/client/llb"
)

// RenderState marshals a state and renders it for a golden file, failing
// the test on an error: what every family's golden test of its steps does.
func RenderState(t testing.TB, st llb.State) string {
	t.Helper()
	def, err := st.Marshal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(def)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
