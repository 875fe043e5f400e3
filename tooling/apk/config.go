package apkinstall

import (
	"fmt"
	"net/url"
	"path"
	"runtime"
	"slices"
	"strings"

	"github.com/darn-dev/darn/distros"
)

// Image paths apk reads its configuration from.
const (
	repositoriesPath = "/etc/apk/repositories"
	keysDir          = "/etc/apk/keys"
	archPath         = "/etc/apk/arch"
)

// Config is what the image's files say: its repositories (mirrors
// applied), its trusted keys, and its architecture.
type Config struct {
	Repositories []string
	Keys         map[string][]byte
	Arch         string
}

// ReadConfig reads the image's apk configuration. Repositories that are
// not http or https (local directories, tagged "@name" repositories whose
// packages only pinned requests use) are left out, with a warning: a path
// would be read from darn's image, not the patched one.
func ReadConfig(root Root, mirrors []distros.Mirror, installedArch string, warn func(string)) (Config, error) {
	dt, err := root.ReadFile(repositoriesPath)
	if err != nil {
		return Config{}, fmt.Errorf("reading the image's %s: %w", repositoriesPath, err)
	}
	var c Config
	for _, line := range strings.Split(string(dt), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "@") || !(strings.HasPrefix(line, "http://") || strings.HasPrefix(line, "https://")) {
			warn(fmt.Sprintf("%s: %q left out: only http and https repositories are used", repositoriesPath, line))
			continue
		}
		repo, err := mirrored(strings.TrimRight(line, "/"), mirrors)
		if err != nil {
			return Config{}, err
		}
		c.Repositories = append(c.Repositories, repo)
	}
	if len(c.Repositories) == 0 {
		return Config{}, fmt.Errorf("the image's %s names no http or https repository", repositoriesPath)
	}
	if c.Keys, err = readKeys(root); err != nil {
		return Config{}, err
	}
	c.Arch = readArch(root, installedArch)
	return c, nil
}

// mirrored applies the first mirror whose original prefixes repo (the
// longest first), and checks the result is a URL.
func mirrored(repo string, mirrors []distros.Mirror) (string, error) {
	for _, m := range distros.SortMirrors(mirrors) {
		if rest, ok := strings.CutPrefix(repo, m.Original); ok && (rest == "" || strings.HasPrefix(rest, "/")) {
			repo = m.Mirror + rest
			break
		}
	}
	u, err := url.Parse(repo)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("repository %q is no http or https URL", repo)
	}
	return repo, nil
}

// readKeys reads the image's trusted public keys: /etc/apk/keys/*.pub.
func readKeys(root Root) (map[string][]byte, error) {
	entries, err := root.ReadDir(keysDir)
	if err != nil {
		return nil, fmt.Errorf("reading the image's keys in %s: %w", keysDir, err)
	}
	keys := map[string][]byte{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".pub") {
			continue
		}
		dt, err := root.ReadFile(path.Join(keysDir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading the image's key %s: %w", e.Name(), err)
		}
		keys[e.Name()] = dt
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("the image trusts no key: %s holds no .pub file", keysDir)
	}
	return keys, nil
}

// goArches maps Go's architectures to apk's.
var goArches = map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "x86", "arm": "armv7", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}

// readArch is the image's architecture: /etc/apk/arch, else what its
// packages are built for, else the machine's.
func readArch(root Root, installedArch string) string {
	if dt, err := root.ReadFile(archPath); err == nil {
		if a := strings.TrimSpace(string(dt)); a != "" && !strings.ContainsAny(a, "/ \t") {
			return a
		}
	}
	if installedArch != "" && installedArch != "noarch" {
		return installedArch
	}
	return goArches[runtime.GOARCH]
}

// mostCommonArch is the architecture most installed packages are built
// for, noarch aside.
func mostCommonArch(arches []string) string {
	count := map[string]int{}
	for _, a := range arches {
		if a != "" && a != "noarch" {
			count[a]++
		}
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	best := ""
	for _, k := range keys {
		if best == "" || count[k] > count[best] {
			best = k
		}
	}
	return best
}
