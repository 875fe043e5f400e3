package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// layerSize is a patch layer against its floor. The floor is the
// compressed tar of only the entries whose content differs from the
// original image's: regular files with other bytes (or new), symbolic links
// with another target (or new), hard links to such files, and whiteouts of
// files the original has. Directories, and files rewritten with the very
// same bytes, are not in it. It is compressed as BuildKit compresses a
// layer (Go's gzip at its default level), so that the two sizes compare.
type layerSize struct {
	// Bytes is the patch layer as pushed (compressed); Floor the floor.
	Bytes int64 `json:"bytes"`
	Floor int64 `json:"floor"`
	// Entries counts the layer's tar entries; Changed those in the floor;
	// Dirs the directories; Same the files and links whose content equals
	// the original's (SameBytes their uncompressed size).
	Entries   int   `json:"entries"`
	Changed   int   `json:"changed"`
	Dirs      int   `json:"dirs"`
	Same      int   `json:"same"`
	SameBytes int64 `json:"sameBytes"`
	// SameFiles names up to ten of them, for the report.
	SameFiles []string `json:"sameFiles,omitempty"`
}

// fileState is what a path holds at the end of a stack of layers: a
// content digest, "link:TARGET", or "dir".
type fileState string

// measureLayer reads the patched image's last layer and the original's
// layers from the registry and computes the layer's floor.
func measureLayer(ctx context.Context, original, patched, platform string) (layerSize, error) {
	orig, err := fetchImage(ctx, original, platform)
	if err != nil {
		return layerSize{}, err
	}
	img, err := fetchImage(ctx, patched, platform)
	if err != nil {
		return layerSize{}, err
	}
	if len(img.Manifest.Layers) == 0 {
		return layerSize{}, fmt.Errorf("%s has no layer", patched)
	}
	before := map[string]fileState{}
	for _, d := range orig.Manifest.Layers {
		blob, err := orig.blob(ctx, d)
		if err != nil {
			return layerSize{}, err
		}
		if err := applyLayer(before, blob); err != nil {
			return layerSize{}, fmt.Errorf("reading %s: %w", original, err)
		}
	}
	last := img.Manifest.Layers[len(img.Manifest.Layers)-1]
	blob, err := img.blob(ctx, last)
	if err != nil {
		return layerSize{}, err
	}
	ls, err := floorOf(before, blob)
	ls.Bytes = last.Size
	return ls, err
}

// walkLayer calls fn for each entry of a (gzip-compressed or plain) layer.
func walkLayer(blob []byte, fn func(h *tar.Header, r io.Reader) error) error {
	var r io.Reader = bytes.NewReader(blob)
	if len(blob) > 2 && blob[0] == 0x1f && blob[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		r = zr
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(h, tr); err != nil {
			return err
		}
	}
}

// cleanName is a tar entry's path without "./", "/" or a trailing slash.
func cleanName(name string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(name, "./"), "/"), "/")
}

// stateOf reads an entry's content state; files are hashed.
func stateOf(files map[string]fileState, h *tar.Header, r io.Reader) (fileState, error) {
	switch h.Typeflag {
	case tar.TypeDir:
		return "dir", nil
	case tar.TypeSymlink:
		return fileState("link:" + h.Linkname), nil
	case tar.TypeLink:
		return files[cleanName(h.Linkname)], nil
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, r); err != nil {
		return "", err
	}
	return fileState(fmt.Sprintf("%x", sum.Sum(nil))), nil
}

// applyLayer applies one layer to files, whiteouts included.
func applyLayer(files map[string]fileState, blob []byte) error {
	return walkLayer(blob, func(h *tar.Header, r io.Reader) error {
		name := cleanName(h.Name)
		dir, base := path.Split(name)
		if base == ".wh..wh..opq" {
			removeUnder(files, strings.TrimSuffix(dir, "/"), false)
			return nil
		}
		if strings.HasPrefix(base, ".wh.") {
			removeUnder(files, dir+strings.TrimPrefix(base, ".wh."), true)
			return nil
		}
		st, err := stateOf(files, h, r)
		files[name] = st
		return err
	})
}

// removeUnder deletes what a directory holds, and the path itself when
// self is set.
func removeUnder(files map[string]fileState, p string, self bool) {
	if self {
		delete(files, p)
	}
	prefix := p + "/"
	if p == "" {
		prefix = ""
	}
	for k := range files {
		if strings.HasPrefix(k, prefix) && k != p {
			delete(files, k)
		}
	}
}

// floorOf writes the patch layer's changed entries into a gzip-compressed
// tar and counts what the layer holds.
func floorOf(before map[string]fileState, blob []byte) (layerSize, error) {
	var ls layerSize
	var out countingWriter
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	after := map[string]fileState{}
	err := walkLayer(blob, func(h *tar.Header, r io.Reader) error {
		ls.Entries++
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if !ls.inFloor(before, after, h, data) {
			return nil
		}
		ls.Changed++
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err == nil {
		err = errors.Join(tw.Close(), zw.Close())
	}
	ls.Floor = out.n
	return ls, err
}

// inFloor says whether an entry of the patch layer changes content, and
// counts it.
func (ls *layerSize) inFloor(before, after map[string]fileState, h *tar.Header, data []byte) bool {
	name := cleanName(h.Name)
	_, base := path.Split(name)
	if strings.HasPrefix(base, ".wh.") {
		return true
	}
	st, _ := stateOf(after, h, bytes.NewReader(data))
	after[name] = st
	if st == "dir" {
		ls.Dirs++
		return false
	}
	if old, ok := before[name]; ok && old == st {
		ls.Same++
		ls.SameBytes += int64(len(data))
		if len(ls.SameFiles) < 10 {
			ls.SameFiles = append(ls.SameFiles, name)
		}
		return false
	}
	return true
}

// countingWriter counts the bytes written through it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}
