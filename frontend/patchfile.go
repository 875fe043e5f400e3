package frontend

import (
	"errors"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
)

// withSource attaches the Patchfile and the error's line range to err, so
// that BuildKit clients print the offending lines.
func withSource(err error, sm *llb.SourceMap) error {
	var loc *parser.LocationError
	if sm == nil || !errors.As(err, &loc) {
		return err
	}
	src := &errdefs.Source{Info: &pb.SourceInfo{Data: sm.Data, Filename: sm.Filename, Language: sm.Language}}
	if sm.Definition != nil {
		src.Info.Definition = sm.Definition.ToPB()
	}
	for _, r := range loc.Locations {
		for _, rr := range r {
			src.Ranges = append(src.Ranges, &pb.Range{
				Start: &pb.Position{Line: int32(rr.Start.Line), Character: int32(rr.Start.Character)},
				End:   &pb.Position{Line: int32(rr.End.Line), Character: int32(rr.End.Character)},
			})
		}
	}
	return errdefs.WithSource(err, src)
}
