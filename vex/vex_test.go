package vex_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	openvex "github.com/openvex/go-vex/pkg/vex"
	"gotest.tools/v3/golden"

	"github.com/darn-dev/darn/vex"
)

const (
	dgst    = digest.Digest("sha256:9a2d04b0d0ea3e5c5c1fb4ba4d2fb1a8e7ee8ba2a0f0c4ee9fb1c0d5e8b3a7c1")
	libc6   = "pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12"
	libcBin = "pkg:deb/debian/libc-bin@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12"
	tzdata  = "pkg:deb/debian/tzdata@2025b-0%2Bdeb12u1?arch=all&distro=debian-12"
)

var stamp = time.Date(2025, 6, 1, 12, 30, 45, 123456789, time.FixedZone("CEST", 2*60*60))

// input is a patched Debian 12 image whose upgrade fixed three
// vulnerabilities in three packages, one of them in two packages at once.
func input() vex.Input {
	return vex.Input{
		Repository: "registry.example/team/app-server",
		Digest:     dgst,
		Tag:        "1.4-patched",
		Platform:   "linux/amd64",
		Timestamp:  stamp,
		Fixed: vex.FromChanges([]vex.PackageChange{
			{Name: "libc6", To: "2.36-9+deb12u10", PURL: libc6, Fixes: []string{"CVE-2025-4802", "CVE-2025-0395"}},
			{Name: "libc-bin", To: "2.36-9+deb12u10", PURL: libcBin, Fixes: []string{"CVE-2025-4802"}},
			{Name: "tzdata", To: "2025b-0+deb12u1", PURL: tzdata, Fixes: []string{"DLA-4105-1"}},
			// A dependency the upgrade pulled in fixes nothing.
			{Name: "libgcc-s1", To: "12.2.0-14+deb12u1", PURL: "pkg:deb/debian/libgcc-s1@12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-12"},
		}),
	}
}

func TestFromChanges(t *testing.T) {
	got := input().Fixed
	want := []vex.Fixed{
		{Vulnerability: "CVE-2025-0395", Package: "libc6", Version: "2.36-9+deb12u10", PURL: libc6},
		{Vulnerability: "CVE-2025-4802", Package: "libc-bin", Version: "2.36-9+deb12u10", PURL: libcBin},
		{Vulnerability: "CVE-2025-4802", Package: "libc6", Version: "2.36-9+deb12u10", PURL: libc6},
		{Vulnerability: "DLA-4105-1", Package: "tzdata", Version: "2025b-0+deb12u1", PURL: tzdata},
	}
	if !slices.Equal(got, want) {
		t.Errorf("FromChanges:\n got %+v\nwant %+v", got, want)
	}
	if got := vex.FromChanges(nil); len(got) != 0 {
		t.Errorf("FromChanges(nil) = %+v, want none", got)
	}
}

// The product is the patched image as a purl of type oci: name = last path
// element, version = digest, repository_url without scheme.
func TestDocumentProduct(t *testing.T) {
	tests := []struct {
		name string
		edit func(*vex.Input)
		want string
	}{
		{
			"tag and platform", func(*vex.Input) {},
			"pkg:oci/app-server@" + string(dgst) + "?arch=amd64&repository_url=registry.example%2Fteam%2Fapp-server&tag=1.4-patched",
		},
		{
			"index digest", func(in *vex.Input) { in.Tag, in.Platform = "", "" },
			"pkg:oci/app-server@" + string(dgst) + "?repository_url=registry.example%2Fteam%2Fapp-server",
		},
		{
			"variant dropped", func(in *vex.Input) { in.Tag, in.Platform = "", "linux/arm/v7" },
			"pkg:oci/app-server@" + string(dgst) + "?arch=arm&repository_url=registry.example%2Fteam%2Fapp-server",
		},
		{
			"docker hub short name", func(in *vex.Input) { in.Repository, in.Tag, in.Platform = "debian", "", "" },
			"pkg:oci/debian@" + string(dgst) + "?repository_url=docker.io%2Flibrary%2Fdebian",
		},
		{
			"registry with port", func(in *vex.Input) { in.Repository, in.Tag, in.Platform = "localhost:5000/app", "", "" },
			"pkg:oci/app@" + string(dgst) + "?repository_url=localhost:5000%2Fapp",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := input()
			tc.edit(&in)
			doc, err := vex.Document(in)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range doc.Statements {
				if len(s.Products) != 1 || s.Products[0].ID != tc.want {
					t.Errorf("%s: products %+v, want one with @id %s", s.Vulnerability.Name, s.Products, tc.want)
				}
			}
		})
	}
}

func TestDocumentErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*vex.Input)
		want string
	}{
		{"scheme in repository", func(in *vex.Input) { in.Repository = "https://registry.example/app" }, "parsing repository"},
		{"tag in repository", func(in *vex.Input) { in.Repository = "registry.example/app:1.0" }, "has a tag or digest"},
		{"no digest", func(in *vex.Input) { in.Digest = "" }, "checking digest"},
		{"bad digest", func(in *vex.Input) { in.Digest = "sha256:abc" }, "checking digest"},
		{"bad tag", func(in *vex.Input) { in.Tag = "no spaces" }, "checking tag"},
		{"bad platform", func(in *vex.Input) { in.Platform = "amd64" }, "parsing platform"},
		{"no timestamp", func(in *vex.Input) { in.Timestamp = time.Time{} }, "timestamp is required"},
		{"no vulnerability id", func(in *vex.Input) { in.Fixed[0].Vulnerability = "" }, "has no vulnerability id"},
		{"bad purl", func(in *vex.Input) { in.Fixed[0].PURL = "libc6" }, "parsing package URL"},
		{"deb purl without distro", func(in *vex.Input) { in.Fixed[0].PURL = "pkg:deb/libc6@1?arch=amd64" }, "lacks a name or namespace"},
		{"conflicting duplicate", func(in *vex.Input) {
			dup := in.Fixed[0]
			dup.Version = "2.36-9+deb12u9"
			in.Fixed = append(in.Fixed, dup)
		}, "conflicting fixes of CVE-2025-0395"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := input()
			tc.edit(&in)
			doc, err := vex.Document(in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Document() = %v, %v; want error containing %q", doc, err, tc.want)
			}
		})
	}
}

// An image with nothing fixed gets no document, the way policy returns
// ErrNothingToPatch for a plan without upgrades.
func TestDocumentNothingFixed(t *testing.T) {
	in := input()
	in.Fixed = nil
	if _, err := vex.Document(in); !errors.Is(err, vex.ErrNothingFixed) {
		t.Fatalf("Document() error = %v, want ErrNothingFixed", err)
	}
}

func TestDocumentGolden(t *testing.T) {
	dt := marshal(t, input())
	golden.Assert(t, string(dt), "document.golden")
}

// go-vex reads the document back as valid OpenVEX, and states exactly the
// verified fixes: one fixed statement per vulnerability, nothing else.
func TestDocumentValidates(t *testing.T) {
	in := input()
	dt := marshal(t, in)
	doc, err := openvex.Parse(dt)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Context != openvex.ContextLocator() || doc.Version != 1 || doc.Author != vex.DefaultAuthor {
		t.Errorf("metadata = %+v", doc.Metadata)
	}
	if doc.Timestamp == nil || !doc.Timestamp.Equal(stamp.Truncate(time.Second)) {
		t.Errorf("timestamp = %v, want %v", doc.Timestamp, stamp.Truncate(time.Second))
	}
	var names []string
	for i := range doc.Statements {
		s := &doc.Statements[i]
		if err := s.Validate(); err != nil {
			t.Errorf("statement %s: %v", s.Vulnerability.Name, err)
		}
		if s.Status != openvex.StatusFixed || len(s.Products) != 1 || len(s.Products[0].Subcomponents) == 0 {
			t.Errorf("statement %+v: want status fixed, one product, subcomponents", s)
		}
		names = append(names, string(s.Vulnerability.Name))
	}
	if want := []string{"CVE-2025-0395", "CVE-2025-4802", "DLA-4105-1"}; !slices.Equal(names, want) {
		t.Errorf("statements for %v, want %v", names, want)
	}
	again, err := vex.Marshal(doc)
	if err != nil || string(again) != string(dt) {
		t.Errorf("re-marshalling the parsed document changed it (err %v):\n%s", err, again)
	}
}

// A VEX consumer asking go-vex about the image and one of its packages finds
// the statement; about a vulnerability darn did not fix, it finds nothing.
func TestDocumentMatches(t *testing.T) {
	doc, err := vex.Document(input())
	if err != nil {
		t.Fatal(err)
	}
	product := doc.Statements[0].Products[0].ID
	tests := []struct {
		vuln, pkg string
		want      int
	}{
		{"CVE-2025-4802", libcBin, 1},
		{"CVE-2025-4802", libc6, 1},
		{"CVE-2025-0395", libcBin, 0},
		{"CVE-2025-9999", libc6, 0},
	}
	for _, tc := range tests {
		if got := doc.Matches(tc.vuln, product, []string{tc.pkg}); len(got) != tc.want {
			t.Errorf("Matches(%s, image, %s) = %d statements, want %d", tc.vuln, tc.pkg, len(got), tc.want)
		}
	}
}

// Shuffled and duplicated input gives the same bytes, so a re-run yields the
// same document.
func TestDocumentDeterministic(t *testing.T) {
	want := marshal(t, input())
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		in := input()
		in.Fixed = append(in.Fixed, in.Fixed[r.IntN(len(in.Fixed))])
		r.Shuffle(len(in.Fixed), func(i, j int) { in.Fixed[i], in.Fixed[j] = in.Fixed[j], in.Fixed[i] })
		if got := marshal(t, in); string(got) != string(want) {
			t.Fatalf("shuffle %d: got\n%s\nwant\n%s", i, got, want)
		}
	}
}

// The derived @id depends on the content, not on when it was made; a given
// @id is kept.
func TestDocumentID(t *testing.T) {
	base := id(t, input())
	if !strings.HasPrefix(base, vex.IDPrefix) || len(base) != len(vex.IDPrefix)+64 {
		t.Errorf("derived @id %q, want %s<sha256>", base, vex.IDPrefix)
	}
	tests := []struct {
		name string
		edit func(*vex.Input)
		same bool
	}{
		{"later timestamp", func(in *vex.Input) { in.Timestamp = in.Timestamp.Add(time.Hour) }, true},
		{"other digest", func(in *vex.Input) { in.Digest = digest.FromString("other") }, false},
		{"fewer fixes", func(in *vex.Input) { in.Fixed = in.Fixed[1:] }, false},
		{"other author", func(in *vex.Input) { in.Author = "someone" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := input()
			tc.edit(&in)
			if got := id(t, in); (got == base) != tc.same {
				t.Errorf("@id %s, base %s: want same = %v", got, base, tc.same)
			}
		})
	}
	in := input()
	in.ID = "https://example.com/vex/app-1"
	if got := id(t, in); got != in.ID {
		t.Errorf("@id = %q, want the given %q", got, in.ID)
	}
}

func TestMarshalNil(t *testing.T) {
	if _, err := vex.Marshal(nil); err == nil {
		t.Error("Marshal(nil) succeeded")
	}
}

func marshal(t *testing.T, in vex.Input) []byte {
	t.Helper()
	doc, err := vex.Document(in)
	if err != nil {
		t.Fatal(err)
	}
	return encode(t, doc)
}

// encode marshals a document with vex.Marshal.
func encode(t *testing.T, doc *openvex.VEX) []byte {
	t.Helper()
	dt, err := vex.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return dt
}

func id(t *testing.T, in vex.Input) string {
	t.Helper()
	doc, err := vex.Document(in)
	if err != nil {
		t.Fatal(err)
	}
	return doc.ID
}

// The attested document states the same fixes without products: in an
// attestation the image manifest is the subject, and so the product.
func TestAttested(t *testing.T) {
	if vex.PredicateType != openvex.ContextLocator() {
		t.Errorf("predicate type %s is not the OpenVEX context %s", vex.PredicateType, openvex.ContextLocator())
	}
	doc, err := vex.Attested(input())
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := openvex.Parse(encode(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range parsed.Statements {
		s := &parsed.Statements[i]
		if err := s.Validate(); err != nil {
			t.Errorf("statement %s: %v", s.Vulnerability.Name, err)
		}
		if s.Status != openvex.StatusFixed || len(s.Products) != 0 || !strings.HasPrefix(s.StatusNotes, "fixed by darn upgrading ") {
			t.Errorf("statement %+v: want fixed, no product, the upgrades in the notes", s)
		}
		names = append(names, string(s.Vulnerability.Name))
	}
	if want := []string{"CVE-2025-0395", "CVE-2025-4802", "DLA-4105-1"}; !slices.Equal(names, want) {
		t.Errorf("statements for %v, want %v", names, want)
	}
	if _, err := vex.Attested(vex.Input{Timestamp: stamp}); !errors.Is(err, vex.ErrNothingFixed) {
		t.Errorf("no fixes: err = %v, want ErrNothingFixed", err)
	}
}
