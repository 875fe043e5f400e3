package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// target is one platform of the output image: patched, or kept as it is.
type target struct {
	Platform ocispecs.Platform
	Patch    bool
}

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
// "platform" option names, the others kept as they are (left out with
// patched-only). A single-platform
// image (or a builder that cannot list an index) gives the requested
// platforms, or the builder's own, all patched.
func (p *patcher) resolveTargets(ctx context.Context) ([]target, bool, error) {
	listed, err := p.indexPlatforms(ctx, p.bc.TargetPlatforms)
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
	if p.opts.PatchedOnly {
		ts = slices.DeleteFunc(ts, func(t target) bool { return !t.Patch })
		if len(ts) > 1 {
			return ts, true, nil
		}
		// One platform is exported as a single image, which a Docker
		// image store can load; dockerui builds it, for the index's
		// platform rather than the builder's.
		p.bc.TargetPlatforms = []ocispecs.Platform{ts[0].Platform}
		return ts, false, nil
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

// indexPlatforms lists the platforms of the image's index; nil for a
// single-platform image. The gateway API has no call that returns an
// index, so darn asks the builder for each platform an image is built for
// and keeps those whose config says that platform. (BuildKit's source
// metadata resolver can return the index with its attestation chain, but
// v0.34 crashes the daemon when asked so about a single manifest or a
// Docker manifest list.) Platforms outside probeList(requested) cannot be
// found this way.
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
	probes := probeList(requested)
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
				return fmt.Errorf("resolving image %s for %s: %w", p.opts.Image, formatPlatform(pl), err)
			}
			found[i], configs[i] = configPlatform(dt, pl), digest.FromBytes(dt)
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return uniquePlatforms(found, configs), nil
}

// resolveConfig resolves the image's config for a platform.
func (p *patcher) resolveConfig(ctx context.Context, pl ocispecs.Platform) ([]byte, error) {
	_, _, dt, err := p.c.ResolveImageConfig(ctx, p.opts.Image.String(), sourceresolver.Opt{
		LogName:  fmt.Sprintf("[patch] look for %s in %s", formatPlatform(pl), reference.FamiliarString(p.opts.Image)),
		ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &pl, ResolveMode: p.bc.ImageResolveMode.String()},
	})
	return dt, err
}

// isNoPlatformMatch says the index has no image for the platform asked,
// in the words containerd's and BuildKit's resolvers use.
func isNoPlatformMatch(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no match for platform")
}

// probeList is every platform images are commonly built for, from the
// least to the most capable variant (a resolver falls back from v7 to v6,
// never up), followed by requested platforms the list lacks.
func probeList(requested []ocispecs.Platform) []ocispecs.Platform {
	var out []ocispecs.Platform
	for _, s := range []string{
		"linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/amd64/v4", "linux/arm64",
		"linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/386", "linux/ppc64le", "linux/s390x",
		"linux/riscv64", "linux/mips64le", "linux/mips64", "linux/loong64", "windows/amd64", "windows/arm64",
	} {
		out = append(out, platforms.MustParse(s))
	}
	for _, r := range requested {
		if !slices.ContainsFunc(out, func(o ocispecs.Platform) bool { return platforms.OnlyStrict(r).Match(o) }) {
			out = append(out, platforms.Normalize(r))
		}
	}
	return out
}

// configPlatform returns the platform an image config records when it is
// the one asked for (a resolver may answer with a compatible one, e.g. 386
// for amd64), with the asked variant where the config records none; nil
// otherwise.
func configPlatform(dt []byte, asked ocispecs.Platform) *ocispecs.Platform {
	var cfg ocispecs.Image
	if json.Unmarshal(dt, &cfg) != nil {
		return nil
	}
	got := cfg.Platform
	if got.Variant == "" {
		got.Variant = asked.Variant
	}
	if !platforms.OnlyStrict(asked).Match(got) {
		return nil
	}
	return &got
}

// uniquePlatforms keeps the first platform found for each config: a
// resolver answers a variant it lacks with a lower one's config.
func uniquePlatforms(found []*ocispecs.Platform, configs []digest.Digest) []ocispecs.Platform {
	var out []ocispecs.Platform
	seen := map[digest.Digest]bool{}
	for i, pl := range found {
		if pl == nil || seen[configs[i]] {
			continue
		}
		seen[configs[i]] = true
		out = append(out, *pl)
	}
	return out
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
			return nil, &PlatformError{Platform: platformKey(req), Has: formatPlatforms(listed)}
		}
	}
	return ts, nil
}

// formatPlatforms renders platforms for messages.
func formatPlatforms(pls []ocispecs.Platform) []string {
	out := make([]string, len(pls))
	for i, pl := range pls {
		out[i] = platformKey(pl)
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
