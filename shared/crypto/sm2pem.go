package crypto

import (
	"bytes"
	"crypto/elliptic"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"runtime"

	"github.com/tjfoc/gmsm/sm2"
)

// SM2 keys are stored in the forms OpenSSL 3 and GmSSL use. Private keys are
// PKCS#8 ("PRIVATE KEY") or RFC 5915, which OpenSSL 3 labels "SM2 PRIVATE
// KEY" and GmSSL "EC PRIVATE KEY". Public keys are SubjectPublicKeyInfo
// ("PUBLIC KEY"). Both name the algorithm id-ecPublicKey with the SM2
// curve's OID as its parameter.
//
// This file encodes and checks the ASN.1 itself instead of calling the PEM
// helpers of tjfoc/gmsm v1.4.1's x509 package, because those do not check the
// curve OID, return a public key with nil coordinates for a point that is not
// on the curve, write the private scalar without its leading zero bytes, and
// encrypt private keys with AES-CBC and PBKDF2-SHA1 instead of an SM
// algorithm.

var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidSM2Curve    = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}
)

const (
	pemTypePKCS8         = "PRIVATE KEY"
	pemTypeECPrivateKey  = "EC PRIVATE KEY"
	pemTypeSM2PrivateKey = "SM2 PRIVATE KEY"
	pemTypeEncryptedKey  = "ENCRYPTED PRIVATE KEY"
	pemTypePublicKey     = "PUBLIC KEY"
	sm2ScalarBytes       = 32
	privateKeyFileMode   = 0o600
	publicKeyFileMode    = 0o644
	otherUsersPermission = 0o007
)

// pkcs8PrivateKey is a PKCS#8 PrivateKeyInfo (RFC 5208); encoding/asn1
// ignores its optional attributes.
type pkcs8PrivateKey struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
}

// ecPrivateKey is the ECPrivateKey structure of RFC 5915.
type ecPrivateKey struct {
	Version    int
	PrivateKey []byte
	NamedCurve asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey  asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

type subjectPublicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// MarshalSM2PrivateKeyPEM encodes key as an unencrypted PKCS#8 "PRIVATE KEY"
// PEM block, the form `openssl genpkey -algorithm EC -pkeyopt
// ec_paramgen_curve:SM2` writes.
func MarshalSM2PrivateKeyPEM(key *sm2.PrivateKey) ([]byte, error) {
	if err := checkPrivateKey(key); err != nil {
		return nil, err
	}
	scalar := make([]byte, sm2ScalarBytes)
	key.D.FillBytes(scalar)
	inner, err := asn1.Marshal(ecPrivateKey{
		Version:    1,
		PrivateKey: scalar,
		PublicKey:  asn1.BitString{Bytes: elliptic.Marshal(key.Curve, key.X, key.Y), BitLength: 8 * (1 + 2*sm2ScalarBytes)},
	})
	if err != nil {
		return nil, err
	}
	der, err := asn1.Marshal(pkcs8PrivateKey{Version: 0, Algorithm: sm2Algorithm(), PrivateKey: inner})
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemTypePKCS8, Bytes: der}), nil
}

// ParseSM2PrivateKeyPEM decodes the first "PRIVATE KEY" (PKCS#8), "SM2
// PRIVATE KEY" or "EC PRIVATE KEY" (both RFC 5915) block of data, skipping
// other blocks such as the "SM2 PARAMETERS" that `openssl ecparam -genkey`
// writes first. Encrypted keys are rejected.
func ParseSM2PrivateKeyPEM(data []byte) (*sm2.PrivateKey, error) {
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			return nil, errors.New("crypto: no PRIVATE KEY, SM2 PRIVATE KEY or EC PRIVATE KEY PEM block found")
		}
		switch block.Type {
		case pemTypePKCS8:
			return parsePKCS8PrivateKey(block.Bytes)
		case pemTypeECPrivateKey, pemTypeSM2PrivateKey:
			return parseECPrivateKey(block.Bytes, false)
		case pemTypeEncryptedKey:
			return nil, errors.New("crypto: encrypted private keys are not supported: " +
				"store the key unencrypted in a file only its service user can read (chmod 600)")
		}
		data = rest
	}
}

func parsePKCS8PrivateKey(der []byte) (*sm2.PrivateKey, error) {
	var info pkcs8PrivateKey
	if err := unmarshalDER(der, &info); err != nil {
		return nil, fmt.Errorf("crypto: parse PKCS#8 private key: %w", err)
	}
	if err := checkSM2Algorithm(info.Algorithm); err != nil {
		return nil, err
	}
	return parseECPrivateKey(info.PrivateKey, true)
}

// parseECPrivateKey decodes an RFC 5915 key. curveKnown is true when the
// enclosing PKCS#8 structure has already named the SM2 curve.
func parseECPrivateKey(der []byte, curveKnown bool) (*sm2.PrivateKey, error) {
	var info ecPrivateKey
	if err := unmarshalDER(der, &info); err != nil {
		return nil, fmt.Errorf("crypto: parse EC private key: %w", err)
	}
	if info.Version != 1 {
		return nil, fmt.Errorf("crypto: EC private key version %d, want 1", info.Version)
	}
	switch {
	case len(info.NamedCurve) > 0 && !info.NamedCurve.Equal(oidSM2Curve):
		return nil, fmt.Errorf("crypto: the private key is on curve %s, not SM2 (%s)", info.NamedCurve, oidSM2Curve)
	case len(info.NamedCurve) == 0 && !curveKnown:
		return nil, errors.New("crypto: the EC private key names no curve")
	}
	scalar := bytes.TrimLeft(info.PrivateKey, "\x00")
	if len(scalar) > sm2ScalarBytes {
		return nil, fmt.Errorf("crypto: the private key is %d bytes, more than %d", len(scalar), sm2ScalarBytes)
	}

	curve := sm2.P256Sm2()
	key := &sm2.PrivateKey{D: new(big.Int).SetBytes(scalar)}
	key.Curve = curve
	key.X, key.Y = curve.ScalarBaseMult(scalar)
	if err := checkPrivateKey(key); err != nil {
		return nil, err
	}
	if len(info.PublicKey.Bytes) > 0 && !bytes.Equal(info.PublicKey.Bytes, elliptic.Marshal(curve, key.X, key.Y)) {
		return nil, errors.New("crypto: the public key stored with the private key does not belong to it")
	}
	return key, nil
}

// MarshalSM2PublicKeyPEM encodes key as a SubjectPublicKeyInfo "PUBLIC KEY"
// PEM block.
func MarshalSM2PublicKeyPEM(key *sm2.PublicKey) ([]byte, error) {
	if err := checkPublicKey(key); err != nil {
		return nil, err
	}
	der, err := asn1.Marshal(subjectPublicKeyInfo{
		Algorithm: sm2Algorithm(),
		PublicKey: asn1.BitString{Bytes: elliptic.Marshal(key.Curve, key.X, key.Y), BitLength: 8 * (1 + 2*sm2ScalarBytes)},
	})
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemTypePublicKey, Bytes: der}), nil
}

// ParseSM2PublicKeyPEM decodes the first "PUBLIC KEY" block of data.
func ParseSM2PublicKeyPEM(data []byte) (*sm2.PublicKey, error) {
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			return nil, errors.New("crypto: no PUBLIC KEY PEM block found")
		}
		if block.Type == pemTypePublicKey {
			return parseSubjectPublicKeyInfo(block.Bytes)
		}
		data = rest
	}
}

func parseSubjectPublicKeyInfo(der []byte) (*sm2.PublicKey, error) {
	var info subjectPublicKeyInfo
	if err := unmarshalDER(der, &info); err != nil {
		return nil, fmt.Errorf("crypto: parse public key: %w", err)
	}
	if err := checkSM2Algorithm(info.Algorithm); err != nil {
		return nil, err
	}
	curve := sm2.P256Sm2()
	// elliptic.Unmarshal accepts only the uncompressed form of a point on
	// the curve and returns nil coordinates otherwise.
	x, y := elliptic.Unmarshal(curve, info.PublicKey.Bytes)
	if x == nil {
		return nil, errors.New("crypto: the public key is not an uncompressed point on the SM2 curve")
	}
	return &sm2.PublicKey{Curve: curve, X: x, Y: y}, nil
}

func sm2Algorithm() pkix.AlgorithmIdentifier {
	curve, _ := asn1.Marshal(oidSM2Curve) // an OID always marshals
	return pkix.AlgorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: curve}}
}

func checkSM2Algorithm(algorithm pkix.AlgorithmIdentifier) error {
	if !algorithm.Algorithm.Equal(oidECPublicKey) {
		return fmt.Errorf("crypto: key algorithm %s is not an elliptic-curve key (%s)", algorithm.Algorithm, oidECPublicKey)
	}
	var curve asn1.ObjectIdentifier
	if err := unmarshalDER(algorithm.Parameters.FullBytes, &curve); err != nil {
		return fmt.Errorf("crypto: the key names no curve: %w", err)
	}
	if !curve.Equal(oidSM2Curve) {
		return fmt.Errorf("crypto: the key is on curve %s, not SM2 (%s)", curve, oidSM2Curve)
	}
	return nil
}

func unmarshalDER(der []byte, value any) error {
	rest, err := asn1.Unmarshal(der, value)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%d bytes after the DER value", len(rest))
	}
	return nil
}

// LoadSM2PrivateKeyFile reads a private key PEM file. It rejects a file that
// users other than its owner and group may access, as OpenSSH does for its
// keys, except on Windows, where permission bits do not show that.
func LoadSM2PrivateKeyFile(path string) (*sm2.PrivateKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("crypto: read SM2 private key: %w", err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&otherUsersPermission != 0 {
		return nil, fmt.Errorf("crypto: SM2 private key %s is accessible to other users (mode %04o): run chmod 600 on it",
			path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("crypto: read SM2 private key: %w", err)
	}
	key, err := ParseSM2PrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// LoadSM2PublicKeyFile reads a public key PEM file.
func LoadSM2PublicKeyFile(path string) (*sm2.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("crypto: read SM2 public key: %w", err)
	}
	key, err := ParseSM2PublicKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// WriteSM2PrivateKeyFile writes key to a new file readable only by its
// owner. It fails when the file exists, so that a key is never overwritten.
func WriteSM2PrivateKeyFile(path string, key *sm2.PrivateKey) error {
	data, err := MarshalSM2PrivateKeyPEM(key)
	if err != nil {
		return err
	}
	return writeNewFile(path, data, privateKeyFileMode)
}

// WriteSM2PublicKeyFile writes key to a new file. It fails when the file
// exists.
func WriteSM2PublicKeyFile(path string, key *sm2.PublicKey) error {
	data, err := MarshalSM2PublicKeyPEM(key)
	if err != nil {
		return err
	}
	return writeNewFile(path, data, publicKeyFileMode)
}

func writeNewFile(path string, data []byte, mode os.FileMode) error {
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("crypto: create key file: %w", err)
	}
	if _, err := file.Write(data); err != nil {
		file.Close()
		os.Remove(path)
		return fmt.Errorf("crypto: write %s: %w", path, err)
	}
	if err := file.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("crypto: write %s: %w", path, err)
	}
	return nil
}
