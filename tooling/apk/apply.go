package apkinstall

import (
	"archive/tar"
	"crypto/sha1" //nolint:gosec // apk's file checksums are SHA-1
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// checksumKey is the PAX record in which apk packages carry each file's
// SHA-1.
const checksumKey = "APK-TOOLS.checksum.SHA1"

// File is one path a package installs, as the database records it.
type File struct {
	Name     string // inside the root, no leading slash
	Dir      bool
	UID, GID int
	Mode     int64
	Checksum string // "Q1…" (regular files)
}

// writer writes packages into an image's root.
type writer struct {
	root Root
	// owner maps each installed file to its package, so that a package
	// never silently takes another's file.
	owner map[string]string
	// touched are the host directories whose entries changed, whose times
	// settle to the epoch afterwards.
	touched map[string]bool
	warn    func(string)
}

// protected says whether a file is configuration apk keeps when the user
// changed it: everything below etc/ but apk's own.
func protected(name string) bool {
	return strings.HasPrefix(name, "etc/") && !strings.HasPrefix(name, "etc/apk/")
}

// install writes a package's data into the root and returns its files.
// old holds the checksums of the version it replaces, to tell changed
// configuration files, which keep their content (the new one is written
// beside them as .apk-new, as apk does).
func (w *writer) install(tarFile string, pkg string, replaces []string, old map[string]string) ([]File, error) {
	f, err := os.Open(tarFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var files []File
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s's data: %w", pkg, err)
		}
		name, ok := cleanName(h.Name)
		if !ok {
			continue
		}
		if o := w.owner[name]; h.Typeflag != tar.TypeDir && o != "" && o != pkg && !slices.Contains(replaces, o) {
			return nil, fmt.Errorf("%s would overwrite /%s, which belongs to %s", pkg, name, o)
		}
		file, err := w.entry(h, name, tr, old[name])
		if err != nil {
			return nil, fmt.Errorf("%s: /%s: %w", pkg, name, err)
		}
		files = append(files, file)
	}
}

// cleanName is a data entry's path inside the root; false for the
// package's metadata and for names that would leave the root.
func cleanName(n string) (string, bool) {
	c := path.Clean("/" + n)
	if c == "/" || strings.HasPrefix(path.Base(c), ".SIGN.") || strings.HasPrefix(c, "/.PKGINFO") {
		return "", false
	}
	return strings.TrimPrefix(c, "/"), true
}

// entry writes one tar entry and returns how the database records it.
func (w *writer) entry(h *tar.Header, name string, r io.Reader, oldSum string) (File, error) {
	file := File{Name: name, UID: h.Uid, GID: h.Gid, Mode: h.Mode & 0o7777}
	switch h.Typeflag {
	case tar.TypeDir:
		file.Dir = true
		return file, w.mkdir(name, h)
	case tar.TypeReg:
		file.Checksum = sumFromPAX(h)
		return file, w.regular(name, h, r, oldSum)
	case tar.TypeSymlink:
		if file.Checksum = sumFromPAX(h); file.Checksum == "" {
			file.Checksum = "Q1" + base64.StdEncoding.EncodeToString(sha1Of([]byte(h.Linkname)))
		}
		return file, w.symlink(name, h)
	case tar.TypeLink:
		return file, w.hardlink(name, h)
	}
	return file, fmt.Errorf("entries of type %q are not installed", h.Typeflag)
}

// sumFromPAX reads apk's SHA-1 of a file from its PAX record.
func sumFromPAX(h *tar.Header) string {
	hexsum := h.PAXRecords[checksumKey]
	raw, err := hex.DecodeString(hexsum)
	if err != nil || len(raw) == 0 {
		return ""
	}
	return "Q1" + base64.StdEncoding.EncodeToString(raw)
}

func sha1Of(dt []byte) []byte {
	s := sha1.Sum(dt) //nolint:gosec // apk's checksum
	return s[:]
}

// mkdir creates a directory the package owns unless it is there (a link
// to a directory counts, as merged-/usr images have).
func (w *writer) mkdir(name string, h *tar.Header) error {
	p, err := w.root.Resolve(name)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(p); err == nil {
		if !fi.IsDir() {
			return errors.New("the image has a file where the package has a directory")
		}
		return nil
	}
	if err := os.Mkdir(p, fs.FileMode(h.Mode&0o777)); err != nil {
		return err
	}
	w.touched[filepath.Dir(p)] = true
	return w.own(p, h)
}

// own sets an entry's owner, mode bits and time without following it.
func (w *writer) own(p string, h *tar.Header) error {
	if err := os.Lchown(p, h.Uid, h.Gid); err != nil {
		return err
	}
	if h.Typeflag != tar.TypeSymlink {
		if err := os.Chmod(p, fs.FileMode(h.Mode&0o777)|modeBits(h.Mode)); err != nil {
			return err
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(h.ModTime.UnixNano()), unix.NsecToTimespec(h.ModTime.UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// modeBits are the setuid, setgid and sticky bits of a tar mode.
func modeBits(m int64) fs.FileMode {
	var out fs.FileMode
	if m&0o4000 != 0 {
		out |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		out |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		out |= fs.ModeSticky
	}
	return out
}

// regular writes a file through a temporary file renamed over the old
// one, so that a link at its place is replaced, never followed. A
// protected file the user changed keeps its content; the package's goes
// beside it as NAME.apk-new.
func (w *writer) regular(name string, h *tar.Header, r io.Reader, oldSum string) error {
	dst, err := w.root.ResolveParent(name)
	if err != nil {
		return err
	}
	if protected(name) && changedByUser(dst, oldSum) {
		w.warn(fmt.Sprintf("/%s was changed in the image: kept, the package's version written to /%s.apk-new", name, name))
		dst += ".apk-new"
	}
	tmp := filepath.Join(filepath.Dir(dst), ".darn-apk."+filepath.Base(dst))
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = w.own(tmp, h)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	w.touched[filepath.Dir(dst)] = true
	return nil
}

// changedByUser says whether the file at p exists and differs from what
// the old package installed (oldSum; a file the old version did not have
// counts as the user's).
func changedByUser(p, oldSum string) bool {
	dt, err := os.ReadFile(p)
	if err != nil {
		return false
	}
	return oldSum == "" || "Q1"+base64.StdEncoding.EncodeToString(sha1Of(dt)) != oldSum
}

// symlink replaces whatever is at name with the package's link.
func (w *writer) symlink(name string, h *tar.Header) error {
	dst, err := w.root.ResolveParent(name)
	if err != nil {
		return err
	}
	if err := removeNonDir(dst); err != nil {
		return err
	}
	if err := os.Symlink(h.Linkname, dst); err != nil {
		return err
	}
	w.touched[filepath.Dir(dst)] = true
	return w.own(dst, h)
}

// hardlink links name to another file of the package, inside the root.
func (w *writer) hardlink(name string, h *tar.Header) error {
	dst, err := w.root.ResolveParent(name)
	if err != nil {
		return err
	}
	target, err := w.root.ResolveParent(strings.TrimPrefix(path.Clean("/"+h.Linkname), "/"))
	if err != nil {
		return err
	}
	if err := removeNonDir(dst); err != nil {
		return err
	}
	w.touched[filepath.Dir(dst)] = true
	return os.Link(target, dst)
}

// removeNonDir removes a file or link, refusing a directory.
func removeNonDir(p string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New("the image has a directory where the package has a file")
	}
	return os.Remove(p)
}

// remove deletes a file the old version had and the new one has not,
// unless it is configuration the user changed.
func (w *writer) remove(name, oldSum string) error {
	p, err := w.root.ResolveParent(name)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && fi.IsDir()) {
		return nil
	}
	if err != nil {
		return err
	}
	if protected(name) && fi.Mode().IsRegular() && changedByUser(p, oldSum) {
		w.warn(fmt.Sprintf("/%s was changed in the image: kept, although the new version no longer has it", name))
		return nil
	}
	w.touched[filepath.Dir(p)] = true
	return os.Remove(p)
}

// settle gives the directories whose entries changed the epoch as their
// time, so that the layer does not depend on when the step ran.
func (w *writer) settle(epoch time.Time) error {
	if epoch.IsZero() {
		return nil
	}
	for d := range w.touched {
		if err := os.Chtimes(d, epoch, epoch); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
