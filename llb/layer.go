package llb

import "github.com/moby/buildkit/client/llb"

// PatchLayer returns base with the changes that turned base into patched
// appended as exactly one layer: the diff of the two merged onto base.
// The original layers stay byte-identical, so registries deduplicate them
// and signatures over them keep verifying.
//
// patched must derive from base through ONE exec step: a diff spanning
// several steps is exported as one layer per step.
func PatchLayer(base, patched llb.State, opts ...llb.ConstraintsOpt) llb.State {
	return llb.Merge([]llb.State{base, llb.Diff(base, patched, opts...)}, opts...)
}
