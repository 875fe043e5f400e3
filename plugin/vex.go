package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/distribution/reference"
	digest "github.com/opencontainers/go-digest"

	"github.com/darn-dev/darn/patch"
	"github.com/darn-dev/darn/vex"
)

// exporterDigestKey is where image exporters report the manifest (or
// index) digest of what they wrote.
const exporterDigestKey = "containerimage.digest"

// writeVEX writes the OpenVEX document for the patched image: a "fixed"
// statement for every vulnerability darn verified fixed, nothing for the
// rest. It says so and writes nothing when nothing was fixed.
func writeVEX(o imageOptions, summary []byte, resp map[string]string, w func(string)) error {
	var sums []patch.Summary
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
		in.Fixed = append(in.Fixed, s.Fixed()...)
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
