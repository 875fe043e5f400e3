package apkinstall

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	goapk "github.com/chainguard-dev/go-apk/pkg/apk"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/distros/apk"
)

// Options are the installer's inputs, from its arguments and environment.
type Options struct {
	Root         Root
	Mirrors      []distros.Mirror
	FetchTimeout time.Duration
	Epoch        time.Time
	SkipMissing  bool
	// Warn reports what the user should know (kept configuration, scripts
	// not run, packages left out).
	Warn func(string)
}

// image is what the installer knows of the image once it has read it.
type image struct {
	dbPath  string
	entries []apk.Entry
	config  Config
	client  *http.Client
}

// open reads the image's database and configuration.
func open(o Options) (image, error) {
	var im image
	var dt []byte
	var err error
	for _, p := range apk.DatabasePaths {
		if dt, err = o.Root.ReadFile(p); err == nil {
			im.dbPath = p
			break
		}
	}
	if im.dbPath == "" {
		return im, fmt.Errorf("the image has no apk database (%s): %w", strings.Join(apk.DatabasePaths, ", "), err)
	}
	if im.entries, err = apk.ParseDatabase(dt); err != nil {
		return im, fmt.Errorf("reading %s: %w", im.dbPath, err)
	}
	arches := make([]string, len(im.entries))
	for i, e := range im.entries {
		arches[i] = e.Arch
	}
	if im.config, err = ReadConfig(o.Root, o.Mirrors, mostCommonArch(arches), o.Warn); err != nil {
		return im, err
	}
	timeout := o.FetchTimeout
	if timeout == 0 {
		timeout = 120 * time.Second
	}
	im.client = &http.Client{Timeout: timeout}
	return im, nil
}

// openIndexes reads the image and fetches its repositories' signed
// indexes: what every command starts with.
func openIndexes(ctx context.Context, o Options) (image, []goapk.NamedIndex, error) {
	im, err := open(o)
	if err != nil {
		return im, nil, err
	}
	indexes, err := FetchIndexes(ctx, im.client, im.config)
	return im, indexes, err
}

// Upgrade installs each request ("NAME>=VERSION") at the lowest version at
// or above its fix, with the dependencies that needs, and returns what it
// installed ("NAME OLD -> NEW").
func Upgrade(ctx context.Context, o Options, requests []string) ([]string, error) {
	im, indexes, err := openIndexes(ctx, o)
	if err != nil {
		return nil, err
	}
	choices, err := choose(indexes, im.entries, requests, o)
	if err != nil || len(choices) == 0 {
		return nil, err
	}
	fetched, err := fetchAll(ctx, im.client, choices)
	defer func() {
		for _, f := range fetched {
			f.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	return apply(o, im, choices, fetched)
}

// choose resolves the requests against the indexes.
func choose(indexes []goapk.NamedIndex, entries []apk.Entry, requests []string, o Options) ([]Choice, error) {
	r := newResolver(indexes, entries)
	var missing []string
	for _, req := range requests {
		name, fixed, err := apk.ParseRequest(req)
		if err != nil {
			return nil, err
		}
		m, err := r.request(name, fixed)
		if err != nil {
			return nil, err
		}
		if m != nil {
			missing = append(missing, m.String())
		}
	}
	if len(missing) > 0 && !o.SkipMissing {
		return nil, fmt.Errorf("no repository offers a fixed version of: %s", strings.Join(missing, "; "))
	}
	for _, m := range missing {
		o.Warn("left out: " + m)
	}
	return r.Choices(), nil
}

// fetchAll downloads and verifies every package before anything is
// written: a package that fails its check leaves the image untouched.
func fetchAll(ctx context.Context, client *http.Client, choices []Choice) ([]Fetched, error) {
	var out []Fetched
	for _, c := range choices {
		f, err := FetchPackage(ctx, client, c.Pkg)
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
	return out, nil
}

// apply writes the verified packages into the root, removes the files
// their old versions had and they have not, and rewrites the database.
func apply(o Options, im image, choices []Choice, fetched []Fetched) ([]string, error) {
	w := &writer{root: o.Root, owner: owners(im.entries), touched: map[string]bool{}, warn: o.Warn}
	records := map[string][]string{}
	var order, done []string
	for i, c := range choices {
		old, from := map[string]string{}, "(new)"
		if c.Old != nil {
			old, from = entryFiles(*c.Old), c.Old.Version
		}
		if s := scripts(fetched[i].Exp); len(s) > 0 {
			o.Warn(fmt.Sprintf("%s %s has %s: not run (darn runs no code of the image)", c.Pkg.Name, c.Pkg.Version, strings.Join(s, ", ")))
		}
		files, err := w.install(fetched[i].Exp.TarFile, c.Pkg.Name, c.Pkg.Replaces, old)
		if err != nil {
			return nil, err
		}
		if err := w.removeOld(old, files); err != nil {
			return nil, fmt.Errorf("%s: removing the files of %s: %w", c.Pkg.Name, from, err)
		}
		records[c.Pkg.Name] = record(c.Pkg.Package, files)
		order = append(order, c.Pkg.Name)
		done = append(done, fmt.Sprintf("%s %s -> %s", c.Pkg.Name, from, c.Pkg.Version))
	}
	dir, err := writeDB(o, im, rewrite(im.entries, records, order))
	if err != nil {
		return nil, err
	}
	w.touched[dir] = true
	return done, w.settle(o.Epoch)
}

// removeOld removes the old version's files that the new one lacks.
func (w *writer) removeOld(old map[string]string, files []File) error {
	keep := map[string]bool{}
	for _, f := range files {
		keep[f.Name] = true
	}
	names := make([]string, 0, len(old))
	for n := range old {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if !keep[n] {
			if err := w.remove(n, old[n]); err != nil {
				return err
			}
		}
	}
	return nil
}

// owners maps every installed file to its package.
func owners(entries []apk.Entry) map[string]string {
	out := map[string]string{}
	for _, e := range entries {
		for f := range entryFiles(e) {
			out[f] = e.Name
		}
	}
	return out
}

// writeDB replaces the installed database through a renamed temporary
// file, its time the epoch, and returns the directory it is in.
func writeDB(o Options, im image, dt []byte) (string, error) {
	dst, err := o.Root.Resolve(im.dbPath)
	if err != nil {
		return "", err
	}
	tmp := filepath.Join(filepath.Dir(dst), ".darn-apk.installed")
	if err := os.WriteFile(tmp, dt, 0o644); err != nil {
		return "", fmt.Errorf("writing %s: %w", im.dbPath, err)
	}
	if !o.Epoch.IsZero() {
		if err := os.Chtimes(tmp, o.Epoch, o.Epoch); err != nil {
			return "", err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", fmt.Errorf("writing %s: %w", im.dbPath, err)
	}
	return filepath.Dir(dst), nil
}

// Upgradable lists, for each installed package, the newest version the
// repositories offer when it is newer: "NAME VERSION" lines.
func Upgradable(ctx context.Context, o Options) ([]string, error) {
	im, indexes, err := openIndexes(ctx, o)
	if err != nil {
		return nil, err
	}
	r := newResolver(indexes, nil)
	var out []string
	for _, e := range im.entries {
		newest := e.Version
		for _, p := range r.byName[e.Name] {
			if cmp(p.Version, newest) > 0 {
				newest = p.Version
			}
		}
		if newest != e.Version {
			out = append(out, e.Name+" "+newest)
		}
	}
	return out, nil
}
