package patch

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"

	"github.com/darn-dev/darn/distros"
)

// The frontend options: darn's own keys, and the BuildKit keys darn's
// clients set, which dockerui reads in the frontend. Each of darn's keys
// may also come as a build argument ("build-arg:image"), which is how
// `docker buildx build --build-arg image=…` passes them.
const (
	KeyImage          = "image"
	KeyReport         = "report"
	KeyToolingImage   = "tooling-image"
	KeyRepoMirror     = "repo-mirror"
	KeyFetchTimeout   = "fetch-timeout"
	KeyIgnoreErrors   = "ignore-errors"
	KeyUpdateAll      = "update-all"
	KeyPatchedOnly    = "patched-only"
	KeyVEXAttestation = "vex-attestation"
	KeyLineage        = "lineage-annotations"
	KeyPolicy         = "policy"
	KeyFailOnEOL      = "fail-on-eol"

	KeyPlatform      = "platform"
	KeyNoCache       = "no-cache"
	KeyNetworkMode   = "force-network-mode"
	KeyRequestID     = "requestid"
	KeyReportContext = "context:" + ReportContext
	KeyPolicyContext = "context:" + PolicyContext
	// KeySourceDateEpoch is the build arg buildx sets from the
	// environment's SOURCE_DATE_EPOCH.
	KeySourceDateEpoch = buildArgPrefix + "SOURCE_DATE_EPOCH"

	buildArgPrefix = "build-arg:"
)

// ReportContext is the named context that holds the reports; a client
// shares its directory as the local context of the same name.
const ReportContext = "report"

// PolicyContext is the named context that holds the patch policy file
// (option "policy" names the file in it).
const PolicyContext = "policy"

// DefaultReportFile is read from the report context when no file is named.
const DefaultReportFile = "report.json"

// RequestPlan is darn's own subrequest (buildx --call plan).
const RequestPlan = "frontend.plan"

// ErrNoImage is returned when no image to patch was given.
var ErrNoImage = errors.New(`no image to patch: set the frontend option "image" (buildctl --opt image=REF, buildx --build-arg image=REF) or build a Patchfile whose FROM names it`)

// Options are the options of one patch: the contract between darn's
// clients (the docker-patch plugin, buildctl, buildx) and its frontend.
// Attrs renders them as frontend options; ParseOptions reads them back.
type Options struct {
	// Image is the image to patch, normalized (docker.io/library/debian:12);
	// nil when a Patchfile names it.
	Image reference.Named
	// ReportFile is the report's path in the report context; "." is the
	// context itself, a directory of reports. Empty in update-all mode.
	ReportFile string
	// ToolingImage overrides the release's default tooling image.
	ToolingImage reference.Named
	// Mirrors replace repository URLs while patching.
	Mirrors []distros.Mirror
	// FetchTimeout bounds each request of the package manager; zero is
	// the family's default.
	FetchTimeout time.Duration
	// IgnoreErrors keeps an image whose upgrade fell short of a fixed
	// version, with a warning, instead of failing.
	IgnoreErrors bool
	// UpdateAll upgrades every package with a newer version in the image's
	// repositories; no report is read.
	UpdateAll bool
	// PatchedOnly exports only the patched platforms of an index; one
	// patched platform is then exported as a single image.
	PatchedOnly bool
	// AttestVEX attaches each patched platform's OpenVEX document as an
	// in-toto attestation. Not "attest:vex": BuildKit's daemon and
	// dockerui refuse attestation types they do not know.
	AttestVEX bool
	// LineageAnnotations also records darn's lineage as annotations of
	// each patched manifest, for exports that keep annotations (OCI media
	// types; Docker's refuse them).
	LineageAnnotations bool
	// PolicyFile is the patch policy's path in the policy context
	// (policy/rules, docs/policy.md); empty for none.
	PolicyFile string
	// FailOnEOL fails the patch of an end-of-life release instead of
	// warning.
	FailOnEOL bool
	// BuildKit holds the standard options a client sets; the frontend
	// reads them through dockerui, never from here.
	BuildKit BuildKitOptions
}

// BuildKitOptions are the standard BuildKit frontend options darn's
// clients set, kept as the strings BuildKit reads.
type BuildKitOptions struct {
	// Platform lists the platforms to patch, comma-separated.
	Platform string
	// NoCache re-runs every step.
	NoCache bool
	// NetworkMode is "host" for host networking, or empty.
	NetworkMode string
	// Request names a subrequest such as RequestPlan.
	Request string
	// SourceDateEpoch is the build arg SOURCE_DATE_EPOCH (seconds), which
	// makes the patched image byte-for-byte reproducible.
	SourceDateEpoch string
}

// ParseImage normalizes an image reference, adding :latest when it has
// neither tag nor digest.
func ParseImage(s string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, err
	}
	return reference.TagNameOnly(named), nil
}

// ParseOptions reads frontend options. darn's own keys are validated;
// each may also be a build argument, the option winning.
func ParseOptions(attrs map[string]string) (Options, error) {
	var o Options
	var err error
	if o.Image, err = imageOption(attrs, KeyImage); err != nil {
		return o, err
	}
	if o.ToolingImage, err = imageOption(attrs, KeyToolingImage); err != nil {
		return o, err
	}
	if o.Mirrors, err = distros.ParseMirrors(lookup(attrs, KeyRepoMirror)); err != nil {
		return o, fmt.Errorf("parsing option %s: %w", KeyRepoMirror, err)
	}
	if o.FetchTimeout, err = timeoutOption(attrs, KeyFetchTimeout); err != nil {
		return o, err
	}
	if err := boolOptions(attrs, map[string]*bool{
		KeyIgnoreErrors: &o.IgnoreErrors, KeyUpdateAll: &o.UpdateAll, KeyPatchedOnly: &o.PatchedOnly, KeyVEXAttestation: &o.AttestVEX,
		KeyLineage: &o.LineageAnnotations, KeyFailOnEOL: &o.FailOnEOL,
	}); err != nil {
		return o, err
	}
	if o.ReportFile, err = reportOption(attrs, o.UpdateAll); err != nil {
		return o, err
	}
	if o.PolicyFile, err = contextPath(KeyPolicy, lookup(attrs, KeyPolicy), PolicyContext); err != nil {
		return o, err
	}
	o.BuildKit = BuildKitOptions{
		Platform: attrs[KeyPlatform], NetworkMode: attrs[KeyNetworkMode], Request: attrs[KeyRequestID],
		SourceDateEpoch: attrs[KeySourceDateEpoch],
	}
	_, o.BuildKit.NoCache = attrs[KeyNoCache]
	return o, nil
}

// Attrs renders the options as frontend options, for a solve.
func (o Options) Attrs() map[string]string {
	attrs := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			attrs[k] = v
		}
	}
	if o.Image != nil {
		set(KeyImage, o.Image.String())
	}
	if o.ToolingImage != nil {
		set(KeyToolingImage, o.ToolingImage.String())
	}
	if !o.UpdateAll {
		set(KeyReport, o.ReportFile)
		set(KeyReportContext, "local:"+ReportContext)
	}
	if o.PolicyFile != "" {
		set(KeyPolicy, o.PolicyFile)
		set(KeyPolicyContext, "local:"+PolicyContext)
	}
	set(KeyRepoMirror, distros.FormatMirrors(o.Mirrors))
	if o.FetchTimeout > 0 {
		set(KeyFetchTimeout, o.FetchTimeout.String())
	}
	for k, b := range map[string]bool{
		KeyIgnoreErrors: o.IgnoreErrors, KeyUpdateAll: o.UpdateAll, KeyPatchedOnly: o.PatchedOnly,
		KeyVEXAttestation: o.AttestVEX, KeyLineage: o.LineageAnnotations, KeyFailOnEOL: o.FailOnEOL,
	} {
		if b {
			attrs[k] = "true"
		}
	}
	maps.Copy(attrs, o.BuildKit.attrs())
	return attrs
}

// attrs renders the standard options.
func (b BuildKitOptions) attrs() map[string]string {
	attrs := map[string]string{}
	if b.Platform != "" {
		attrs[KeyPlatform] = b.Platform
	}
	if b.NoCache {
		attrs[KeyNoCache] = ""
	}
	if b.NetworkMode != "" {
		attrs[KeyNetworkMode] = b.NetworkMode
	}
	if b.Request != "" {
		attrs[KeyRequestID] = b.Request
	}
	if b.SourceDateEpoch != "" {
		attrs[KeySourceDateEpoch] = b.SourceDateEpoch
	}
	return attrs
}

// lookup returns the option key, or else the build argument of that name.
func lookup(attrs map[string]string, key string) string {
	if v, ok := attrs[key]; ok {
		return v
	}
	return attrs[buildArgPrefix+key]
}

// imageOption reads an image reference option; nil when absent.
func imageOption(attrs map[string]string, key string) (reference.Named, error) {
	v := lookup(attrs, key)
	if v == "" {
		return nil, nil
	}
	named, err := ParseImage(v)
	if err != nil {
		return nil, fmt.Errorf("parsing option %s=%q: %w", key, v, err)
	}
	return named, nil
}

// reportOption reads the report's path inside the report context.
func reportOption(attrs map[string]string, updateAll bool) (string, error) {
	f := lookup(attrs, KeyReport)
	if f == "" {
		if updateAll {
			return "", nil
		}
		return DefaultReportFile, nil
	}
	return contextPath(KeyReport, f, ReportContext)
}

// contextPath reads an option naming a path inside a named context; ""
// stays "". "." is the context itself (a directory of reports).
func contextPath(key, f, context string) (string, error) {
	if f == "" {
		return "", nil
	}
	clean := path.Clean(strings.TrimPrefix(f, "/"))
	if strings.HasPrefix(clean, "../") || clean == ".." {
		return "", fmt.Errorf("parsing option %s=%q: must name a file or directory inside the %q context", key, f, context)
	}
	return clean, nil
}

// timeoutOption reads a duration option, "30s" or "30" (seconds), of at
// least a second; absent or empty is zero.
func timeoutOption(attrs map[string]string, key string) (time.Duration, error) {
	v := lookup(attrs, key)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if n, nerr := strconv.Atoi(v); nerr == nil {
		d, err = time.Duration(n)*time.Second, nil
	}
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("parsing option %s=%q: want a duration of at least 1s, e.g. 30s", key, v)
	}
	return d, nil
}

// boolOptions reads boolean options; absent or empty is false.
func boolOptions(attrs map[string]string, into map[string]*bool) error {
	for _, key := range slices.Sorted(maps.Keys(into)) {
		dst := into[key]
		v := lookup(attrs, key)
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("parsing option %s=%q: %w", key, v, err)
		}
		*dst = b
	}
	return nil
}
