package apk

import "strings"

// release is one apk-family distribution darn knows: its os-release ID,
// the names scanners give it (Trivy's Metadata.OS.Family, Grype's distro
// name) and the purl namespace. A new distribution is a new line; every
// release of one is patched the same way (from its own repositories).
type release struct {
	ID       string
	Scanners []string
	PURL     string
}

var releases = []release{
	{"alpine", []string{"alpine"}, "alpine"},
	{"wolfi", []string{"wolfi"}, "wolfi"},
	{"chainguard", []string{"chainguard"}, "chainguard"},
}

// lookupRelease finds a distribution by os-release ID or scanner name.
func lookupRelease(id string) (release, bool) {
	id = strings.ToLower(strings.TrimSpace(id))
	for _, r := range releases {
		if r.ID == id {
			return r, true
		}
		for _, s := range r.Scanners {
			if s == id {
				return r, true
			}
		}
	}
	return release{}, false
}
