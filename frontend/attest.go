package frontend

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	bkresult "github.com/moby/buildkit/solver/result"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/patch"
	"github.com/darn-dev/darn/vex"
)

// vexPath is where the attestation's document lies in its reference.
const vexPath = "/openvex.json"

// attestVEX keeps the platform's OpenVEX document as its attestation;
// a platform where nothing was fixed has no statement to make.
func (p *patcher) attestVEX(ctx context.Context, pl ocispecs.Platform, s patch.Summary, ts time.Time) error {
	att, err := p.vexAttestation(ctx, s, ts)
	if err != nil || att == nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.attestations == nil {
		p.attestations = map[string]gwclient.Reference{}
	}
	p.attestations[patch.PlatformKey(pl)] = att
	return nil
}

// vexAttestation makes the platform's OpenVEX document into a reference
// for its attestation; nil when nothing was fixed (no statement to make).
func (p *patcher) vexAttestation(ctx context.Context, s patch.Summary, ts time.Time) (gwclient.Reference, error) {
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

// attach adds the OpenVEX attestation of each patched platform to the
// result, under the platform's export id; BuildKit fills in the in-toto
// subject (the platform's manifest) when it exports the image.
func (p *patcher) attach(res *gwclient.Result, ids map[string]ocispecs.Platform) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, pl := range ids {
		ref, ok := p.attestations[patch.PlatformKey(pl)]
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
		return fmt.Errorf("option %s: this builder cannot attach attestations (BuildKit 0.11 or newer can): %w", patch.KeyVEXAttestation, err)
	}
	return nil
}
