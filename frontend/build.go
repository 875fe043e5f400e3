package frontend

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/distros/all"
	"github.com/darn-dev/darn/patch"
	"github.com/darn-dev/darn/policy/rules"
)

// noCacheStep is the name `--no-cache-filter` matches for the upgrade step;
// a bare `no-cache` applies to every step.
const noCacheStep = "patch"

// Build is the gateway frontend entry point: it patches the image named by
// the "image" option (or a Patchfile's FROM) for every target platform and
// returns the patched image with its config. Subrequests (--call outline,
// --check, --call plan) are answered without building.
func Build(ctx context.Context, c gwclient.Client) (*gwclient.Result, error) {
	if err := checkCaps(c.BuildOpts()); err != nil {
		return nil, err
	}
	bc, err := dockerui.NewClient(c)
	if err != nil {
		return nil, fmt.Errorf("reading build options: %w", err)
	}
	opts, err := patch.ParseOptions(bc.BuildOpts().Opts)
	if err != nil {
		return nil, err
	}
	if opts.AttestVEX {
		if err := checkAttestCaps(c); err != nil {
			return nil, err
		}
	}
	p := &patcher{c: c, bc: bc, opts: opts, families: all.Families(patch.Version)}
	if t, ok, err := patch.SourceDateEpoch(bc.BuildArgs); err != nil {
		return nil, err
	} else if ok {
		p.sourceDateEpoch = &t
	}
	if res, ok, err := p.handleSubrequest(ctx); err != nil || ok {
		return res, err
	}
	if err := p.load(ctx); err != nil {
		return nil, err
	}
	res, err := p.build(ctx)
	if err != nil {
		return nil, err
	}
	if err := p.addSummary(res); err != nil {
		return nil, err
	}
	return res, nil
}

// patcher holds what every platform's patch shares.
type patcher struct {
	c        gwclient.Client
	bc       *dockerui.Client
	opts     patch.Options
	families distros.Registry
	// targets are the output's platforms; index says the image is an
	// index, whose kept platforms are exported too.
	targets []patch.Target
	index   bool
	// allReports are the reports read; reports maps each platform to
	// patch (formatted, normalized) to its own. Empty in update-all mode.
	allReports []patch.NamedReport
	reports    map[string]patch.NamedReport
	// policy is the patch policy, when one is set.
	policy *rules.Policy
	// sourceDateEpoch is the build arg SOURCE_DATE_EPOCH, when set.
	sourceDateEpoch *time.Time
	// attestations holds each patched platform's OpenVEX document
	// (vex-attestation), and annotations its manifest's annotations
	// (lineage-annotations), by normalized platform.
	attestations map[string]gwclient.Reference
	annotations  map[string]map[string]string

	mu        sync.Mutex
	summaries []patch.Summary
}

// load reads the inputs every platform shares: the image to patch (from a
// Patchfile when no option names it), the platforms to patch and keep,
// and the reports, each assigned to its platform before anything runs.
func (p *patcher) load(ctx context.Context) error {
	if p.opts.Image == nil {
		image, err := p.readPatchfile(ctx)
		if err != nil {
			return err
		}
		p.opts.Image = image
	}
	var err error
	if p.targets, p.index, err = p.resolveTargets(ctx); err != nil {
		return err
	}
	if p.opts.PolicyFile != "" {
		if p.policy, err = loadPolicy(ctx, p.c, p.bc, p.opts.PolicyFile); err != nil {
			return err
		}
	}
	if p.opts.UpdateAll {
		// Every upgrade the sources offer is planned; a report adds nothing.
		return nil
	}
	if p.allReports, err = loadReports(ctx, p.c, p.bc, p.opts.ReportFile); err != nil {
		return err
	}
	p.reports, err = patch.AssignReports(p.allReports, patch.PatchedPlatforms(p.targets))
	return err
}

// readPatchfile reads the Dockerfile-shaped Patchfile from the build's
// dockerfile context and returns the image it names.
func (p *patcher) readPatchfile(ctx context.Context) (reference.Named, error) {
	src, err := p.bc.ReadEntrypoint(ctx, "Dockerfile")
	if err != nil {
		return nil, fmt.Errorf("%w (reading a Patchfile: %w)", patch.ErrNoImage, err)
	}
	image, err := patch.ParsePatchfile(src.Data, p.bc.BuildArgs)
	if err != nil {
		return nil, withSource(err, src.SourceMap)
	}
	named, err := patch.ParseImage(image)
	if err != nil {
		return nil, withSource(fmt.Errorf("parsing image reference %q in %s: %w", image, src.Filename, err), src.SourceMap)
	}
	return named, nil
}

// platform returns the target platform, or the worker's when none was
// requested: the image is patched as the builder would run it.
func (p *patcher) platform(target *ocispecs.Platform) ocispecs.Platform {
	if target != nil {
		return platforms.Normalize(*target)
	}
	return platforms.Normalize(p.bc.BuildPlatforms[0])
}

// record keeps a platform's summary for the result metadata.
func (p *patcher) record(s patch.Summary) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.summaries = append(p.summaries, s)
}
