package frontend

import (
	"strings"
	"testing"
)

const (
	alpineOSRelease = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n"
	alpineReport    = `{"SchemaVersion":2,"ArtifactName":"alpine:3.20","Metadata":{"OS":{"Family":"alpine","Name":"3.20.3"}},"Results":[{"Target":"alpine:3.20 (alpine 3.20.3)","Class":"os-pkgs","Type":"alpine","Vulnerabilities":[
{"VulnerabilityID":"CVE-2025-9","PkgName":"libcrypto3","InstalledVersion":"3.3.2-r0","FixedVersion":"3.3.3-r0"},
{"VulnerabilityID":"CVE-2025-10","PkgName":"musl","InstalledVersion":"1.2.5-r0","FixedVersion":""}]}]}`
)

func apkDB(pkgs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pkgs); i += 2 {
		b.WriteString("P:" + pkgs[i] + "\nV:" + pkgs[i+1] + "\nA:x86_64\no:" + pkgs[i] + "\n\n")
	}
	return b.String()
}

// An Alpine image, apk and a shell in it, is patched by darn's installer
// from darn's own image of this version (the apk family's default tooling
// image), pinned, with the image's root mounted; the report's fix is the
// installer's request; the database read back gives the change.
func TestBuildAlpine(t *testing.T) {
	f := newFake(map[string]string{"image": "alpine:3.20", "context:report": "local:report"})
	f.report = alpineReport
	f.images = []string{"alpine", "ghcr.io/darn-dev/darn"}
	f.files = map[string]string{
		"/etc/os-release":       alpineOSRelease,
		"/lib/apk/db/installed": apkDB("libcrypto3", "3.3.2-r0", "musl", "1.2.5-r0"),
		"/sbin/apk":             "",
		"/bin/sh":               "",
	}
	f.after = map[string]string{"/etc/os-release": alpineOSRelease, "/lib/apk/db/installed": apkDB("libcrypto3", "3.3.3-r0", "musl", "1.2.5-r0")}
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	s := summaries(t, res)[0]
	if s.ToolingImage != "ghcr.io/darn-dev/darn:dev" || s.ToolingDigest == "" {
		t.Errorf("tooling image = %q@%q", s.ToolingImage, s.ToolingDigest)
	}
	if len(s.Changes) != 1 || s.Changes[0].Name != "libcrypto3" || s.Changes[0].To != "3.3.3-r0" ||
		s.Changes[0].PURL != "pkg:apk/alpine/libcrypto3@3.3.3-r0?arch=x86_64&distro=3.20.3" {
		t.Errorf("changes = %+v", s.Changes)
	}
	exec := solvedExec(t, f)
	for _, want := range []string{"/run/darn/target", "ghcr.io/darn-dev/darn:dev@sha256:", "DARN_TARGET=/run/darn/target"} {
		if !strings.Contains(exec, want) {
			t.Errorf("the upgrade step lacks %s:\n%s", want, exec)
		}
	}
	if w := strings.Join(f.warnings, "\n"); !strings.Contains(w, "is patched by darn-apk") {
		t.Errorf("the installer must be announced: %q", f.warnings)
	}
}

// An Alpine image without os-release is told by its /etc/alpine-release,
// not by the report.
func TestBuildAlpineWithoutOSRelease(t *testing.T) {
	f := newFake(map[string]string{"image": "alpine:3.20", "context:report": "local:report"})
	f.report = strings.ReplaceAll(alpineReport, `"Family":"alpine","Name":"3.20.3"`, `"Family":"alpine","Name":"3.18.0"`)
	f.images = []string{"alpine", "ghcr.io/darn-dev/darn"}
	f.files = map[string]string{"/etc/alpine-release": "3.20.3\n", "/lib/apk/db/installed": apkDB("libcrypto3", "3.3.2-r0")}
	f.after = map[string]string{"/lib/apk/db/installed": apkDB("libcrypto3", "3.3.3-r0")}
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if s := summaries(t, res)[0]; s.OS != "alpine 3.20.3" {
		t.Errorf("OS = %q, want alpine 3.20.3 from /etc/alpine-release", s.OS)
	}
}
