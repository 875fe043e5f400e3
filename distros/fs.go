package distros

import (
	"context"
	"io/fs"
	"os"
	"path"
	"strings"
)

// FS reads files from an image's root: a solved BuildKit reference in the
// frontend, a directory in tests. Names are absolute paths in the image,
// resolved inside its root; a missing file's error wraps fs.ErrNotExist.
type FS interface {
	ReadFile(ctx context.Context, name string) ([]byte, error)
	ReadDir(ctx context.Context, name string) ([]fs.FileInfo, error)
	Stat(ctx context.Context, name string) (fs.FileInfo, error)
}

// DirFS is an FS over a directory holding an image's root; symlinks that
// would lead out of the directory are errors (os.Root).
type DirFS string

func (d DirFS) open() (*os.Root, error) { return os.OpenRoot(string(d)) }

// rel turns an image path into one relative to the root.
func rel(name string) string {
	if r := strings.TrimPrefix(path.Clean("/"+name), "/"); r != "" {
		return r
	}
	return "."
}

// ReadFile implements FS.
func (d DirFS) ReadFile(_ context.Context, name string) ([]byte, error) {
	r, err := d.open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.ReadFile(rel(name))
}

// ReadDir implements FS.
func (d DirFS) ReadDir(_ context.Context, name string) ([]fs.FileInfo, error) {
	r, err := d.open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	entries, err := fs.ReadDir(r.FS(), rel(name))
	if err != nil {
		return nil, err
	}
	out := make([]fs.FileInfo, 0, len(entries))
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// Stat implements FS.
func (d DirFS) Stat(_ context.Context, name string) (fs.FileInfo, error) {
	r, err := d.open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Stat(rel(name))
}

// StatAny reports whether any of names exists in root.
func StatAny(ctx context.Context, root FS, names ...string) bool {
	for _, n := range names {
		if _, err := root.Stat(ctx, n); err == nil {
			return true
		}
	}
	return false
}

// ReadFirst returns the first of names that exists in root, and its name.
func ReadFirst(ctx context.Context, root FS, names ...string) ([]byte, string, error) {
	last := fs.ErrNotExist
	for _, n := range names {
		dt, err := root.ReadFile(ctx, n)
		if err == nil {
			return dt, n, nil
		}
		last = err
	}
	return nil, "", last
}
