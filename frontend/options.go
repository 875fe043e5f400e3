package frontend

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"

	"github.com/darn-dev/darn/distros"
)

// Frontend option keys of darn's own. Standard keys (platform, no-cache,
// image-resolve-mode, build-arg:*, context:*) are read by dockerui.
const (
	keyImage        = "image"
	keyReport       = "report"
	keyToolingImage = "tooling-image"
	keyIgnoreErrors = "ignore-errors"
	keyUpdateAll    = "update-all"
	// keyPatchedOnly leaves an index's unpatched platforms out of the
	// output, for exports that hold one platform (a Docker image store, a
	// docker tarball).
	keyPatchedOnly = "patched-only"
	// keyVEXAttestation attaches the OpenVEX document as an in-toto
	// attestation. Not "attest:vex": BuildKit's daemon and dockerui refuse
	// attestation types they do not know.
	keyVEXAttestation = "vex-attestation"
	// keyRepoMirror holds ORIGINAL=MIRROR pairs, comma-separated.
	keyRepoMirror = "repo-mirror"
	// keyFetchTimeout bounds each request of the package manager, as a
	// Go duration ("30s") or whole seconds ("30").
	keyFetchTimeout = "fetch-timeout"
	// buildArgPrefix lets `docker buildx build --build-arg image=…` work:
	// buildx passes build args as "build-arg:NAME" options.
	buildArgPrefix = "build-arg:"
)

// reportContext is the named context holding the report file.
const reportContext = "report"

// defaultReportFile is read from the report context when no file is named.
const defaultReportFile = "report.json"

// errNoImage is returned when no image to patch was given.
var errNoImage = errors.New("no image to patch: set the frontend option \"image\" (buildctl --opt image=REF, buildx --build-arg image=REF) or build a Patchfile whose FROM names it")

// Options are darn's own frontend options.
type Options struct {
	// Image is the reference of the image to patch, normalized
	// (docker.io/library/debian:12); nil when a Patchfile names it.
	Image reference.Named
	// ReportFile is the report's path inside the report context.
	ReportFile string
	// ToolingImage overrides the default tooling image; nil for the
	// default of the image's release.
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
	// sources; no report is read.
	UpdateAll bool
	// PatchedOnly exports only the patched platforms of an index; one
	// patched platform is then exported as a single image.
	PatchedOnly bool
	// AttestVEX attaches each patched platform's OpenVEX document as an
	// in-toto attestation (option vex-attestation).
	AttestVEX bool
}

// parseOptions reads darn's keys from the frontend options.
func parseOptions(opts map[string]string) (Options, error) {
	var o Options
	if image := lookup(opts, keyImage); image != "" {
		named, err := parseImage(image)
		if err != nil {
			return o, fmt.Errorf("parsing option %s=%q: %w", keyImage, image, err)
		}
		o.Image = named
	}

	if t := lookup(opts, keyToolingImage); t != "" {
		named, err := parseImage(t)
		if err != nil {
			return o, fmt.Errorf("parsing option %s=%q: %w", keyToolingImage, t, err)
		}
		o.ToolingImage = named
	}
	mirrors, err := distros.ParseMirrors(lookup(opts, keyRepoMirror))
	if err != nil {
		return o, fmt.Errorf("parsing option %s: %w", keyRepoMirror, err)
	}
	o.Mirrors = mirrors
	if o.FetchTimeout, err = parseTimeout(opts, keyFetchTimeout); err != nil {
		return o, err
	}

	if o.IgnoreErrors, err = parseBool(opts, keyIgnoreErrors); err != nil {
		return o, err
	}
	if o.UpdateAll, err = parseBool(opts, keyUpdateAll); err != nil {
		return o, err
	}
	if o.PatchedOnly, err = parseBool(opts, keyPatchedOnly); err != nil {
		return o, err
	}

	if o.AttestVEX, err = parseBool(opts, keyVEXAttestation); err != nil {
		return o, err
	}

	o.ReportFile = defaultReportFile
	if f := lookup(opts, keyReport); f != "" {
		clean := path.Clean(strings.TrimPrefix(f, "/"))
		// "." is the context itself: a directory of reports.
		if strings.HasPrefix(clean, "../") || clean == ".." {
			return o, fmt.Errorf("parsing option %s=%q: must name a file or directory inside the %q context", keyReport, f, reportContext)
		}
		o.ReportFile = clean
	}
	return o, nil
}

// lookup returns the option key, or else the build argument of that name.
func lookup(opts map[string]string, key string) string {
	if v, ok := opts[key]; ok {
		return v
	}
	return opts[buildArgPrefix+key]
}

// parseImage normalizes an image reference, adding :latest when it has
// neither tag nor digest.
func parseImage(s string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, err
	}
	return reference.TagNameOnly(named), nil
}

// parseTimeout reads a positive duration option, "30s" or "30" (seconds);
// absent or empty is zero.
func parseTimeout(opts map[string]string, key string) (time.Duration, error) {
	v := lookup(opts, key)
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

// parseBool reads a boolean option; absent or empty is false.
func parseBool(opts map[string]string, key string) (bool, error) {
	v := lookup(opts, key)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("parsing option %s=%q: %w", key, v, err)
	}
	return b, nil
}
