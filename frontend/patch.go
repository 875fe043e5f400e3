package frontend

import (
	"context"
	"fmt"

	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/distros/deb"
	"github.com/darn-dev/darn/policy"
	"github.com/darn-dev/darn/report"
)

// Paths read by the probe. /usr/lib/os-release is the fallback that the
// os-release spec names for images without /etc/os-release.
var (
	osReleasePaths = []string{"/etc/os-release", "/usr/lib/os-release"}
	dpkgStatusPath = "/var/lib/dpkg/status"
)

// planned is one platform's probe and plan, before any upgrade.
type planned struct {
	platform  ocispecs.Platform
	img       image
	probe     gwclient.Reference
	installed []policy.Package
	summary   Summary
}

// planPlatform resolves and probes the image for one platform and plans
// its upgrade: the only IO before the upgrade itself.
func (p *patcher) planPlatform(ctx context.Context, target *ocispecs.Platform) (planned, error) {
	pl := p.platform(target)
	img, err := resolveImage(ctx, p.c, p.bc, p.opts.Image, pl)
	if err != nil {
		return planned{}, err
	}
	probe, err := solveState(ctx, p.c, img.State)
	if err != nil {
		return planned{}, fmt.Errorf("loading image %s: %w", img.Ref, err)
	}
	rel, installed, err := readPackages(ctx, probe, p.report.OS)
	if err != nil {
		return planned{}, fmt.Errorf("reading packages of %s: %w", img.Ref, err)
	}
	plan, err := policy.Build(p.report, installed, deb.Versions{})
	if err != nil {
		return planned{}, fmt.Errorf("planning %s: %w", img.Ref, err)
	}
	sum := Summary{Platform: formatPlatform(pl), Image: img.Ref.String(), Digest: img.Digest.String(), OS: rel.ID + " " + rel.VersionID, Plan: plan}
	p.warnPlan(ctx, img, sum.Platform, rel, plan)
	return planned{platform: pl, img: img, probe: probe, installed: installed, summary: sum}, nil
}

// patch patches one platform: plan, install, verify. An image with nothing
// to patch is returned as it is.
func (p *patcher) patch(ctx context.Context, target *ocispecs.Platform, _ int) (*dockerui.BuildResult, error) {
	pp, err := p.planPlatform(ctx, target)
	if err != nil {
		return nil, err
	}
	img, sum := pp.img, pp.summary
	if sum.Plan.Err() != nil {
		p.record(sum)
		return &dockerui.BuildResult{Reference: pp.probe, Image: &img.Config, BaseImage: &img.Config}, nil
	}
	ref, changes, err := p.install(ctx, img, pp.platform, sum.Plan, pp.installed)
	if err != nil {
		return nil, err
	}
	sum.Changes = changes
	p.record(sum)
	epoch, err := p.epoch()
	if err != nil {
		return nil, err
	}
	cfg := patchedConfig(img, changes, epoch)
	return &dockerui.BuildResult{Reference: ref, Image: &cfg, BaseImage: &img.Config, Epoch: p.epochOpt(epoch)}, nil
}

// readPackages detects the distro and reads the installed packages from the
// probed image.
func readPackages(ctx context.Context, ref gwclient.Reference, reported report.OS) (distros.Release, []policy.Package, error) {
	rel, err := detect(ctx, ref, reported)
	if err != nil {
		return rel, nil, err
	}
	status, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: dpkgStatusPath})
	if err != nil {
		return rel, nil, fmt.Errorf("reading %s: %w", dpkgStatusPath, err)
	}
	installed, err := deb.ParseStatus(status)
	return rel, installed, err
}

// detect tells the distro from the image's own os-release, which is
// authoritative; only an image without one falls back to the report's OS.
func detect(ctx context.Context, ref gwclient.Reference, reported report.OS) (distros.Release, error) {
	osRelease, _, err := readFirst(ctx, ref, osReleasePaths...)
	if err != nil {
		if rel, ok := deb.FromReport(reported.Family, reported.Version); ok {
			return rel, nil
		}
		return distros.Release{}, fmt.Errorf("reading os-release: %w", err)
	}
	if rel, ok := deb.Detect(osRelease); ok {
		return rel, nil
	}
	// Not a family darn patches: name what it is in the error.
	rel, err := distros.ParseOSRelease(osRelease)
	if err != nil {
		return rel, err
	}
	return rel, &distros.UnsupportedError{OS: rel.ID, Version: rel.VersionID}
}

// install runs the upgrade, then reads the package database back from the
// patched root and checks every planned package reached its fixed version.
func (p *patcher) install(ctx context.Context, img image, pl ocispecs.Platform, plan policy.Plan, before []policy.Package) (gwclient.Reference, []Change, error) {
	patched, err := deb.Install(img.State, plan, deb.InstallOptions{
		Platform:    pl,
		Env:         proxyEnv(p.bc.BuildArgs),
		IgnoreCache: p.bc.IsNoCache(noCacheStep),
		Network:     p.bc.NetworkMode,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("building upgrade of %s: %w", img.Ref, err)
	}
	// The upgraded root is exported as is, not as Merge(base, Diff(base,
	// upgraded)): its one exec step on the pinned base already is exactly
	// one new layer, and a merged copy of it was measured to come back
	// broken from the same daemon when a patched tag is patched again.
	ref, err := solveState(ctx, p.c, patched)
	if err != nil {
		return nil, nil, fmt.Errorf("upgrading packages of %s: %w", img.Ref, err)
	}
	status, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: dpkgStatusPath})
	if err != nil {
		return nil, nil, fmt.Errorf("reading back %s: %w", dpkgStatusPath, err)
	}
	after, err := deb.ParseStatus(status)
	if err != nil {
		return nil, nil, fmt.Errorf("reading back %s: %w", dpkgStatusPath, err)
	}
	if err := verify(plan, after, deb.Versions{}); err != nil {
		return nil, nil, err
	}
	return ref, changes(plan, before, after), nil
}
