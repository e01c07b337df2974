package update

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Key file names written by WriteKeyPair.
const (
	PrivateKeyName = "lsms-update.key"
	PublicKeyName  = "lsms-update.pub"
)

// WriteKeyPair generates an ed25519 key pair from rand and writes
// dir/lsms-update.key (PKCS #8 PEM, mode 0600) and dir/lsms-update.pub
// (PKIX PEM), the formats of `openssl genpkey -algorithm ed25519`. It
// refuses to overwrite either file.
func WriteKeyPair(dir string, rand io.Reader) (privFile, pubFile string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return "", "", err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", "", err
	}
	pp, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	privFile, pubFile = filepath.Join(dir, PrivateKeyName), filepath.Join(dir, PublicKeyName)
	for _, f := range []string{privFile, pubFile} {
		if _, err := os.Lstat(f); err == nil {
			return "", "", fmt.Errorf("%w: %s exists; not overwriting a key", ErrKey, f)
		}
	}
	if err := writeFileAtomic(privFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		return "", "", err
	}
	if err := writeFileAtomic(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pp}), 0o644); err != nil {
		return "", "", err
	}
	return privFile, pubFile, nil
}

// ReadPrivateKey reads a PKCS #8 PEM ed25519 private key.
func ReadPrivateKey(file string) (ed25519.PrivateKey, error) {
	der, err := readPEM(file, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKey, file, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s holds a %T, not an ed25519 key", ErrKey, file, k)
	}
	return priv, nil
}

// ReadPublicKey reads a PKIX PEM ed25519 public key.
func ReadPublicKey(file string) (ed25519.PublicKey, error) {
	der, err := readPEM(file, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKey, file, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s holds a %T, not an ed25519 key", ErrKey, file, k)
	}
	return pub, nil
}

func readPEM(file, typ string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%w: %s is not PEM", ErrKey, file)
	}
	if b.Type != typ {
		return nil, fmt.Errorf("%w: %s holds a PEM %q block, want %q", ErrKey, file, b.Type, typ)
	}
	return b.Bytes, nil
}
