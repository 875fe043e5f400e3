package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // apk v2 signs SHA-1 digests; the format is what is tested
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// keyBits is abuild-keygen's default key size.
const keyBits = 4096

// signer is the bed's signing key and the name apk knows its public half
// by: the file name below /etc/apk/keys, which every signature segment
// names as .SIGN.RSA.<name>.
type signer struct {
	key  *rsa.PrivateKey
	name string
}

// ensureKey returns the name of the key pair in dir (NAME.rsa beside
// NAME.rsa.pub), creating one first if there is none. Like abuild-keygen,
// the name ends in the creation time as 8 hex digits: darn-test-<8hex>.
func ensureKey(dir string, now time.Time) (string, error) {
	privs, err := filepath.Glob(filepath.Join(dir, "darn-test-*.rsa"))
	if err != nil {
		return "", err
	}
	switch len(privs) {
	case 1:
		name := filepath.Base(privs[0]) + ".pub"
		if _, err := loadPublic(filepath.Join(dir, name)); err != nil {
			return "", fmt.Errorf("the key pair in %s: %w", dir, err)
		}
		return name, nil
	case 0:
	default:
		return "", fmt.Errorf("%d keys in %s; remove all but one", len(privs), dir)
	}
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return "", err
	}
	base := filepath.Join(dir, fmt.Sprintf("darn-test-%08x.rsa", now.Unix()))
	// PKCS#1, which go-apk's and melange's signers read (openssl and
	// abuild read it too).
	priv := x509.MarshalPKCS1PrivateKey(key)
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	// The public half first: a private key alone is never taken for a pair.
	if err := writeAtomic(base+".pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return "", err
	}
	if err := writeAtomic(base, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: priv}), 0o600); err != nil {
		return "", err
	}
	return filepath.Base(base) + ".pub", nil
}

// loadSigner reads a private key written by ensureKey (PKCS#1) or by
// abuild-keygen on OpenSSL 3 (PKCS#8). Its name is the file's plus .pub.
func loadSigner(file string) (signer, error) {
	blk, err := readPEM(file)
	if err != nil {
		return signer{}, err
	}
	var key any
	switch blk.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	default:
		err = fmt.Errorf("PEM block %q is not a private key", blk.Type)
	}
	if err != nil {
		return signer{}, fmt.Errorf("reading %s: %w", file, err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return signer{}, fmt.Errorf("reading %s: not an RSA key", file)
	}
	return signer{key: rk, name: filepath.Base(file) + ".pub"}, nil
}

// loadPublic reads a public key file as apk does (PKIX PEM).
func loadPublic(file string) (*rsa.PublicKey, error) {
	blk, err := readPEM(file)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	rk, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("reading %s: not an RSA key", file)
	}
	return rk, nil
}

func readPEM(file string) (*pem.Block, error) {
	dt, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(dt)
	if blk == nil {
		return nil, fmt.Errorf("reading %s: no PEM block", file)
	}
	return blk, nil
}

// sha1Sum is the digest apk v2 signs and identifies packages by.
func sha1Sum(b []byte) []byte {
	s := sha1.Sum(b) //nolint:gosec // apk v2's digest
	return s[:]
}

// signatureSegment is the gzip member abuild-sign puts before what it
// signs: a cut tar holding .SIGN.RSA.<key name>, an RSA PKCS#1 v1.5
// signature over the SHA-1 of signed (the control segment's, or the
// index's, gzip bytes).
func (s signer) signatureSegment(signed []byte, mtime time.Time) ([]byte, error) {
	sig, err := rsa.SignPKCS1v15(nil, s.key, crypto.SHA1, sha1Sum(signed))
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	raw, err := tarBytes([]tarFile{regular(".SIGN.RSA."+s.name, 0o644, sig, mtime)}, true)
	if err != nil {
		return nil, err
	}
	return gzipBytes(raw)
}

// verifySignature checks a signature segment over signed against pub,
// and that it names the key keyName, as apk matches it in /etc/apk/keys.
func verifySignature(segment, signed []byte, pub *rsa.PublicKey, keyName string) error {
	raw, err := gunzip(segment)
	if err != nil {
		return fmt.Errorf("reading the signature segment: %w", err)
	}
	files, err := readTar(raw)
	if err != nil || len(files) != 1 {
		return errors.Join(errors.New("the signature segment is not one file"), err)
	}
	name, ok := strings.CutPrefix(files[0].Hdr.Name, ".SIGN.RSA.")
	if !ok || name != keyName {
		return fmt.Errorf("signed as %q, not by %s", files[0].Hdr.Name, keyName)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA1, sha1Sum(signed), files[0].Data); err != nil {
		return fmt.Errorf("bad signature by %s: %w", keyName, err)
	}
	return nil
}

// writeAtomic writes a file through a temporary name in its directory.
func writeAtomic(file string, data []byte, mode os.FileMode) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
