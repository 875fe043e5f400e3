package patch

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Target is one platform of the output image: patched, or kept as it is.
type Target struct {
	Platform ocispecs.Platform
	Patch    bool
}

// PlatformError says a requested platform is not in the image's index.
type PlatformError struct {
	Platform string
	Image    string
	Has      []string
}

func (e *PlatformError) Error() string {
	return fmt.Sprintf("image %s has no platform %s; it has %s", e.Image, e.Platform, strings.Join(e.Has, ", "))
}

// PlatformKey names a platform in its normalized form: the key of
// per-platform reports and attestations.
func PlatformKey(pl ocispecs.Platform) string {
	return FormatPlatform(platforms.Normalize(pl))
}

// FormatPlatform renders a platform for step names and messages.
func FormatPlatform(p ocispecs.Platform) string {
	return platforms.FormatAll(p)
}

// ProbeList is every platform images are commonly built for, from the
// least to the most capable variant (a resolver falls back from v7 to v6,
// never up), followed by requested platforms the list lacks. The gateway
// API has no call that returns an index: the frontend asks the builder
// for each of these and keeps those whose config says that platform.
func ProbeList(requested []ocispecs.Platform) []ocispecs.Platform {
	var out []ocispecs.Platform
	for _, s := range []string{
		"linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/amd64/v4", "linux/arm64",
		"linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/386", "linux/ppc64le", "linux/s390x",
		"linux/riscv64", "linux/mips64le", "linux/mips64", "linux/loong64", "windows/amd64", "windows/arm64",
	} {
		out = append(out, platforms.MustParse(s))
	}
	for _, r := range requested {
		if !slices.ContainsFunc(out, func(o ocispecs.Platform) bool { return platforms.OnlyStrict(r).Match(o) }) {
			out = append(out, platforms.Normalize(r))
		}
	}
	return out
}

// ConfigPlatform returns the platform an image config records when it is
// the one asked for (a resolver may answer with a compatible one, e.g. 386
// for amd64), with the asked variant where the config records none; nil
// otherwise.
func ConfigPlatform(dt []byte, asked ocispecs.Platform) *ocispecs.Platform {
	var cfg ocispecs.Image
	if json.Unmarshal(dt, &cfg) != nil {
		return nil
	}
	got := cfg.Platform
	if got.Variant == "" {
		got.Variant = asked.Variant
	}
	if !platforms.OnlyStrict(asked).Match(got) {
		return nil
	}
	return &got
}

// UniquePlatforms keeps the first platform found for each config: a
// resolver answers a variant it lacks with a lower one's config.
func UniquePlatforms(found []*ocispecs.Platform, configs []digest.Digest) []ocispecs.Platform {
	var out []ocispecs.Platform
	seen := map[digest.Digest]bool{}
	for i, pl := range found {
		if pl == nil || seen[configs[i]] {
			continue
		}
		seen[configs[i]] = true
		out = append(out, *pl)
	}
	return out
}

// SelectTargets marks which of an index's platforms are patched: all when
// none is requested, else exactly the requested ones, each of which must
// be in the index.
func SelectTargets(listed, requested []ocispecs.Platform) ([]Target, error) {
	ts := make([]Target, len(listed))
	for i, pl := range listed {
		ts[i] = Target{Platform: pl, Patch: len(requested) == 0}
	}
	for _, req := range requested {
		m := platforms.OnlyStrict(req)
		found := false
		for i := range ts {
			if m.Match(ts[i].Platform) {
				ts[i].Patch, found = true, true
				break
			}
		}
		if !found {
			return nil, &PlatformError{Platform: PlatformKey(req), Has: formatPlatforms(listed)}
		}
	}
	return ts, nil
}

// formatPlatforms renders platforms for messages.
func formatPlatforms(pls []ocispecs.Platform) []string {
	out := make([]string, len(pls))
	for i, pl := range pls {
		out[i] = PlatformKey(pl)
	}
	return out
}

// PatchedPlatforms returns the platforms the targets patch, normalized.
func PatchedPlatforms(ts []Target) []ocispecs.Platform {
	var out []ocispecs.Platform
	for _, t := range ts {
		if t.Patch {
			out = append(out, platforms.Normalize(t.Platform))
		}
	}
	return out
}
