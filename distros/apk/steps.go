package apk

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/plan"
)

// The installer's contract: its path in darn's image, its commands, and
// the answer file of its listing, which the step's Output directory holds.
const (
	InstallerPath     = "/bin/darn-apk"
	CommandUpgrade    = "upgrade"
	CommandUpgradable = "upgradable"
	AnswerDir         = "/run/darn/out"
	AnswerFile        = "upgradable"
	// EnvSkipMissing asks the installer to leave out, with a warning, the
	// packages no repository offers at or above the fix.
	EnvSkipMissing = "DARN_SKIP_MISSING"
)

// NameRE is an apk package name as abuild allows it. Names and versions
// reach the installer as argv only, but a report is untrusted input and a
// clear error here beats one from inside the step.
var NameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+._-]*$`)

// Request is "NAME>=VERSION": install NAME at the lowest version the
// repositories offer at or above VERSION.
func Request(name, version string) string { return name + ">=" + version }

// ParseRequest reads a Request, checking the name and version.
func ParseRequest(s string) (name, version string, err error) {
	name, version, ok := strings.Cut(s, ">=")
	if !ok || !NameRE.MatchString(name) {
		return "", "", fmt.Errorf("invalid request %q: want NAME>=VERSION", s)
	}
	if _, err := parseVersion(version); err != nil {
		return "", "", fmt.Errorf("invalid request %q: %w", s, err)
	}
	return name, version, nil
}

// Upgrade is the installer's step, in darn's image with the image's root
// mounted: each planned package at the lowest version its repositories
// offer at or above its fix, with only the dependencies that needs.
func (Family) Upgrade(u distros.Upgrade) (distros.Step, error) {
	var args []string
	for _, it := range u.Plan.Upgrades() {
		r := Request(it.Name, it.Fixed)
		if _, _, err := ParseRequest(r); err != nil {
			return distros.Step{}, err
		}
		args = append(args, r)
	}
	if len(args) == 0 {
		return distros.Step{}, plan.ErrNothingToPatch
	}
	s := step(u, "darn-apk upgrade "+strings.Join(args, " "), CommandUpgrade, args)
	if u.SkipMissing {
		s.Env = append(s.Env, [2]string{EnvSkipMissing, "1"})
	}
	return s, nil
}

// Upgradable is the installer's listing of the installed packages for
// which the repositories offer a newer version (update-all mode).
func (Family) Upgradable(u distros.Upgrade) (distros.Step, error) {
	s := step(u, fmt.Sprintf("darn-apk upgradable (%d installed)", len(u.Installed)), CommandUpgradable, nil)
	s.Output, s.Answer = AnswerDir, AnswerFile
	s.Env = append(s.Env, [2]string{"DARN_OUT", AnswerDir})
	return s, nil
}

// step is an installer step. It runs in darn's image whatever the image
// holds (Installed never reports a package manager), keeps no cache
// (packages are verified against the signed index on every run and never
// reused from a mount another image's patch could write) and downloads
// into a tmpfs.
func step(u distros.Upgrade, what, command string, args []string) distros.Step {
	return distros.Step{
		Name:      what,
		Command:   []string{InstallerPath, command},
		Args:      args,
		Env:       u.SharedEnv(),
		Tmpfs:     []string{"/tmp"},
		InTooling: true,
	}
}

// ParseUpgradable reads the listing's answer: "NAME VERSION" lines, the
// newest version the repositories offer for each installed package.
func (Family) ParseUpgradable(dt []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(dt))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 || !NameRE.MatchString(f[0]) {
			return nil, fmt.Errorf("line %d of the upgradable list: want NAME VERSION, got %q", n, truncate(sc.Text()))
		}
		if _, err := parseVersion(f[1]); err != nil {
			return nil, fmt.Errorf("line %d of the upgradable list: %w", n, err)
		}
		out[f[0]] = f[1]
	}
	return out, sc.Err()
}
