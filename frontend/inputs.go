package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"

	"github.com/darn-dev/darn/patch"
)

// resolveImage resolves the image config once for a platform and pins the
// digest, so the probe and the patch see the very same image even when the
// tag moves mid-build.
func resolveImage(ctx context.Context, c gwclient.Client, bc *dockerui.Client, ref reference.Named, p ocispecs.Platform) (patch.Image, error) {
	resolveMode := bc.ImageResolveMode
	if bc.IsNoCache(ref.String()) {
		resolveMode = llb.ResolveModeForcePull
	}
	mutRef, dgst, dt, err := c.ResolveImageConfig(ctx, ref.String(), sourceresolver.Opt{
		LogName:  fmt.Sprintf("[patch %s] resolve %s", patch.FormatPlatform(p), reference.FamiliarString(ref)),
		ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &p, ResolveMode: resolveMode.String()},
	})
	if err != nil {
		return patch.Image{}, fmt.Errorf("resolving image %s: %w", ref, err)
	}
	img := patch.Image{Ref: ref, Digest: dgst, RawConfig: dt}
	if err := json.Unmarshal(dt, &img.Config); err != nil {
		return patch.Image{}, fmt.Errorf("parsing image config of %s: %w", ref, err)
	}
	// Pin what the resolver answered: mutRef is the reference after the
	// build's source policy, and the tag stays for people reading the LLB.
	img.Pinned = mutRef
	if named, err := reference.ParseNormalizedNamed(mutRef); err == nil && dgst != "" {
		if _, digested := named.(reference.Digested); !digested {
			if withDigest, err := reference.WithDigest(named, dgst); err == nil {
				img.Pinned = withDigest.String()
			}
		}
	}
	img.State = llb.Image(img.Pinned, llb.Platform(p), resolveMode,
		llb.WithCustomNamef("[patch %s] %s", patch.FormatPlatform(p), reference.FamiliarString(ref)))
	return img, nil
}

// solveState solves a state and returns its single reference, evaluated so
// that errors surface here rather than at export.
func solveState(ctx context.Context, c gwclient.Client, st llb.State, opts ...llb.ConstraintsOpt) (gwclient.Reference, error) {
	def, err := st.Marshal(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("marshalling LLB: %w", err)
	}
	res, err := c.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB(), Evaluate: true})
	if err != nil {
		return nil, err
	}
	return res.SingleRef()
}

// MaxReportSize is the largest report darn reads (Trivy reports of large
// images with every vulnerability's description run to tens of MiB), and
// the largest package database file.
const MaxReportSize = 256 << 20

// readChunk is the size of one ranged read: BuildKit refuses to send more
// than 16 MiB in one message, so a file is read in pieces below that.
const readChunk = 8 << 20

// FileTooLargeError says a file is larger than darn reads.
type FileTooLargeError struct {
	Path  string
	Size  int64
	Limit int64
}

func (e *FileTooLargeError) Error() string {
	return fmt.Sprintf("%s is %d MiB; darn reads files up to %d MiB", e.Path, e.Size>>20, e.Limit>>20)
}

// readFile reads a whole file from ref in ranged pieces, up to limit bytes.
func readFile(ctx context.Context, ref gwclient.Reference, path string, limit int64) ([]byte, error) {
	st, err := ref.StatFile(ctx, gwclient.StatRequest{Path: path})
	if err != nil {
		return nil, err
	}
	if st.Size > limit {
		return nil, &FileTooLargeError{Path: path, Size: st.Size, Limit: limit}
	}
	out := make([]byte, 0, st.Size)
	for {
		dt, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: path, Range: &gwclient.FileRange{Offset: len(out), Length: readChunk}})
		if err != nil {
			return nil, err
		}
		out = append(out, dt...)
		if int64(len(out)) > limit {
			return nil, &FileTooLargeError{Path: path, Size: int64(len(out)), Limit: limit}
		}
		if len(dt) < readChunk {
			return out, nil
		}
	}
}

// refFS reads a solved image's files for the patch core (distros.FS);
// BuildKit resolves every path inside the reference's root.
type refFS struct{ ref gwclient.Reference }

func (r refFS) ReadFile(ctx context.Context, name string) ([]byte, error) {
	return readFile(ctx, r.ref, name, MaxReportSize)
}

func (r refFS) ReadDir(ctx context.Context, name string) ([]fs.FileInfo, error) {
	entries, err := r.ref.ReadDir(ctx, gwclient.ReadDirRequest{Path: name})
	if err != nil {
		return nil, err
	}
	out := make([]fs.FileInfo, len(entries))
	for i, e := range entries {
		out[i] = &fsutil.StatInfo{Stat: e}
	}
	return out, nil
}

func (r refFS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	st, err := r.ref.StatFile(ctx, gwclient.StatRequest{Path: name})
	if err != nil {
		return nil, err
	}
	return &fsutil.StatInfo{Stat: st}, nil
}
