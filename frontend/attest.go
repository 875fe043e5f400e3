package frontend

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	bkresult "github.com/moby/buildkit/solver/result"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/vex"
)

// vexPath is where the attestation's document lies in its reference.
const vexPath = "/openvex.json"

// Fixed lists the vulnerabilities the summary's platform verified fixed:
// only planned upgrades carry fixes, and ignore-errors already took out
// the packages that fell short.
func (s Summary) Fixed() []vex.Fixed {
	var changes []vex.PackageChange
	for _, c := range s.Changes {
		if c.Planned && len(c.Fixes) > 0 {
			changes = append(changes, vex.PackageChange{Name: c.Name, To: c.To, Arch: c.Arch, Fixes: c.Fixes})
		}
	}
	return vex.FromChanges(strings.ReplaceAll(s.OS, " ", "-"), debArch(s.Platform), changes)
}

// debArch maps an OCI platform ("linux/arm/v7") to Debian's architecture
// name ("armhf").
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

// vexAttestation makes the platform's OpenVEX document into a reference
// for its attestation; nil when nothing was fixed (no statement to make).
func (p *patcher) vexAttestation(ctx context.Context, s Summary) (gwclient.Reference, error) {
	ts, err := p.epoch()
	if err != nil {
		return nil, err
	}
	doc, err := vex.Attested(vex.Input{Fixed: s.Fixed(), Timestamp: ts})
	if errors.Is(err, vex.ErrNothingFixed) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	dt, err := vex.Marshal(doc)
	if err != nil {
		return nil, err
	}
	st := llb.Scratch().File(llb.Mkfile(vexPath, 0o644, dt), llb.WithCustomNamef("[patch %s] OpenVEX attestation", s.Platform))
	ref, err := solveState(ctx, p.c, st)
	if err != nil {
		return nil, fmt.Errorf("writing the OpenVEX attestation: %w", err)
	}
	return ref, nil
}

// keepAttestation records a platform's attestation reference.
func (p *patcher) keepAttestation(pl ocispecs.Platform, ref gwclient.Reference) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.attestations == nil {
		p.attestations = map[string]gwclient.Reference{}
	}
	p.attestations[platformKey(pl)] = ref
}

// attach adds the OpenVEX attestation of each patched platform to the
// result, under the platform's export id; BuildKit fills in the in-toto
// subject (the platform's manifest) when it exports the image.
func (p *patcher) attach(res *gwclient.Result, ids map[string]ocispecs.Platform) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, pl := range ids {
		ref, ok := p.attestations[platformKey(pl)]
		if !ok && len(ids) == 1 && len(p.attestations) == 1 {
			// One platform, whatever the exporter calls it.
			for _, r := range p.attestations {
				ref, ok = r, true
			}
		}
		if !ok {
			continue
		}
		res.AddAttestation(id, gwclient.Attestation{
			Kind:   gwpb.AttestationKind_InToto,
			Ref:    ref,
			Path:   vexPath,
			InToto: bkresult.InTotoAttestation{PredicateType: vex.PredicateType},
		})
	}
}

// checkAttestCaps fails early when the builder cannot take attestations.
func checkAttestCaps(c gwclient.Client) error {
	caps := c.BuildOpts().Caps
	if err := caps.Supports(gwpb.CapAttestations); err != nil {
		return fmt.Errorf("option %s: this builder cannot attach attestations (BuildKit 0.11 or newer can): %w", keyVEXAttestation, err)
	}
	return nil
}
