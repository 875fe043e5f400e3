package plugin

import (
	"testing"

	"gotest.tools/v3/golden"
)

// The help text is part of the interface people read: changes to it are
// reviewed through this golden file (make golden regenerates it).
func TestImageHelpGolden(t *testing.T) {
	cmd := imageCmd(nil)
	golden.Assert(t, cmd.Example+"\n\n"+cmd.Flags().FlagUsagesWrapped(100), "image-help.golden")
}
