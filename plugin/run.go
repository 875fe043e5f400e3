package plugin

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/docker/cli/cli/command"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/cmd/buildctl/build"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	spb "github.com/moby/buildkit/sourcepolicy/pb"
	"github.com/moby/buildkit/util/grpcerrors"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"

	"github.com/darn-dev/darn/frontend"
	"github.com/darn-dev/darn/patch"
)

// runImage patches one image: it runs darn's frontend (in-process, or its
// image through gateway.v0) on the chosen builder, exports the result and
// prints what changed.
func runImage(ctx context.Context, dockerCLI command.Cli, o imageOptions) error {
	c, info, pol, err := openBuilder(ctx, dockerCLI, o.builder, o.sourcePolicy, o.progress)
	if err != nil {
		return err
	}
	defer c.Close()
	if o.mirrors, err = withPolicyMirrors(o.mirrors, pol); err != nil {
		return err
	}
	solveOpt, opts, err := o.solveOpt(dockerCLI)
	if err != nil {
		return err
	}
	// BuildKit applies the policy to every source and image resolution of
	// the solve: the image, the tooling image and a --frontend image.
	solveOpt.SourcePolicy = pol
	var load *dockerLoad
	daemonPush := false
	switch {
	case info.Driver == driverDocker:
		// The Docker daemon's BuildKit stores images itself: its exporter
		// is "moby", and loading is storing.
		solveOpt.Exports, daemonPush = dockerDriverExports(solveOpt.Exports, o)
	case o.load:
		load = startLoad(ctx, dockerCLI)
		solveOpt.Exports = append(solveOpt.Exports, load.export(o.tag))
	}
	// A Docker image store or docker tarball holds one platform: export
	// the patched one alone, not the whole index.
	opts.PatchedOnly = onePlatformOnly(solveOpt.Exports)
	// The document also travels with the image, where the export keeps
	// attestations.
	opts.AttestVEX = o.vexFile != "" && load == nil && attestable(solveOpt.Exports)
	// Exports that keep annotations get darn's lineage as the manifests'
	// annotations too, and the original image's own annotations.
	opts.LineageAnnotations = attestable(solveOpt.Exports)
	solveOpt.FrontendAttrs = opts.Attrs()
	o.carryAnnotations(ctx, dockerCLI, solveOpt.Exports)
	summary, resp, err := o.solve(ctx, c, solveOpt, dockerCLI)
	if load != nil {
		if lerr := load.wait(err); err == nil {
			err = lerr
		}
	}
	if err != nil {
		return explainSourcePolicyError(explain(err, info), pol)
	}
	if daemonPush {
		if err := pushWithDocker(ctx, dockerCLI, o.tag); err != nil {
			return err
		}
	}
	if o.vexFile != "" {
		say := func(msg string) { fmt.Fprintln(dockerCLI.Err(), msg) }
		if err := writeVEX(o, summary, resp, say); err != nil {
			return err
		}
	}
	return printSummary(dockerCLI.Out(), summary, o)
}

// openBuilder does what every command that runs darn does first: load the
// source policy, connect to the first builder that answers, and say which
// one it is unless progress output is quiet or machine-readable.
func openBuilder(ctx context.Context, dockerCLI command.Cli, b builderOptions, policyFile, progress string) (*client.Client, builderInfo, *spb.Policy, error) {
	pol, err := loadSourcePolicy(policyFile, os.Getenv)
	if err != nil {
		return nil, builderInfo{}, nil, err
	}
	c, info, err := connectBuilder(ctx, dockerCLI, b, os.Getenv)
	if err != nil {
		return nil, builderInfo{}, nil, err
	}
	if progress != "quiet" && progress != "rawjson" {
		fmt.Fprintf(dockerCLI.Err(), "using builder %s\n", info)
	}
	return c, info, pol, nil
}

// solveOpt maps the flags to one BuildKit solve: the report files as the
// local context "report", the frontend options (set in the solve by the
// caller, who may still change them), the exports and the registry
// credentials of the docker CLI's config.
func (o imageOptions) solveOpt(dockerCLI command.Cli) (client.SolveOpt, patch.Options, error) {
	locals, file, policyFile, err := o.reportLocal()
	if err != nil {
		return client.SolveOpt{}, patch.Options{}, err
	}
	opts, err := o.patchOptions(file)
	if err != nil {
		return client.SolveOpt{}, patch.Options{}, err
	}
	opts.PolicyFile = policyFile
	exports, err := o.exports()
	if err != nil {
		return client.SolveOpt{}, patch.Options{}, err
	}
	var entitlements []string
	if o.network == "host" {
		entitlements = append(entitlements, "network.host")
	}
	return client.SolveOpt{
		AllowedEntitlements: entitlements,
		Exports:             exports,
		LocalMounts:         locals,
		FrontendAttrs:       opts.Attrs(),
		Session: []session.Attachable{authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
			AuthConfigProvider: authprovider.LoadAuthConfig(dockerCLI.ConfigFile()),
		})},
	}, opts, nil
}

// reportLocal shares the report files (reportFS) as the local context
// "report", and the policy file as "policy", and returns the report
// option; update-all reads no report.
func (o imageOptions) reportLocal() (locals map[string]fsutil.FS, file, policyFile string, err error) {
	locals = map[string]fsutil.FS{}
	if o.policy != "" {
		fs, f, err := reportFS(o.policy)
		if err != nil {
			return nil, "", "", fmt.Errorf("--policy: %w", err)
		}
		locals[patch.PolicyContext], policyFile = fs, f
	}
	if o.updateAll {
		return locals, "", policyFile, nil
	}
	fs, file, err := reportFS(o.report)
	if err != nil {
		return nil, "", "", err
	}
	locals[patch.ReportContext] = fs
	return locals, file, policyFile, nil
}

// patchOptions is the one table from plugin flags to frontend options:
// the typed contract every client of the frontend uses.
func (o imageOptions) patchOptions(reportFile string) (patch.Options, error) {
	opts := patch.Options{
		ReportFile: reportFile, Mirrors: o.mirrors, FetchTimeout: o.fetchTimeout,
		IgnoreErrors: o.ignoreErrors, UpdateAll: o.updateAll, FailOnEOL: o.failOnEOL,
		BuildKit: patch.BuildKitOptions{Platform: o.platform, NoCache: o.noCache, SourceDateEpoch: o.sourceDateEpoch},
	}
	if o.network == "host" {
		opts.BuildKit.NetworkMode = "host"
	}
	var err error
	if opts.Image, err = patch.ParseImage(o.image); err != nil {
		return opts, usageError{fmt.Errorf("invalid image reference %q: %w", o.image, err)}
	}
	if o.toolingImage != "" {
		if opts.ToolingImage, err = patch.ParseImage(o.toolingImage); err != nil {
			return opts, usageError{fmt.Errorf("--tooling-image %q: %w", o.toolingImage, err)}
		}
	}
	return opts, nil
}

// exports turns --push/--output into BuildKit exports. Without either (and
// without --load), the image is kept in the builder's image store under
// the tag.
func (o imageOptions) exports() ([]client.ExportEntry, error) {
	if len(o.outputs) == 0 && (o.push || !o.load) {
		attrs := map[string]string{"name": o.tag}
		if o.push {
			attrs["push"] = "true"
		}
		return []client.ExportEntry{{Type: client.ExporterImage, Attrs: attrs}}, nil
	}
	if len(o.outputs) == 0 {
		return nil, nil
	}
	entries, err := build.ParseOutput(o.outputs)
	if err != nil {
		return nil, usageError{fmt.Errorf("parsing --output: %w", err)}
	}
	for i, e := range entries {
		switch e.Type {
		case client.ExporterImage, client.ExporterOCI, client.ExporterDocker:
			if _, ok := e.Attrs["name"]; !ok {
				entries[i].Attrs["name"] = o.tag
			}
		}
	}
	return entries, nil
}

// dockerDriverExports adapts exports to the Docker daemon's BuildKit, as
// buildx does for its docker driver: "image" becomes "moby", which writes
// into the daemon's image store, and --load is such an export. push says
// whether the stored image must then be pushed through the Docker API,
// since Docker 20.10's exporter does not push.
func dockerDriverExports(exports []client.ExportEntry, o imageOptions) (out []client.ExportEntry, push bool) {
	stored := false
	for _, e := range exports {
		if e.Type == client.ExporterImage {
			e.Type = "moby"
			push = push || e.Attrs["push"] == "true"
			delete(e.Attrs, "push")
			stored = true
		}
		out = append(out, e)
	}
	if o.load && !stored {
		out = append(out, client.ExportEntry{Type: "moby", Attrs: map[string]string{"name": o.tag}})
	}
	return out, push
}

// attestable says whether every export keeps in-toto attestations: image
// and OCI exports with OCI media types do; Docker-format tarballs, the
// Docker daemon's store and plain files do not.
func attestable(exports []client.ExportEntry) bool {
	if len(exports) == 0 {
		return false
	}
	for _, e := range exports {
		if e.Type != client.ExporterImage && e.Type != client.ExporterOCI {
			return false
		}
		if e.Attrs["oci-mediatypes"] == "false" {
			return false
		}
	}
	return true
}

// onePlatformOnly says whether an export holds a single platform only:
// docker tarballs and the Docker daemon's store (the moby exporter).
func onePlatformOnly(exports []client.ExportEntry) bool {
	for _, e := range exports {
		if e.Type == client.ExporterDocker || e.Type == "moby" {
			return true
		}
	}
	return false
}

// solve runs darn and shows BuildKit's own progress display. It returns
// the frontend's summary and the exporters' response.
func (o imageOptions) solve(ctx context.Context, c *client.Client, opt client.SolveOpt, dockerCLI command.Cli) ([]byte, map[string]string, error) {
	display, err := progressui.NewDisplay(dockerCLI.Err(), progressui.DisplayMode(o.progress))
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("--progress: %w", err)}
	}
	var (
		summary []byte
		resp    *client.SolveResponse
	)
	ch := make(chan *client.SolveStatus)
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		var err error
		summary, resp, err = o.run(ctx, c, opt, ch)
		return err
	})
	eg.Go(func() error {
		// The display drains the channel until the build closes it.
		_, err := display.UpdateFrom(context.WithoutCancel(ctx), ch)
		return err
	})
	if err := eg.Wait(); err != nil {
		return nil, nil, err
	}
	return summary, resp.ExporterResponse, nil
}

// run runs darn's frontend in-process through client.Build, or its image
// through gateway.v0 when --frontend names one. BuildKit hands the
// frontend's "frontend."-prefixed metadata back either way.
func (o imageOptions) run(ctx context.Context, c *client.Client, opt client.SolveOpt, ch chan *client.SolveStatus) ([]byte, *client.SolveResponse, error) {
	if o.frontendImage != "" {
		opt.Frontend = "gateway.v0"
		opt.FrontendAttrs["source"] = o.frontendImage
		resp, err := c.Solve(ctx, nil, opt, ch)
		if err != nil {
			return nil, nil, err
		}
		return []byte(resp.ExporterResponse[patch.MetadataSummaryKey]), resp, nil
	}
	var (
		summary []byte
		feErr   error
	)
	buildFunc := func(ctx context.Context, gc gwclient.Client) (*gwclient.Result, error) {
		if err := checkSourcePolicySupport(gc.BuildOpts(), opt.SourcePolicy); err != nil {
			return nil, err
		}
		res, err := frontend.Build(ctx, gc)
		if res != nil {
			summary = res.Metadata[patch.MetadataSummaryKey]
		}
		feErr = err
		return res, err
	}
	resp, err := c.Build(ctx, opt, "docker-patch", buildFunc, ch)
	if err != nil && feErr != nil {
		// The daemon answers with the first failed step's error; the
		// frontend's says what it was doing, and why in darn's words.
		err = feErr
	}
	return summary, resp, err
}

// explain adds what to do to builder errors whose cause is the builder's
// setup, not darn's inputs.
func explain(err error, info builderInfo) error {
	if grpcerrors.Code(err) == codes.Unavailable {
		return fmt.Errorf("lost the connection to the builder %s while patching (did it stop or restart?): "+
			"the patch did not complete and no image was written; run the command again once the builder is back: %w", info, err)
	}
	if strings.Contains(err.Error(), "network bridge not found") {
		return fmt.Errorf("%w\nthe builder %s gives build steps no network (a Docker daemon started with --bridge=none), "+
			"but the package manager needs one: pass --network host, or use a buildx builder (docker buildx create --driver docker-container)", err, info)
	}
	return err
}
