package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/distribution/reference"
	digest "github.com/opencontainers/go-digest"

	"github.com/darn-dev/darn/frontend"
	"github.com/darn-dev/darn/vex"
)

// exporterDigestKey is where image exporters report the manifest (or
// index) digest of what they wrote.
const exporterDigestKey = "containerimage.digest"

// writeVEX writes the OpenVEX document for the patched image: a "fixed"
// statement for every vulnerability darn verified fixed, nothing for the
// rest. It says so and writes nothing when nothing was fixed.
func writeVEX(o imageOptions, summary []byte, resp map[string]string, w func(string)) error {
	var sums []frontend.Summary
	if err := json.Unmarshal(summary, &sums); err != nil {
		return fmt.Errorf("reading patch summary: %w", err)
	}
	dgst, err := digest.Parse(resp[exporterDigestKey])
	if err != nil {
		return fmt.Errorf("writing VEX: the export reported no image digest (%q): --vex needs --push, --load or an image/oci/docker --output", resp[exporterDigestKey])
	}
	named, err := reference.ParseNormalizedNamed(o.tag)
	if err != nil {
		return fmt.Errorf("writing VEX: %w", err)
	}
	in := vex.Input{Repository: named.Name(), Digest: dgst, Timestamp: time.Now().UTC()}
	if tagged, ok := named.(reference.Tagged); ok {
		in.Tag = tagged.Tag()
	}
	if len(sums) == 1 {
		in.Platform = sums[0].Platform
	}
	for _, s := range sums {
		in.Fixed = append(in.Fixed, vex.FromChanges(strings.ReplaceAll(s.OS, " ", "-"), debArch(s.Platform), packageChanges(s.Changes))...)
	}
	doc, err := vex.Document(in)
	if errors.Is(err, vex.ErrNothingFixed) {
		w("no vulnerability was fixed: no VEX document written")
		return nil
	}
	if err != nil {
		return fmt.Errorf("writing VEX: %w", err)
	}
	dt, err := vex.Marshal(doc)
	if err != nil {
		return fmt.Errorf("writing VEX: %w", err)
	}
	if err := os.WriteFile(o.vexFile, dt, 0o644); err != nil {
		return fmt.Errorf("writing VEX: %w", err)
	}
	w(fmt.Sprintf("OpenVEX document: %s (%d statements)", o.vexFile, len(doc.Statements)))
	return nil
}

// packageChanges keeps the planned changes: only they carry verified fixes.
func packageChanges(changes []frontend.Change) []vex.PackageChange {
	var out []vex.PackageChange
	for _, c := range changes {
		if c.Planned && len(c.Fixes) > 0 {
			out = append(out, vex.PackageChange{Name: c.Name, To: c.To, Arch: c.Arch, Fixes: c.Fixes})
		}
	}
	return out
}

// debArch maps an OCI platform to Debian's architecture name.
func debArch(platform string) string {
	parts := strings.Split(platform, "/")
	if len(parts) < 2 {
		return ""
	}
	switch strings.Join(parts[1:], "/") {
	case "arm/v7":
		return "armhf"
	case "arm/v5", "arm/v6":
		return "armel"
	case "386":
		return "i386"
	case "ppc64le":
		return "ppc64el"
	case "arm64/v8":
		return "arm64"
	}
	return parts[1]
}
