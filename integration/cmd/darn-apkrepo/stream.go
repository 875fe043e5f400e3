package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"time"
)

// tarFile is one member of a tar stream this tool writes.
type tarFile struct {
	Hdr  *tar.Header
	Data []byte
}

// regular is a root-owned regular file of the given content and mode, as
// abuild's fakeroot tar and apk index write them.
func regular(name string, mode int64, data []byte, mtime time.Time) tarFile {
	return tarFile{Hdr: &tar.Header{
		Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)),
		ModTime: mtime, Uname: "root", Gname: "root",
	}, Data: data}
}

// tarBytes writes files as one tar stream. With cut, the stream stops
// before the end-of-archive blocks, as abuild-tar --cut leaves the
// signature and control segments so that they read as one archive with
// the segment after them.
func tarBytes(files []tarFile, cut bool) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if err := tw.WriteHeader(f.Hdr); err != nil {
			return nil, fmt.Errorf("writing tar header %s: %w", f.Hdr.Name, err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, fmt.Errorf("writing %s: %w", f.Hdr.Name, err)
		}
	}
	var err error
	if cut {
		err = tw.Flush() // pads the last member, writes no trailer
	} else {
		err = tw.Close()
	}
	return buf.Bytes(), err
}

// gzipBytes compresses raw as `gzip -n -9` does (abuild, abuild-sign): no
// file name, no time stamp, Unix as the OS, best compression. The same
// input always gives the same bytes, so a rebuild with the same key
// reproduces every package and index.
func gzipBytes(raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	zw.OS = 3 // Unix
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// splitGzip splits concatenated gzip members (an .apk, an APKINDEX.tar.gz)
// into each member's compressed bytes, as apk does to hash and verify
// them one by one. Trailing bytes that are not a gzip member are an error.
func splitGzip(b []byte) ([][]byte, error) {
	r := bytes.NewReader(b)
	var parts [][]byte
	for r.Len() > 0 {
		start := len(b) - r.Len()
		// bytes.Reader is an io.ByteReader: gzip reads no byte past the
		// member's end.
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("reading gzip member %d at byte %d: %w", len(parts), start, err)
		}
		zr.Multistream(false)
		if _, err := readAll(zr); err != nil {
			return nil, fmt.Errorf("reading gzip member %d at byte %d: %w", len(parts), start, err)
		}
		parts = append(parts, b[start:len(b)-r.Len()])
	}
	if len(parts) == 0 {
		return nil, errors.New("no gzip member")
	}
	return parts, nil
}

// gunzip decompresses one gzip member.
func gunzip(member []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(member))
	if err != nil {
		return nil, err
	}
	zr.Multistream(false)
	return readAll(zr)
}

// maxMember bounds what one gzip member may expand to: the test packages
// and indexes hold kilobytes, anything near this is not one of them.
const maxMember = 64 << 20

// readAll reads a decompressing reader to its end, up to maxMember.
func readAll(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxMember+1))
	if err == nil && len(b) > maxMember {
		err = fmt.Errorf("expands beyond %d bytes", maxMember)
	}
	return b, err
}

// readTar reads every member of a tar stream, with or without its
// end-of-archive blocks.
func readTar(raw []byte) ([]tarFile, error) {
	tr := tar.NewReader(bytes.NewReader(raw))
	var files []tarFile
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", hdr.Name, err)
		}
		files = append(files, tarFile{Hdr: hdr, Data: data})
	}
}
