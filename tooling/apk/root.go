package apkinstall

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxLinks bounds the links followed resolving one path, as the kernel's
// ELOOP limit does.
const maxLinks = 40

// Root is an image's root directory, whose links are resolved as the
// image sees them: an absolute link target starts at the root, and ".."
// never climbs above it.
type Root struct{ Dir string }

// Resolve returns the host path of name (a path inside the image), every
// link on the way followed inside the root.
func (r Root) Resolve(name string) (string, error) {
	rel, err := r.resolve(name, true)
	if err != nil {
		return "", err
	}
	return filepath.Join(r.Dir, rel), nil
}

// ResolveParent returns the host path of name with its directory resolved
// and its last element kept as it is: the path to create, replace or
// remove without following a link there.
func (r Root) ResolveParent(name string) (string, error) {
	clean := path.Clean("/" + name)
	if clean == "/" {
		return "", fmt.Errorf("%s: the root itself", name)
	}
	dir, err := r.resolve(path.Dir(clean), true)
	if err != nil {
		return "", err
	}
	return filepath.Join(r.Dir, dir, path.Base(clean)), nil
}

// resolve walks name element by element from the root, following links
// (the last one too when last is set), and returns the path inside the
// root. A missing element ends the walk: the rest is kept as it is.
func (r Root) resolve(name string, last bool) (string, error) {
	todo := strings.Split(strings.Trim(path.Clean("/"+name), "/"), "/")
	done, links := "/", 0
	for len(todo) > 0 {
		elem := todo[0]
		todo = todo[1:]
		switch elem {
		case "", ".":
			continue
		case "..":
			done = path.Dir(done)
			continue
		}
		next := path.Join(done, elem)
		fi, err := os.Lstat(filepath.Join(r.Dir, next))
		if errors.Is(err, fs.ErrNotExist) {
			return path.Join(append([]string{next}, todo...)...), nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 || (len(todo) == 0 && !last) {
			done = next
			continue
		}
		if links++; links > maxLinks {
			return "", fmt.Errorf("%s: too many levels of links in the image", name)
		}
		target, err := os.Readlink(filepath.Join(r.Dir, next))
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			done = "/"
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return done, nil
}

// ReadFile reads a file of the image.
func (r Root) ReadFile(name string) ([]byte, error) {
	p, err := r.Resolve(name)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// ReadDir lists a directory of the image.
func (r Root) ReadDir(name string) ([]os.DirEntry, error) {
	p, err := r.Resolve(name)
	if err != nil {
		return nil, err
	}
	return os.ReadDir(p)
}
