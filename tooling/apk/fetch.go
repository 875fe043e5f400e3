package apkinstall

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	goapk "github.com/chainguard-dev/go-apk/pkg/apk"
	"github.com/chainguard-dev/go-apk/pkg/expandapk"
)

// maxPackage bounds one package download; no apk package comes near it.
const maxPackage = 2 << 30

// FetchIndexes downloads each repository's APKINDEX for arch and checks
// its signature against the image's keys (go-apk refuses an index no key
// verifies, or whose content changed after signing).
func FetchIndexes(ctx context.Context, client *http.Client, c Config) ([]goapk.NamedIndex, error) {
	idx, err := goapk.GetRepositoryIndexes(ctx, c.Repositories, c.Keys, c.Arch, goapk.WithHTTPClient(client))
	if err != nil {
		return nil, fmt.Errorf("fetching the repositories' signed indexes: %w", err)
	}
	return idx, nil
}

// Fetched is a package downloaded and verified: its index entry and its
// expanded segments (in a temporary directory; Close removes it).
type Fetched struct {
	Pkg *goapk.RepositoryPackage
	Exp *expandapk.APKExpanded
}

// Close removes the package's temporary files.
func (f Fetched) Close() error { return f.Exp.Close() }

// FetchPackage downloads a package and verifies it against the signed
// index: the SHA-1 of its control segment is the index's checksum, its
// control data names the package and version the index does, and the
// SHA-256 of its data segment is the control data's datahash (go-apk
// checks each file against the data's own checksums as it expands it).
func FetchPackage(ctx context.Context, client *http.Client, p *goapk.RepositoryPackage) (Fetched, error) {
	dt, err := download(ctx, client, p.URL())
	if err != nil {
		return Fetched{}, err
	}
	exp, err := expandapk.ExpandApk(ctx, bytes.NewReader(dt), "")
	if err != nil {
		return Fetched{}, fmt.Errorf("%s %s from %s does not verify: %w", p.Name, p.Version, p.URL(), err)
	}
	if err := verify(p, exp); err != nil {
		exp.Close()
		return Fetched{}, fmt.Errorf("%s %s from %s does not verify: %w", p.Name, p.Version, p.URL(), err)
	}
	return Fetched{Pkg: p, Exp: exp}, nil
}

// download fetches a URL, bounded in size.
func download(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", u, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("downloading %s: %s", u, res.Status)
	}
	dt, err := io.ReadAll(io.LimitReader(res.Body, maxPackage+1))
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", u, err)
	}
	if len(dt) > maxPackage {
		return nil, fmt.Errorf("downloading %s: larger than %d bytes", u, maxPackage)
	}
	return dt, nil
}

// verify checks an expanded package against its signed index entry.
func verify(p *goapk.RepositoryPackage, exp *expandapk.APKExpanded) error {
	if len(p.Checksum) == 0 || !bytes.Equal(exp.ControlHash, p.Checksum) {
		return fmt.Errorf("its control segment does not match the signed index (checksum %x, index %x): refusing it", exp.ControlHash, p.Checksum)
	}
	info, err := pkgInfo(exp)
	if err != nil {
		return err
	}
	if info["pkgname"] != p.Name || info["pkgver"] != p.Version {
		return fmt.Errorf("its control data names %s %s, the index %s %s: refusing it", info["pkgname"], info["pkgver"], p.Name, p.Version)
	}
	if want := info["datahash"]; want == "" || want != hex.EncodeToString(exp.PackageHash) {
		return errors.New("its data segment does not match its control data's datahash: refusing it")
	}
	return nil
}

// pkgInfo reads the single-valued fields of a package's .PKGINFO.
func pkgInfo(exp *expandapk.APKExpanded) (map[string]string, error) {
	f, err := exp.ControlFS.Open(".PKGINFO")
	if err != nil {
		return nil, fmt.Errorf("the package has no .PKGINFO: %w", err)
	}
	defer f.Close()
	dt, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(dt), "\n") {
		k, v, ok := strings.Cut(line, " = ")
		if ok && !strings.HasPrefix(k, "#") {
			if _, dup := out[k]; !dup {
				out[k] = v
			}
		}
	}
	return out, nil
}

// scripts names the install scripts a package carries, which darn never
// runs (they would be the image's code, and Wolfi images have no shell).
func scripts(exp *expandapk.APKExpanded) []string {
	var out []string
	for _, s := range []string{".pre-install", ".post-install", ".pre-upgrade", ".post-upgrade", ".trigger"} {
		if f, err := exp.ControlFS.Open(s); err == nil {
			f.Close()
			out = append(out, s)
		}
	}
	return out
}
