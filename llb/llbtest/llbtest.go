// Package llbtest renders a marshalled LLB definition as stable, readable
// text for golden tests: op kinds, arguments, environment, mounts,
// platform and step names, with op digests replaced by op numbers.
package llbtest

import (
	"fmt"
	"sort"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
)

// Render returns the text form of def.
func Render(def *llb.Definition) (string, error) {
	ops := map[digest.Digest]*pb.Op{}
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			return "", fmt.Errorf("parsing op: %w", err)
		}
		ops[digest.FromBytes(dt)] = &op
	}
	head, err := def.Head()
	if err != nil {
		return "", fmt.Errorf("finding head: %w", err)
	}
	r := &renderer{ops: ops, meta: def.Metadata, ids: map[digest.Digest]int{}}
	r.visit(head)
	return r.b.String(), nil
}

type renderer struct {
	ops  map[digest.Digest]*pb.Op
	meta map[digest.Digest]llb.OpMetadata
	ids  map[digest.Digest]int
	b    strings.Builder
}

// visit prints an op after its inputs, numbering ops in that order.
func (r *renderer) visit(d digest.Digest) int {
	if id, ok := r.ids[d]; ok {
		return id
	}
	op := r.ops[d]
	inputs := make([]string, len(op.Inputs))
	for i, in := range op.Inputs {
		inputs[i] = fmt.Sprintf("op%d[%d]", r.visit(digest.Digest(in.Digest)), in.Index)
	}
	id := len(r.ids) + 1
	r.ids[d] = id
	fmt.Fprintf(&r.b, "op%d %s", id, opLine(op))
	if len(inputs) > 0 {
		fmt.Fprintf(&r.b, " inputs=%s", strings.Join(inputs, ","))
	}
	if p := op.Platform; p != nil {
		fmt.Fprintf(&r.b, " platform=%s/%s%s", p.OS, p.Architecture, variant(p.Variant))
	}
	r.b.WriteString("\n")
	if m, ok := r.meta[d]; ok {
		if name := m.Description["llb.customname"]; name != "" {
			fmt.Fprintf(&r.b, "  name %q\n", name)
		}
		if m.IgnoreCache {
			r.b.WriteString("  ignore-cache\n")
		}
	}
	if ex, ok := op.Op.(*pb.Op_Exec); ok {
		r.exec(ex.Exec)
	}
	if f, ok := op.Op.(*pb.Op_File); ok {
		r.file(f.File)
	}
	return id
}

func variant(v string) string {
	if v == "" {
		return ""
	}
	return "/" + v
}

// opLine is the one-line summary of an op.
func opLine(op *pb.Op) string {
	switch o := op.Op.(type) {
	case *pb.Op_Source:
		return "source " + o.Source.Identifier + attrs(o.Source.Attrs)
	case *pb.Op_Exec:
		return fmt.Sprintf("exec %q", o.Exec.Meta.Args)
	case *pb.Op_File:
		return "file"
	case *pb.Op_Merge:
		return fmt.Sprintf("merge %d inputs", len(o.Merge.Inputs))
	case *pb.Op_Diff:
		return "diff"
	case *pb.Op_Build:
		return "build"
	default:
		return fmt.Sprintf("%T", o)
	}
}

func attrs(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return " {" + strings.Join(parts, " ") + "}"
}
