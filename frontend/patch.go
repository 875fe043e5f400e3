package frontend

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/distros"
	darnllb "github.com/darn-dev/darn/llb"
	"github.com/darn-dev/darn/patch"
	"github.com/darn-dev/darn/plan"
	"github.com/darn-dev/darn/policy/rules"
)

// planned is one platform's probe and plan, before any upgrade.
type planned struct {
	// env.Image is the image darn's layer goes on: the image to patch, or
	// the original it was patched from; in is its inspection.
	env patch.Env
	in  patch.Inspection
	// probe is the image to patch, returned as it is when there is
	// nothing to patch.
	probe   gwclient.Reference
	report  patch.NamedReport
	summary patch.Summary
	lineage patch.Lineage
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
	rep := p.reports[patch.PlatformKey(pl)]
	if err := patch.CheckReportArch(rep, img.Platform()); err != nil {
		return planned{}, err
	}
	in, err := patch.Inspect(ctx, p.families, refFS{probe}, rep.Report.OS)
	if err != nil {
		return planned{}, fmt.Errorf("reading packages of %s: %w", img.Ref, err)
	}
	pp := planned{env: p.env(pl, img), in: in, probe: probe, report: rep, lineage: patch.FirstLineage(img)}
	pp.summary = patch.Summary{Platform: patch.FormatPlatform(pl), Image: img.Ref.String(), Digest: img.Digest.String(), OS: in.OS()}
	if !in.Installed.PackageManager {
		if err := p.useTooling(ctx, &pp); err != nil {
			return planned{}, err
		}
	}
	var res rules.Result
	if pp.summary.Plan, res, err = p.makePlan(ctx, pp); err != nil {
		return planned{}, fmt.Errorf("planning %s: %w", img.Ref, err)
	}
	if err := p.applyPolicy(ctx, &pp, res); err != nil {
		return planned{}, err
	}
	p.warn(ctx, img.State, 1, pp.in.Warnings(rep, pp.summary.Plan, img.Ref.String(), pp.summary.Platform)...)
	if pp.summary.Plan.Err() == nil {
		if err := p.fromOriginal(ctx, &pp); err != nil {
			return planned{}, err
		}
		if err := p.pin(ctx, &pp); err != nil {
			return planned{}, fmt.Errorf("planning %s: %w", img.Ref, err)
		}
	}
	return pp, nil
}

// pin lets a family whose package managers cannot choose versions
// themselves choose each upgrade's exact version, from what the
// repositories offer (a step that lists them).
func (p *patcher) pin(ctx context.Context, pp *planned) error {
	st, answer, ok, err := pp.in.Available(pp.summary.Plan, pp.env)
	if !ok || err != nil {
		return err
	}
	ref, err := solveState(ctx, p.c, st)
	if err != nil {
		return fmt.Errorf("listing available versions: %w", explainStep(err))
	}
	dt, err := readFile(ctx, ref, answer, MaxReportSize)
	if err != nil {
		return fmt.Errorf("listing available versions: %w", err)
	}
	pp.summary.Plan, err = pp.in.Pin(pp.summary.Plan, dt, pp.env)
	return err
}

// fromOriginal makes a patch of an image darn patched before start again
// from the original its lineage names: the original's layers and one
// layer holding every fix so far, the earlier ones and the new ones,
// instead of a layer per patch. When the original cannot be had, or a
// layer was added on top of darn's, the new layer goes on top, as on any
// image, and says why.
func (p *patcher) fromOriginal(ctx context.Context, pp *planned) error {
	img := pp.env.Image
	l, ok, err := patch.ReadLineage(img.Config)
	if err != nil {
		p.stack(ctx, pp, fmt.Sprintf("%s: darn's lineage does not read (%v): the new layer goes on top", img.Ref, err))
		return nil
	}
	if !ok {
		return nil
	}
	pp.lineage = l
	if !l.Replaceable(img) {
		p.stack(ctx, pp, fmt.Sprintf("%s has layers on top of darn's: darn's earlier layer stays, and the new one goes on top", img.Ref))
		return nil
	}
	orig, in, err := p.original(ctx, l, pp)
	if err != nil {
		p.stack(ctx, pp, fmt.Sprintf("%s: the original image it was patched from is unavailable (%v): the new layer goes on top of darn's earlier one", img.Ref, err))
		return nil
	}
	carried, err := l.Carried(pp.summary.Plan, in.Installed.Packages, in.Family)
	if err != nil {
		return fmt.Errorf("planning %s from its original: %w", img.Ref, err)
	}
	pp.env.Image, pp.in, pp.summary.Plan, pp.summary.Original = orig, in, carried, orig.Pinned
	p.warn(ctx, img.State, 0, fmt.Sprintf("%s was patched by darn from %s: patching that again with every fix so far; darn's earlier layer is replaced", img.Ref, orig.Pinned))
	return nil
}

// original resolves, probes and inspects the original image a lineage
// names, for the platform.
func (p *patcher) original(ctx context.Context, l patch.Lineage, pp *planned) (patch.Image, patch.Inspection, error) {
	ref, err := l.Original()
	if err != nil {
		return patch.Image{}, patch.Inspection{}, err
	}
	orig, err := resolveImage(ctx, p.c, p.bc, ref, pp.env.Platform)
	if err != nil {
		return patch.Image{}, patch.Inspection{}, err
	}
	probe, err := solveState(ctx, p.c, orig.State)
	if err != nil {
		return patch.Image{}, patch.Inspection{}, fmt.Errorf("loading image %s: %w", orig.Ref, err)
	}
	in, err := patch.Inspect(ctx, p.families, refFS{probe}, pp.report.Report.OS)
	return orig, in, err
}

// stack warns why the new layer goes on top of darn's earlier one, and
// keeps the reason in the summary: a builder's warning on a step that
// has already finished may never reach the user's progress display.
func (p *patcher) stack(ctx context.Context, pp *planned, why string) {
	pp.summary.Stacked = why
	p.warn(ctx, pp.env.Image.State, 1, why)
}

// env is what every step of a platform shares.
func (p *patcher) env(pl ocispecs.Platform, img patch.Image) patch.Env {
	return patch.Env{
		Platform: pl, Image: img, Options: p.opts, SourceDateEpoch: p.sourceDateEpoch,
		Proxy: darnllb.ProxyFromBuildArgs(p.bc.BuildArgs), Network: p.bc.NetworkMode, IgnoreCache: p.bc.IsNoCache(noCacheStep),
		NoContentHash: canSkipContentHash(p.c.BuildOpts()),
	}
}

// useTooling resolves and pins the tooling image that patches an image
// without a package manager.
func (p *patcher) useTooling(ctx context.Context, pp *planned) error {
	img := pp.env.Image
	ref, err := pp.in.ToolingImage(p.opts.ToolingImage)
	if err != nil {
		return fmt.Errorf("patching %s: %w", img.Ref, err)
	}
	tooling, err := resolveImage(ctx, p.c, p.bc, ref, pp.env.Platform)
	if err != nil {
		return fmt.Errorf("%s needs its tooling image, which is unavailable: %w", img.Ref, err)
	}
	pp.env.Tooling = &tooling
	pp.summary.ToolingImage, pp.summary.ToolingDigest = tooling.Ref.String(), tooling.Digest.String()
	why := "has no package manager"
	if m := pp.in.Installed.Manager; m != "" {
		// A family whose own installer always runs from the tooling image
		// (apk: darn-apk) names it.
		why = "is patched by " + m
	}
	p.warn(ctx, img.State, 0, fmt.Sprintf("%s %s (%s): patching it from the tooling image %s@%s",
		img.Ref, why, pp.summary.Platform, tooling.Ref, tooling.Digest))
	return nil
}

// makePlan plans from the report, or in update-all mode from what the
// image's repositories offer, asked of the image (or tooling image), with
// the patch policy's rules for the image applied.
func (p *patcher) makePlan(ctx context.Context, pp planned) (plan.Plan, rules.Result, error) {
	set := p.policySet(pp.env.Image)
	if !p.opts.UpdateAll {
		return pp.in.PlanReport(pp.report.Report, set, time.Now())
	}
	st, answer, err := pp.in.Upgradable(pp.env)
	if err != nil {
		return plan.Plan{}, rules.Result{}, err
	}
	ref, err := solveState(ctx, p.c, st)
	if err != nil {
		return plan.Plan{}, rules.Result{}, fmt.Errorf("listing upgradable packages: %w", explainStep(err))
	}
	dt, err := readFile(ctx, ref, answer, MaxReportSize)
	if err != nil {
		return plan.Plan{}, rules.Result{}, fmt.Errorf("listing upgradable packages: %w", err)
	}
	pl, err := pp.in.PlanUpgradableWith(dt, set)
	return pl, rules.Result{}, err
}

// policySet is the patch policy's rules for an image; nil without one.
func (p *patcher) policySet(img patch.Image) *rules.Set {
	if p.policy == nil {
		return nil
	}
	s := p.policy.For(img.Ref.String(), reference.FamiliarString(img.Ref))
	return &s
}

// applyPolicy records what the policy left out and the release's end of
// life in the summary, warns of them, and returns the error
// fail-on-unfixable or fail-on-eol makes of them.
func (p *patcher) applyPolicy(ctx context.Context, pp *planned, res rules.Result) error {
	img := pp.env.Image
	eol := distros.EOLStatus(pp.in.Release, time.Now(), pp.report.Report.OS.EOSL)
	pp.summary.EOL = &eol
	pp.summary.LeftOut, pp.summary.Unfixable = res.LeftOut, res.Unfixable
	msgs := res.Warnings
	if m := eol.Message(pp.in.Release); m != "" {
		msgs = append(msgs, m)
	}
	p.warn(ctx, img.State, 0, msgs...)
	return pp.in.CheckPolicy(img.Ref.String(), res, eol, p.opts.FailOnEOL)
}

// patch patches one platform: plan, install, verify. An image with nothing
// to patch is returned as it is.
func (p *patcher) patch(ctx context.Context, target *ocispecs.Platform, _ int) (*dockerui.BuildResult, error) {
	pp, err := p.planPlatform(ctx, target)
	if err != nil {
		return nil, err
	}
	sum := pp.summary
	if sum.Plan.Err() != nil {
		img := pp.env.Image
		p.record(sum)
		return &dockerui.BuildResult{Reference: pp.probe, Image: &img.Config, BaseImage: &img.Config}, nil
	}
	ref, err := p.install(ctx, pp, &sum)
	if err != nil {
		return nil, err
	}
	p.record(sum)
	created, epoch := p.epoch()
	if p.opts.AttestVEX {
		if err := p.attestVEX(ctx, pp.env.Platform, sum, created); err != nil {
			return nil, err
		}
	}
	lineage := pp.lineage.Next(sum.Changes)
	if p.opts.LineageAnnotations {
		p.keepAnnotations(pp.env.Platform, lineage.Labels())
	}
	base := pp.env.Image
	cfg := patch.PatchedConfig(base, sum.Changes, created, lineage)
	return &dockerui.BuildResult{Reference: ref, Image: &cfg, BaseImage: &base.Config, Epoch: epoch}, nil
}

// install runs the upgrade, in the image or from the tooling image, then
// reads the package database back from the patched root and checks that
// every planned package reached its fixed version.
func (p *patcher) install(ctx context.Context, pp planned, sum *patch.Summary) (gwclient.Reference, error) {
	img := pp.env.Image
	st, err := pp.in.Upgrade(sum.Plan, pp.env)
	if err != nil {
		return nil, fmt.Errorf("building upgrade of %s: %w", img.Ref, err)
	}
	ref, err := solveState(ctx, p.c, st)
	if err != nil {
		return nil, fmt.Errorf("upgrading packages of %s: %w", img.Ref, explainStep(err))
	}
	after, err := pp.in.Family.Installed(ctx, refFS{ref})
	if err != nil {
		return nil, fmt.Errorf("reading back the package database: %w", err)
	}
	changes, short, err := pp.in.Verify(sum.Plan, after.Packages, p.opts.IgnoreErrors)
	if err != nil {
		return nil, err
	}
	sum.Changes = changes
	p.warn(ctx, img.State, 0, patch.LeftOutButChanged(sum.Plan, changes)...)
	if short != nil {
		// --ignore-errors: the image is kept, and says what fell short.
		sum.BelowFixed = short.Packages
		p.warn(ctx, img.State, 0, short.Error())
	}
	return ref, nil
}

// epoch returns the time of the patch: SOURCE_DATE_EPOCH from the build
// args when set, for reproducible patches, or now. The exporter gets it
// only when the user asked: it then clamps the new layer's file times.
func (p *patcher) epoch() (time.Time, *time.Time) {
	if p.sourceDateEpoch == nil {
		return time.Now().UTC(), nil
	}
	return *p.sourceDateEpoch, p.sourceDateEpoch
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

// stepReasons are the exit codes of the families' scripts.
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
