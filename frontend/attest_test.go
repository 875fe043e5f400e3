package frontend

import (
	"maps"
	"slices"
	"strings"
	"testing"

	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/darn-dev/darn/patch"
	"github.com/darn-dev/darn/vex"
)

// vex-attestation attaches, per patched platform, an in-toto attestation whose
// predicate is an OpenVEX document of the verified fixes; none without it.
func TestBuildAttestsVEX(t *testing.T) {
	opts := maps.Clone(defaultOpts)
	opts[patch.KeyVEXAttestation] = "true"
	res, err := Build(t.Context(), newFake(opts))
	if err != nil {
		t.Fatal(err)
	}
	atts := res.Attestations["linux/amd64"]
	if len(res.Attestations) != 1 || len(atts) != 1 {
		t.Fatalf("attestations = %+v, want one for linux/amd64", res.Attestations)
	}
	a := atts[0]
	if a.Kind != gwpb.AttestationKind_InToto || a.InToto.PredicateType != vex.PredicateType || len(a.InToto.Subjects) != 0 {
		t.Errorf("attestation %+v: want in-toto, OpenVEX predicate, the image itself as subject", a)
	}
	dt, err := a.Ref.ReadFile(t.Context(), gwclient.ReadRequest{Filename: a.Path})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openvex.Parse(dt)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range doc.Statements {
		s := &doc.Statements[i]
		if err := s.Validate(); err != nil || s.Status != openvex.StatusFixed || !strings.Contains(s.StatusNotes, "libc6 2.36-9+deb12u10") {
			t.Errorf("statement %+v (%v)", s, err)
		}
		ids = append(ids, string(s.Vulnerability.Name))
	}
	// CVE-2025-4 (openssl) is not installed: no claim.
	if !slices.Equal(ids, []string{"CVE-2025-1", "CVE-2025-2"}) {
		t.Errorf("statements for %v", ids)
	}

	res, err = Build(t.Context(), newFake(defaultOpts))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Attestations) != 0 {
		t.Errorf("attestations without vex-attestation: %+v", res.Attestations)
	}
}

func TestBuildIndexAttestsEachPatchedPlatform(t *testing.T) {
	f := newIndexFake(map[string]string{"image": "debian:12", "context:report": "local:report", "report": "reports", "platform": "linux/arm64", patch.KeyVEXAttestation: "true"})
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Collect(maps.Keys(res.Attestations)); !slices.Equal(got, []string{"linux/arm64/v8"}) {
		t.Errorf("attestations for %v, want only the patched linux/arm64/v8", got)
	}
}
