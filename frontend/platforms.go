package frontend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/darn-dev/darn/patch"
)

// resolveTargets decides the output's platforms. For an image index every
// platform of it is in the output: all are patched, or those the
// "platform" option names, the others kept as they are (left out with
// patched-only). A single-platform image (or a builder that cannot list
// an index) gives the requested platforms, or the builder's own, all
// patched.
func (p *patcher) resolveTargets(ctx context.Context) ([]patch.Target, bool, error) {
	listed, err := p.indexPlatforms(ctx, p.bc.TargetPlatforms)
	if err != nil {
		return nil, false, err
	}
	if len(listed) == 0 {
		var ts []patch.Target
		for _, pl := range p.bc.TargetPlatforms {
			ts = append(ts, patch.Target{Platform: platforms.Normalize(pl), Patch: true})
		}
		if len(ts) == 0 {
			ts = []patch.Target{{Platform: p.platform(nil), Patch: true}}
		}
		return ts, false, nil
	}
	ts, err := patch.SelectTargets(listed, p.bc.TargetPlatforms)
	var pe *patch.PlatformError
	if errors.As(err, &pe) {
		pe.Image = reference.FamiliarString(p.opts.Image)
	}
	if err != nil || !p.opts.PatchedOnly {
		return ts, true, err
	}
	ts = slices.DeleteFunc(ts, func(t patch.Target) bool { return !t.Patch })
	if len(ts) > 1 {
		return ts, true, nil
	}
	// One platform is exported as a single image, which a Docker image
	// store can load; dockerui builds it, for the index's platform
	// rather than the builder's.
	p.bc.TargetPlatforms = []ocispecs.Platform{ts[0].Platform}
	return ts, false, nil
}

// indexPlatforms lists the platforms of the image's index; nil for a
// single-platform image. The gateway API has no call that returns an
// index, so darn asks the builder for each platform of patch.ProbeList
// and keeps those whose config says that platform. (BuildKit's source
// metadata resolver can return the index with its attestation chain, but
// v0.34 crashes the daemon when asked so about a single manifest or a
// Docker manifest list.)
func (p *patcher) indexPlatforms(ctx context.Context, requested []ocispecs.Platform) ([]ocispecs.Platform, error) {
	// A single manifest answers for any platform; an index does not know
	// this one.
	_, err := p.resolveConfig(ctx, ocispecs.Platform{OS: "linux", Architecture: "darn-probe"})
	if err == nil {
		return nil, nil
	}
	if !isNoPlatformMatch(err) {
		return nil, fmt.Errorf("resolving image %s: %w", p.opts.Image, err)
	}
	probes := patch.ProbeList(requested)
	found := make([]*ocispecs.Platform, len(probes))
	configs := make([]digest.Digest, len(probes))
	eg, ctx := errgroup.WithContext(ctx)
	for i, pl := range probes {
		eg.Go(func() error {
			dt, err := p.resolveConfig(ctx, pl)
			if isNoPlatformMatch(err) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("resolving image %s for %s: %w", p.opts.Image, patch.FormatPlatform(pl), err)
			}
			found[i], configs[i] = patch.ConfigPlatform(dt, pl), digest.FromBytes(dt)
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return patch.UniquePlatforms(found, configs), nil
}

// resolveConfig resolves the image's config for a platform.
func (p *patcher) resolveConfig(ctx context.Context, pl ocispecs.Platform) ([]byte, error) {
	_, _, dt, err := p.c.ResolveImageConfig(ctx, p.opts.Image.String(), sourceresolver.Opt{
		LogName:  fmt.Sprintf("[patch] look for %s in %s", patch.FormatPlatform(pl), reference.FamiliarString(p.opts.Image)),
		ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &pl, ResolveMode: p.bc.ImageResolveMode.String()},
	})
	return dt, err
}

// isNoPlatformMatch says the index has no image for the platform asked,
// in the words containerd's and BuildKit's resolvers use.
func isNoPlatformMatch(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no match for platform")
}
