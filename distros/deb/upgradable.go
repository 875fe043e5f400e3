package deb

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/darn-dev/darn/distros"
)

// UpgradableDir is where the update-all probe writes its answer, the file
// UpgradableFile.
const (
	UpgradableDir  = "/run/darn/out"
	UpgradableFile = "upgradable"
)

// Upgradable is the update-all probe: it lists, as "NAME VERSION" lines
// in UpgradableFile, the installed packages for which the apt sources (of
// the image, or of the tooling image) offer a newer version. Nothing of
// the run reaches an image: only the answer is read.
func (Family) Upgradable(u distros.Upgrade) (distros.Step, error) {
	var args []string
	for _, p := range u.Installed {
		if p.Installed && nameRE.MatchString(p.Name) && versionRE.MatchString(p.Version) {
			args = append(args, p.Name+"="+p.Version)
		}
	}
	sort.Strings(args)
	s := aptStep(u, "", "upgradable.sh", upgradableScript, args)
	// The argument list is too long to show.
	s.Name = fmt.Sprintf("list upgradable packages (%d installed)", len(args))
	s.Output, s.Answer = UpgradableDir, UpgradableFile
	s.Env = append(s.Env, [2]string{"DARN_OUT", UpgradableDir})
	return s, nil
}

// ParseUpgradable reads the probe's answer into name → version.
func (Family) ParseUpgradable(dt []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(dt))
	for sc.Scan() {
		name, version, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok || !nameRE.MatchString(name) || !versionRE.MatchString(version) {
			return nil, fmt.Errorf("parsing upgradable packages: bad line %q", sc.Text())
		}
		out[name] = version
	}
	return out, sc.Err()
}
