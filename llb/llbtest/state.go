package llbtest

import (
	"testing"

	"github.com/moby/buildkit/client/llb"
)

// RenderState marshals a state and renders it for a golden file, failing
// the test on an error: what every family's golden test of its steps does.
func RenderState(tb testing.TB, st llb.State) string {
	tb.Helper()
	def, err := st.Marshal(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	out, err := Render(def)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
