package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// target is one platform of the output image: patched, or kept as it is.
type target struct {
	Platform ocispecs.Platform
	Patch    bool
}

// Annotations BuildKit and Docker put on an index's attestation manifests,
// which are not platforms of the image.
const (
	annotationReferenceType = "vnd.docker.reference.type"
)

// PlatformError says a requested platform is not in the image's index.
type PlatformError struct {
	Platform string
	Image    string
	Has      []string
}

func (e *PlatformError) Error() string {
	return fmt.Sprintf("image %s has no platform %s; it has %s", e.Image, e.Platform, strings.Join(e.Has, ", "))
}

// resolveTargets decides the output's platforms. For an image index every
// platform of it is in the output: all are patched, or those the
// "platform" option names, the others kept as they are. A single-platform
// image (or a builder that cannot list an index) gives the requested
// platforms, or the builder's own, all patched.
func (p *patcher) resolveTargets(ctx context.Context) ([]target, bool, error) {
	var hint *ocispecs.Platform
	if len(p.bc.TargetPlatforms) > 0 {
		hint = &p.bc.TargetPlatforms[0]
	}
	listed, err := p.indexPlatforms(ctx, hint)
	if err != nil {
		return nil, false, err
	}
	if len(listed) == 0 {
		var ts []target
		for _, pl := range p.bc.TargetPlatforms {
			ts = append(ts, target{Platform: platforms.Normalize(pl), Patch: true})
		}
		if len(ts) == 0 {
			ts = []target{{Platform: p.platform(nil), Patch: true}}
		}
		return ts, false, nil
	}
	ts, err := selectTargets(listed, p.bc.TargetPlatforms)
	if err != nil {
		return nil, false, withImage(err, p.opts.Image)
	}
	return ts, true, nil
}

// withImage names the image in a PlatformError.
func withImage(err error, ref reference.Named) error {
	if pe, ok := err.(*PlatformError); ok {
		pe.Image = reference.FamiliarString(ref)
	}
	return err
}

// indexPlatforms lists the platforms of the image's index through the
// builder's source metadata resolver (whose attestation chain carries the
// index itself); nil for a single-platform image or a builder without that
// resolver. hint is the platform the resolver should pick in the index.
func (p *patcher) indexPlatforms(ctx context.Context, hint *ocispecs.Platform) ([]ocispecs.Platform, error) {
	caps := p.c.BuildOpts().Caps
	if caps.Supports(gwpb.CapSourceMetaResolverImageAttestations) != nil {
		return nil, nil
	}
	ref := p.opts.Image.String()
	res, err := p.c.ResolveSourceMetadata(ctx, &pb.SourceOp{Identifier: "docker-image://" + ref}, sourceresolver.Opt{
		LogName: "[patch] list platforms of " + reference.FamiliarString(p.opts.Image),
		ImageOpt: &sourceresolver.ResolveImageOpt{
			Platform:         hint,
			ResolveMode:      p.bc.ImageResolveMode.String(),
			NoConfig:         true,
			AttestationChain: true,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("listing platforms of %s: %w", ref, err)
	}
	if res == nil || res.Image == nil || res.Image.AttestationChain == nil {
		return nil, nil
	}
	chain := res.Image.AttestationChain
	blob, ok := chain.Blobs[chain.Root]
	if !ok {
		return nil, nil
	}
	listed, err := parseIndexPlatforms(blob.Data)
	if err != nil {
		return nil, fmt.Errorf("listing platforms of %s: %w", ref, err)
	}
	return listed, nil
}

// parseIndexPlatforms returns an index's image platforms in index order,
// leaving out attestation manifests.
func parseIndexPlatforms(dt []byte) ([]ocispecs.Platform, error) {
	var idx ocispecs.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		return nil, fmt.Errorf("parsing image index: %w", err)
	}
	var out []ocispecs.Platform
	seen := map[string]bool{}
	for _, m := range idx.Manifests {
		if m.Platform == nil || m.Annotations[annotationReferenceType] != "" {
			continue
		}
		if m.Platform.OS == "unknown" || m.Platform.Architecture == "unknown" {
			continue
		}
		key := platforms.FormatAll(platforms.Normalize(*m.Platform))
		if !seen[key] {
			seen[key] = true
			out = append(out, *m.Platform)
		}
	}
	return out, nil
}

// selectTargets marks which of an index's platforms are patched: all when
// none is requested, else exactly the requested ones, each of which must
// be in the index.
func selectTargets(listed, requested []ocispecs.Platform) ([]target, error) {
	ts := make([]target, len(listed))
	for i, pl := range listed {
		ts[i] = target{Platform: pl, Patch: len(requested) == 0}
	}
	for _, req := range requested {
		m := platforms.OnlyStrict(req)
		found := false
		for i := range ts {
			if m.Match(ts[i].Platform) {
				ts[i].Patch, found = true, true
				break
			}
		}
		if !found {
			return nil, &PlatformError{Platform: formatPlatform(platforms.Normalize(req)), Has: formatPlatforms(listed)}
		}
	}
	return ts, nil
}

// formatPlatforms renders platforms for messages.
func formatPlatforms(pls []ocispecs.Platform) []string {
	out := make([]string, len(pls))
	for i, pl := range pls {
		out[i] = formatPlatform(platforms.Normalize(pl))
	}
	return out
}

// patchedPlatforms returns the platforms the targets patch, normalized.
func patchedPlatforms(ts []target) []ocispecs.Platform {
	var out []ocispecs.Platform
	for _, t := range ts {
		if t.Patch {
			out = append(out, platforms.Normalize(t.Platform))
		}
	}
	return out
}
