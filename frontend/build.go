package frontend

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/report"
)

// errNoReport is returned when the named context "report" is missing.
var errNoReport = errors.New(`no report: pass the report's directory as the named context "report" ` +
	`(buildctl --local report=DIR --opt context:report=local:report; buildx --build-context report=DIR)`)

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
	opts, err := parseOptions(bc.BuildOpts().Opts)
	if err != nil {
		return nil, err
	}
	p := &patcher{c: c, bc: bc, opts: opts}
	if res, ok, err := p.handleSubrequest(ctx); err != nil || ok {
		return res, err
	}
	if err := p.load(ctx); err != nil {
		return nil, err
	}
	rb, err := bc.Build(ctx, p.patch)
	if err != nil {
		return nil, err
	}
	if err := p.addSummary(rb); err != nil {
		return nil, err
	}
	return rb.Finalize()
}

// load reads the inputs every platform shares: the image to patch (from a
// Patchfile when no option names it) and the report.
func (p *patcher) load(ctx context.Context) error {
	if p.opts.Image == nil {
		image, err := p.readPatchfile(ctx)
		if err != nil {
			return err
		}
		p.opts.Image = image
	}
	if p.opts.UpdateAll {
		// Every upgrade the sources offer is planned; a report adds nothing.
		return nil
	}
	dt, err := readReport(ctx, p.c, p.bc, p.opts.ReportFile)
	if err != nil {
		return err
	}
	if p.report, err = report.Parse(dt); err != nil {
		return fmt.Errorf("reading report %s: %w", p.opts.ReportFile, err)
	}
	return nil
}

// readPatchfile reads the Dockerfile-shaped Patchfile from the build's
// dockerfile context and returns the image it names.
func (p *patcher) readPatchfile(ctx context.Context) (reference.Named, error) {
	src, err := p.bc.ReadEntrypoint(ctx, "Dockerfile")
	if err != nil {
		return nil, fmt.Errorf("%w (reading a Patchfile: %w)", errNoImage, err)
	}
	image, err := parsePatchfile(src.Data, p.bc.BuildArgs)
	if err != nil {
		return nil, withSource(err, src.SourceMap)
	}
	named, err := parseImage(image)
	if err != nil {
		return nil, withSource(fmt.Errorf("parsing image reference %q in %s: %w", image, src.Filename, err), src.SourceMap)
	}
	return named, nil
}

// patcher holds what every platform's patch shares.
type patcher struct {
	c      gwclient.Client
	bc     *dockerui.Client
	opts   Options
	report report.Report

	mu        sync.Mutex
	summaries []Summary
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
func (p *patcher) record(s Summary) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.summaries = append(p.summaries, s)
}

// formatPlatform renders a platform for step names and messages.
func formatPlatform(p ocispecs.Platform) string {
	return platforms.FormatAll(p)
}
