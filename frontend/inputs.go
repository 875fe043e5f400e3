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
