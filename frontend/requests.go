package frontend

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/subrequests"
	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/solver/pb"
	"golang.org/x/sync/errgroup"

	"github.com/darn-dev/darn/patch"
)

// planRequest is darn's own subrequest: `--call plan` prints the update
// plan per platform without patching anything.
var planRequest = subrequests.Request{
	Name:        patch.RequestPlan,
	Version:     "1.0.0",
	Type:        subrequests.TypeRPC,
	Description: "Show the update plan per platform (upgrade, already fixed, not installed, no fix) without patching",
	Metadata:    []subrequests.Named{{Name: "result.json"}, {Name: "result.txt"}},
}

// handleSubrequest answers subrequests; ok is false for a normal build.
func (p *patcher) handleSubrequest(ctx context.Context) (*gwclient.Result, bool, error) {
	switch p.bc.BuildOpts().Opts[patch.KeyRequestID] {
	case "":
		return nil, false, nil
	case subrequests.RequestSubrequestsDescribe:
		res, err := describe()
		return res, true, err
	case planRequest.Name:
		res, err := p.plan(ctx)
		return res, true, err
	}
	return p.bc.HandleSubrequest(ctx, dockerui.RequestHandler{Outline: p.outline, Lint: p.lint})
}

// describe lists the subrequests darn answers.
func describe() (*gwclient.Result, error) {
	all := []subrequests.Request{outline.SubrequestsOutlineDefinition, lint.SubrequestLintDefinition, planRequest, subrequests.SubrequestsDescribeDefinition}
	dt, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshalling subrequests: %w", err)
	}
	var b bytes.Buffer
	if err := subrequests.PrintDescribe(dt, &b); err != nil {
		return nil, fmt.Errorf("printing subrequests: %w", err)
	}
	return result(dt, b.Bytes(), subrequests.SubrequestsDescribeDefinition.Version), nil
}

// outline lists darn's options as build arguments, with their current values.
func (p *patcher) outline(context.Context) (*outline.Outline, error) {
	image := ""
	if p.opts.Image != nil {
		image = p.opts.Image.String()
	}
	return &outline.Outline{
		Name:        "darn",
		Description: "Patch the vulnerable OS packages of an image in place, adding one layer",
		Args: []outline.Arg{
			{Name: patch.KeyImage, Description: "image to patch (or the Patchfile's FROM)", Value: image},
			{Name: patch.KeyReport, Description: "scanner report inside the named context \"report\"", Value: p.opts.ReportFile},
			{Name: patch.KeyVEXAttestation, Description: "attach the OpenVEX document of the verified fixes as an in-toto attestation", Value: strconv.FormatBool(p.opts.AttestVEX)},
			{Name: "SOURCE_DATE_EPOCH", Description: "timestamp of the patch, for reproducible images"},
			{Name: "HTTP_PROXY", Description: "proxy for the package manager (also HTTPS_PROXY, NO_PROXY)"},
		},
	}, nil
}

// lint checks the inputs without patching: the image option or Patchfile
// and the report. A report with nothing fixable is a warning.
func (p *patcher) lint(ctx context.Context) (*lint.LintResults, error) {
	if err := p.load(ctx); err != nil {
		return nil, err
	}
	res := &lint.LintResults{Warnings: []lint.Warning{}, Sources: []*pb.SourceInfo{{Filename: p.opts.ReportFile, Language: "JSON"}}}
	fixable := 0
	for _, r := range p.allReports {
		for _, pkg := range r.Report.Packages {
			for _, v := range pkg.Vulnerabilities {
				if v.Fixable() {
					fixable++
				}
			}
		}
	}
	if fixable == 0 && !p.opts.UpdateAll {
		res.Warnings = append(res.Warnings, lint.Warning{
			RuleName:    "NothingFixable",
			Description: "The report lists no OS package vulnerability with a fixed version: darn has nothing to patch",
			Location:    &pb.Location{SourceIndex: 0, Ranges: []*pb.Range{{Start: &pb.Position{Line: 1}, End: &pb.Position{Line: 1}}}},
		})
	}
	return res, nil
}

// plan answers `--call plan`: probe and plan every platform, upgrade none.
func (p *patcher) plan(ctx context.Context) (*gwclient.Result, error) {
	if err := p.load(ctx); err != nil {
		return nil, err
	}
	sums := make([]patch.Summary, len(p.targets))
	eg, ctx := errgroup.WithContext(ctx)
	for i, t := range p.targets {
		if !t.Patch {
			sums[i] = patch.Summary{Platform: patch.FormatPlatform(t.Platform), Image: p.opts.Image.String(), Kept: true}
			continue
		}
		eg.Go(func() error {
			pl := t.Platform
			pp, err := p.planPlatform(ctx, &pl)
			sums[i] = pp.summary
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	dt, err := json.MarshalIndent(sums, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshalling plan: %w", err)
	}
	return result(dt, patch.PlanText(sums), planRequest.Version), nil
}

// result is a subrequest answer in the shape buildx prints.
func result(js, txt []byte, version string) *gwclient.Result {
	res := gwclient.NewResult()
	res.AddMeta("result.json", js)
	res.AddMeta("result.txt", txt)
	res.AddMeta("version", []byte(version))
	return res
}
