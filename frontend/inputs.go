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
	img := image{Ref: ref, Digest: dgst}
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
	img.State = llb.Image(pinned, llb.Platform(p), resolveMode,
		llb.WithCustomNamef("[patch %s] %s", formatPlatform(p), reference.FamiliarString(ref)))
	return img, nil
}

// readReport reads the report file from the named context "report". The
// local transfer is limited to that one file.
func readReport(ctx context.Context, c gwclient.Client, bc *dockerui.Client, file string) ([]byte, error) {
	nc, err := bc.NamedContext(reportContext, dockerui.ContextOpt{
		// Exactly one named file is read: a .dockerignore has no say.
		NoDockerignore: true,
		AsyncLocalOpts: func() []llb.LocalOption {
			return []llb.LocalOption{llb.FollowPaths([]string{file})}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("loading report context: %w", err)
	}
	if nc == nil {
		return nil, errNoReport
	}
	st, _, err := nc.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading report context: %w", err)
	}
	ref, err := solveState(ctx, c, *st)
	if err != nil {
		return nil, fmt.Errorf("loading report context: %w", err)
	}
	dt, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: file})
	if err != nil {
		return nil, fmt.Errorf("reading report %s: %w", file, err)
	}
	return dt, nil
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
