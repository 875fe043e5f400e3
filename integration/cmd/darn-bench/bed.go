package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// bed is the running test bed as integration/testbed/up.sh writes it into
// .testbed/env: the builder, the registry and the images the benchmarks
// patch.
type bed struct {
	BuildkitHost string
	Registry     string
	// Test is the bookworm image with pending security updates; Demo the
	// same without the test bed's extras.
	Test, Distroless, Tooling, Multi string
	MultiPlatforms                   []string
	RPM, APK, Frontend               string
	// RPMInstalled, RPMFixes, APKInstalled and APKFixes are NAME=VERSION
	// lists of what the images hold and what the bed's advisories fix.
	RPMInstalled, RPMFixes, APKInstalled, APKFixes map[string]string
	// DistrolessPackages are the packages the distroless image holds.
	DistrolessPackages map[string]bool
}

// loadEnvFile sets, from a KEY=VALUE file, every variable the environment
// does not already have, so that the program runs with or without
// `set -a; . .testbed/env; set +a` first.
func loadEnvFile(path string) error {
	dt, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the test bed's environment (run `make testbed` first): %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(dt))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if _, set := os.LookupEnv(k); !set {
			if err := os.Setenv(k, v); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

// bedFromEnv reads the bed from the environment; a missing variable is an
// error naming it.
func bedFromEnv() (bed, error) {
	var missing []string
	get := func(k string) string {
		v := os.Getenv(k)
		if v == "" {
			missing = append(missing, k)
		}
		return v
	}
	b := bed{
		BuildkitHost: get("BUILDKIT_HOST"), Registry: get("DARN_REGISTRY"),
		Test: get("DARN_TEST_IMAGE"), Distroless: get("DARN_DISTROLESS_IMAGE"), Tooling: get("DARN_TOOLING_IMAGE"),
		Multi: get("DARN_MULTI_IMAGE"), RPM: get("DARN_RPM_DNF_IMAGE"), APK: get("DARN_APK_ALPINE_IMAGE"),
		Frontend:       os.Getenv("DARN_FRONTEND_IMAGE"),
		MultiPlatforms: strings.Split(get("DARN_MULTI_PLATFORMS"), ","),
		RPMInstalled:   versionList(get("DARN_RPM_INSTALLED")), RPMFixes: versionList(get("DARN_RPM_FIXES")),
		APKInstalled: versionList(get("DARN_APK_INSTALLED")), APKFixes: versionList(get("DARN_APK_FIXES")),
		DistrolessPackages: map[string]bool{},
	}
	for _, p := range strings.Split(get("DARN_DISTROLESS_PACKAGES"), ",") {
		b.DistrolessPackages[p] = true
	}
	if b.Frontend == "" && b.Registry != "" {
		b.Frontend = b.Registry + "/darn/frontend:dev"
	}
	if len(missing) > 0 {
		return b, fmt.Errorf("the test bed's environment lacks %s: run `make testbed` (and `make frontend` for the apk family)", strings.Join(missing, ", "))
	}
	return b, nil
}

// versionList reads NAME=VERSION,... into a map.
func versionList(s string) map[string]string {
	m := map[string]string{}
	for kv := range strings.SplitSeq(s, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// tag is a tag of the bench's own repository in the bed's registry.
func (b bed) tag(repo, name string) string {
	return fmt.Sprintf("%s/darn-bench/%s:%s", b.Registry, repo, name)
}
