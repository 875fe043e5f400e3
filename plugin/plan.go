package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"

	"github.com/docker/cli/cli/command"
	"github.com/moby/buildkit/client"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/darn-dev/darn/frontend"
	"github.com/darn-dev/darn/patch"
)

// Exit codes of "docker patch plan", in the style of terraform plan
// -detailed-exitcode: scripts tell "nothing to do" from "changes pending"
// without parsing output. Any error, a usage error too, is exitError.
const (
	exitNothingToDo    = exitOK
	exitChangesPending = 2
)

// errChangesPending ends "docker patch plan" with exitChangesPending; it
// is no failure and prints nothing.
var errChangesPending = errors.New("changes pending")

// PlanSchemaVersion is the version of "docker patch plan --format json"
// (docs/plan.md).
const PlanSchemaVersion = 1

// planDocument is the JSON plan: one summary per platform, as the
// frontend's plan subrequest answers, and what it adds up to.
type planDocument struct {
	SchemaVersion int             `json:"schemaVersion"`
	Image         string          `json:"image"`
	Status        string          `json:"status"`
	Platforms     []patch.Summary `json:"platforms"`
}

// planOptions are the flags of "docker patch plan".
type planOptions struct {
	imageOptions
	format string
}

const planExamples = `  # What would a patch of app:1.4 from this report do, under this policy?
  docker patch plan app:1.4 --report report.json --policy policy.yaml

  # In a script: 0 nothing to do, 2 changes pending, 1 error
  docker patch plan app:1.4 --update-all --format json > plan.json; echo $?`

// planCmd returns "docker patch plan".
func planCmd(dockerCLI command.Cli) *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:     "plan [OPTIONS] IMAGE",
		Short:   "Show what a patch would upgrade, per platform, without patching",
		Example: planExamples,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return planUsage(errors.New("\"docker patch plan\" requires exactly 1 argument (the image to plan for)"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.image = args[0]
			if err := o.validatePlan(); err != nil {
				return planUsage(err)
			}
			return runPlan(cmd.Context(), dockerCLI, o)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return planUsage(err) })
	f := cmd.Flags()
	f.StringVarP(&o.report, "report", "r", "", "Vulnerability report (Trivy or Grype JSON), or a directory of reports, one per platform")
	f.BoolVar(&o.updateAll, "update-all", false, "Plan every package with a newer version in the image's sources (no report)")
	f.StringVar(&o.format, "format", "table", `Output format: "table" or "json" (schema: docs/plan.md)`)
	f.StringVar(&o.platform, "platform", "", "Platforms to plan for, comma-separated (default: all of an index's, or the builder's own)")
	f.StringVar(&o.progress, "progress", "quiet", "Progress output: auto, plain, tty, quiet, rawjson")
	f.StringVar(&o.toolingImage, "tooling-image", "", "Image that patches images without a package manager")
	f.StringArrayVar(&o.repoMirrors, "repo-mirror", nil, "Fetch package lists from MIRROR instead of ORIGINAL: ORIGINAL=MIRROR (repeatable)")
	f.StringVar(&o.sourcePolicy, "source-policy", "", "BuildKit source policy (JSON) for every image the plan pulls (default $"+envSourcePolicy+")")
	f.StringVar(&o.frontendImage, "frontend", "", "Run darn from this frontend image (gateway.v0) instead of in-process")
	addPolicyFlags(f, &o.imageOptions)
	addBuilderFlags(f, &o.builder)
	return cmd
}

// planUsage makes a usage error of "docker patch plan" exit with
// exitError: exitUsage (2) means "changes pending" there.
func planUsage(err error) error {
	return planError{fmt.Errorf("%w\nSee 'docker patch plan --help'.", err)} //nolint:revive,staticcheck // the docker CLI's message
}

// planError is an error of "docker patch plan" (exit code exitError).
type planError struct{ err error }

func (e planError) Error() string { return e.err.Error() }
func (e planError) Unwrap() error { return e.err }

// validatePlan checks the flags that need no daemon.
func (o *planOptions) validatePlan() error {
	if o.format != "table" && o.format != "json" {
		return fmt.Errorf("--format %q: want table or json", o.format)
	}
	for _, check := range []func() error{o.validateReport, o.builder.validate} {
		if err := check(); err != nil {
			return err
		}
	}
	mirrors, err := parseRepoMirrors(o.repoMirrors)
	o.mirrors = mirrors
	return err
}

// runPlan asks darn's plan subrequest and prints it; the error says
// whether changes are pending.
func runPlan(ctx context.Context, dockerCLI command.Cli, o planOptions) error {
	c, _, pol, err := openBuilder(ctx, dockerCLI, o.builder, o.sourcePolicy, o.progress)
	if err != nil {
		return planError{err}
	}
	defer c.Close()
	if o.mirrors, err = withPolicyMirrors(o.mirrors, pol); err != nil {
		return planError{err}
	}
	opt, opts, err := o.solveOpt(dockerCLI)
	if err != nil {
		return planError{err}
	}
	opts.BuildKit.Request = patch.RequestPlan
	opt.FrontendAttrs, opt.Exports, opt.SourcePolicy = opts.Attrs(), nil, pol
	sums, err := o.askPlan(ctx, c, opt, dockerCLI.Err())
	if err != nil {
		return planError{explainSourcePolicyError(err, pol)}
	}
	doc := planDocument{SchemaVersion: PlanSchemaVersion, Image: opts.Image.String(), Status: "nothing-to-do", Platforms: sums}
	for _, s := range sums {
		if !s.Kept && s.Plan.Err() == nil {
			doc.Status = "changes-pending"
		}
	}
	if err := printPlan(dockerCLI.Out(), doc, o.format); err != nil {
		return planError{err}
	}
	if doc.Status == "changes-pending" {
		return errChangesPending
	}
	return nil
}

// askPlan runs the plan subrequest, in-process or through the frontend
// image, and reads its answer.
func (o planOptions) askPlan(ctx context.Context, c *client.Client, opt client.SolveOpt, stderr io.Writer) ([]patch.Summary, error) {
	display, err := progressui.NewDisplay(stderr, progressui.DisplayMode(o.progress))
	if err != nil {
		return nil, fmt.Errorf("--progress: %w", err)
	}
	var answer []byte
	build := func(ctx context.Context, gc gwclient.Client) (*gwclient.Result, error) {
		if err := checkSourcePolicySupport(gc.BuildOpts(), opt.SourcePolicy); err != nil {
			return nil, err
		}
		res, err := o.planResult(ctx, gc, opt.FrontendAttrs)
		if res != nil {
			answer = res.Metadata[planResultKey]
		}
		return gwclient.NewResult(), err
	}
	ch := make(chan *client.SolveStatus)
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error { _, err := c.Build(ctx, opt, "docker-patch", build, ch); return err })
	eg.Go(func() error { _, err := display.UpdateFrom(context.WithoutCancel(ctx), ch); return err })
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	var sums []patch.Summary
	if err := json.Unmarshal(answer, &sums); err != nil {
		return nil, fmt.Errorf("reading the plan: %w", err)
	}
	return sums, nil
}

// planResult is darn's answer to the plan subrequest.
func (o planOptions) planResult(ctx context.Context, gc gwclient.Client, attrs map[string]string) (*gwclient.Result, error) {
	if o.frontendImage == "" {
		return frontend.Build(ctx, gc)
	}
	fa := maps.Clone(attrs)
	fa["source"] = o.frontendImage
	return gc.Solve(ctx, gwclient.SolveRequest{Frontend: "gateway.v0", FrontendOpt: fa})
}

// printPlan writes the plan as a table per platform, or as JSON.
func printPlan(w io.Writer, doc planDocument, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	if _, err := w.Write(patch.PlanText(doc.Platforms)); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s: %s\n", doc.Image, doc.Status)
	return err
}
