package frontend

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// image is the resolved image to patch for one platform.
type image struct {
	// Ref is the image name as given, e.g. docker.io/library/debian:12.
	Ref reference.Named
	// Digest pins the manifest that was resolved for the platform.
	Digest digest.Digest
	Config dockerspec.DockerOCIImage
	// RawConfig is the config as the registry serves it, exported
	// unchanged for a platform that is kept as it is.
	RawConfig []byte
	// Pinned is the reference State pulls: after the source policy, with
	// the resolved digest.
	Pinned string
	// State is the image pinned by digest.
	State llb.State
}

// resolveImage resolves the image config once for a platform and pins the
// digest, so the probe and the patch see the very same image even when the
// tag moves mid-build.
func resolveImage(ctx context.Context, c gwclient.Client, bc *dockerui.Client, ref reference.Named, p ocispecs.Platform) (image, error) {
	resolveMode := bc.ImageResolveMode
	if bc.IsNoCache(ref.String()) {
		resolveMode = llb.ResolveModeForcePull
	}
	mutRef, dgst, dt, err := c.ResolveImageConfig(ctx, ref.String(), sourceresolver.Opt{
		LogName:  fmt.Sprintf("[patch %s] resolve %s", formatPlatform(p), reference.FamiliarString(ref)),
		ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &p, ResolveMode: resolveMode.String()},
	})
	if err != nil {
		return image{}, fmt.Errorf("resolving image %s: %w", ref, err)
	}
	img := image{Ref: ref, Digest: dgst, RawConfig: dt}
	if err := json.Unmarshal(dt, &img.Config); err != nil {
		return image{}, fmt.Errorf("parsing image config of %s: %w", ref, err)
	}
	// Pin what the resolver answered: mutRef is the reference after the
	// build's source policy, and the tag stays for people reading the LLB.
	pinned := mutRef
	if named, err := reference.ParseNormalizedNamed(mutRef); err == nil && dgst != "" {
		if _, digested := named.(reference.Digested); !digested {
			if withDigest, err := reference.WithDigest(named, dgst); err == nil {
				pinned = withDigest.String()
			}
		}
	}
	img.Pinned = pinned
	img.State = llb.Image(pinned, llb.Platform(p), resolveMode,
		llb.WithCustomNamef("[patch %s] %s", formatPlatform(p), reference.FamiliarString(ref)))
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

// imagePlatform is the platform an image's config records.
func imagePlatform(img image) ocispecs.Platform {
	return ocispecs.Platform{OS: img.Config.OS, Architecture: img.Config.Architecture, Variant: img.Config.Variant}
}

// readFirst returns the first of paths that exists in ref, and its path.
func readFirst(ctx context.Context, ref gwclient.Reference, paths ...string) ([]byte, string, error) {
	var lastErr error
	for _, p := range paths {
		if _, err := ref.StatFile(ctx, gwclient.StatRequest{Path: p}); err != nil {
			lastErr = err
			continue
		}
		dt, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: p})
		return dt, p, err
	}
	return nil, "", lastErr
}

// MaxReportSize is the largest report darn reads (Trivy reports of large
// images with every vulnerability's description run to tens of MiB).
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
