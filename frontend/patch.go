package frontend

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/distros/deb"
	darnllb "github.com/darn-dev/darn/llb"
	"github.com/darn-dev/darn/plan"
	"github.com/darn-dev/darn/report"
)

// planned is one platform's probe and plan, before any upgrade.
type planned struct {
	platform ocispecs.Platform
	img      image
	probe    gwclient.Reference
	db       pkgDB
	// report is the platform's report, read from reportFile; zero in
	// update-all mode.
	report     report.Report
	reportFile string
	// tooling is the pinned tooling image for an image without a package
	// manager; nil otherwise.
	tooling *image
	summary Summary
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
	rep := p.reportFor(pl)
	if err := checkReportArch(rep, imagePlatform(img)); err != nil {
		return planned{}, err
	}
	db, err := readPackages(ctx, probe, rep.Report.OS)
	if err != nil {
		return planned{}, fmt.Errorf("reading packages of %s: %w", img.Ref, err)
	}
	rel := db.release
	pp := planned{platform: pl, img: img, probe: probe, db: db, report: rep.Report, reportFile: rep.File}
	pp.summary = Summary{Platform: formatPlatform(pl), Image: img.Ref.String(), Digest: img.Digest.String(), OS: rel.ID + " " + rel.VersionID}
	if !db.packageManager {
		if err := p.useTooling(ctx, &pp); err != nil {
			return planned{}, err
		}
	}
	if pp.summary.Plan, err = p.makePlan(ctx, pp); err != nil {
		return planned{}, fmt.Errorf("planning %s: %w", img.Ref, err)
	}
	p.warnPlan(ctx, pp)
	return pp, nil
}

// makePlan plans from the report, or in update-all mode from what the
// image's sources offer, asked of apt in the image (or tooling image).
func (p *patcher) makePlan(ctx context.Context, pp planned) (plan.Plan, error) {
	if !p.opts.UpdateAll {
		return plan.Build(pp.report, pp.db.installed, deb.Versions{})
	}
	runner := pp.img.State
	if pp.tooling != nil {
		runner = pp.tooling.State
	}
	ref, err := solveState(ctx, p.c, deb.Upgradable(runner, pp.db.installed, p.installOptions(pp)))
	if err != nil {
		return plan.Plan{}, fmt.Errorf("listing upgradable packages: %w", explainStep(err))
	}
	dt, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: deb.UpgradableFile})
	if err != nil {
		return plan.Plan{}, fmt.Errorf("listing upgradable packages: %w", err)
	}
	candidates, err := deb.ParseUpgradable(dt)
	if err != nil {
		return plan.Plan{}, err
	}
	return plan.AllUpgrades(pp.db.installed, candidates, deb.Versions{})
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
	ref, changes, below, err := p.install(ctx, pp)
	if err != nil {
		return nil, err
	}
	sum.Changes, sum.BelowFixed = changes, below
	p.record(sum)
	if p.opts.AttestVEX {
		att, err := p.vexAttestation(ctx, sum)
		if err != nil {
			return nil, err
		}
		if att != nil {
			p.keepAttestation(pp.platform, att)
		}
	}
	epoch, err := p.epoch()
	if err != nil {
		return nil, err
	}
	cfg := patchedConfig(img, changes, epoch)
	return &dockerui.BuildResult{Reference: ref, Image: &cfg, BaseImage: &img.Config, Epoch: p.epochOpt(epoch)}, nil
}

// install runs the upgrade, in the image or from the tooling image, then
// reads the package database back from the patched root and checks every
// planned package reached its fixed version.
func (p *patcher) install(ctx context.Context, pp planned) (gwclient.Reference, []Change, []plan.Item, error) {
	pln := pp.summary.Plan
	patched, err := p.upgrade(pp)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("building upgrade of %s: %w", pp.img.Ref, err)
	}
	ref, err := solveState(ctx, p.c, patched)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("upgrading packages of %s: %w", pp.img.Ref, explainStep(err))
	}
	after, err := readDB(ctx, ref)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading back the package database: %w", err)
	}
	err = verify(pln, after, deb.Versions{})
	if err == nil {
		return ref, changes(pln, pp.db.installed, after), nil, nil
	}
	short, ok := errors.AsType[*ShortfallError](err)
	if !ok || !p.opts.IgnoreErrors {
		return nil, nil, nil, err
	}
	// --ignore-errors: keep the image, say what fell short, and claim no
	// fix for those packages.
	p.info(ctx, pp.img, err.Error())
	return ref, changes(withoutItems(pln, short.Packages), pp.db.installed, after), short.Packages, nil
}

// withoutItems returns plan without the given items, so that their
// changes carry no fixes.
func withoutItems(pl plan.Plan, drop []plan.Item) plan.Plan {
	gone := map[string]bool{}
	for _, it := range drop {
		gone[it.Name] = true
	}
	var out plan.Plan
	for _, it := range pl.Items {
		if !gone[it.Name] {
			out.Items = append(out.Items, it)
		}
	}
	return out
}

// installOptions are the options of every apt step for a platform.
func (p *patcher) installOptions(pp planned) deb.InstallOptions {
	opt := deb.InstallOptions{
		Platform:     pp.platform,
		Proxy:        darnllb.ProxyFromBuildArgs(p.bc.BuildArgs),
		IgnoreCache:  p.bc.IsNoCache(noCacheStep),
		Network:      p.bc.NetworkMode,
		Mirrors:      p.opts.Mirrors,
		FetchTimeout: p.opts.FetchTimeout,
		SkipMissing:  p.opts.IgnoreErrors,
		Base:         pp.img.Pinned,
	}
	if pp.tooling != nil {
		opt.Tooling = pp.tooling.Pinned
	}
	return opt
}

// upgrade returns the patched root's LLB. The upgraded root is exported as
// is, not as Merge(base, Diff(base, upgraded)): its one exec step (or the
// target mount of the tooling step) on the pinned base already is exactly
// one new layer, and a merged copy was measured to come back broken from
// the same daemon when a patched tag is patched again.
func (p *patcher) upgrade(pp planned) (llb.State, error) {
	opt := p.installOptions(pp)
	if pp.tooling != nil {
		return deb.InstallWithTooling(pp.img.State, pp.tooling.State, pp.summary.Plan, opt)
	}
	return deb.Install(pp.img.State, pp.summary.Plan, opt)
}

// StepError says in words why a patch step failed, by the exit code its
// script chose; the step's own output, above in the progress, has the
// details.
type StepError struct {
	Code   uint32
	Reason string
	Err    error
}

func (e *StepError) Error() string { return e.Reason + ": " + e.Err.Error() }

func (e *StepError) Unwrap() error { return e.Err }

// stepReasons are the exit codes of the family scripts (common.sh, root.sh).
var stepReasons = map[uint32]string{
	100: "no version at or above the fixed one is available from the image's repositories (see the step's output)",
	101: "refreshing the package indexes failed: a repository failed or did not answer within the fetch timeout (fetch-timeout; see the step's output)",
	102: "refused to write into the image: a path in it cannot be resolved safely (see the step's output)",
}

// explainStep wraps a failed step's error in a StepError when its exit
// code is one of the scripts' own.
func explainStep(err error) error {
	var exit *gwpb.ExitError
	if !errors.As(err, &exit) {
		return err
	}
	if reason, ok := stepReasons[exit.ExitCode]; ok {
		return &StepError{Code: exit.ExitCode, Reason: reason, Err: err}
	}
	return err
}
