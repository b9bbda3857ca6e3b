package crypto

import (
	"bytes"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tjfoc/gmsm/sm2"
)

// standardPublicKey returns the public key of the GB/T 32918.5 signature
// example on the recommended curve (the constants of TestSM2VerifiesStandardSignature).
func standardPublicKey(t *testing.T) *sm2.PublicKey {
	t.Helper()
	return &sm2.PublicKey{
		Curve: sm2.P256Sm2(),
		X:     mustBig(t, "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"),
		Y:     mustBig(t, "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"),
	}
}

// standardSignatureDER returns the example's r and s as a DER signature.
func standardSignatureDER(t *testing.T) []byte {
	t.Helper()
	der, err := asn1.Marshal(derSignature{
		R: mustBig(t, "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"),
		S: mustBig(t, "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustVerifier(t *testing.T, keys map[string]*sm2.PublicKey) *Verifier {
	t.Helper()
	verifier, err := NewVerifier(keys)
	if err != nil {
		t.Fatal(err)
	}
	return verifier
}

func mustSigner(t *testing.T, keyID string) *Signer {
	t.Helper()
	signer, err := GenerateSigner(keyID)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

func TestVerifierAcceptsStandardVector(t *testing.T) {
	verifier := mustVerifier(t, map[string]*sm2.PublicKey{"gbt32918": standardPublicKey(t)})
	signature := standardSignatureDER(t)

	if err := verifier.Verify("gbt32918", []byte("message digest"), signature, DefaultUserID); err != nil {
		t.Fatalf("the standard's signature does not verify: %v", err)
	}
	err := verifier.Verify("gbt32918", []byte("message digesT"), signature, DefaultUserID)
	if !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("Verify of another message = %v, want ErrInvalidSignature", err)
	}
}

func TestVerifierHasOnlyItsKeys(t *testing.T) {
	verifier := mustVerifier(t, map[string]*sm2.PublicKey{"gbt32918": standardPublicKey(t)})
	if !verifier.Has("gbt32918") {
		t.Error(`Has("gbt32918") = false, want true`)
	}
	if verifier.Has("other") {
		t.Error(`Has("other") = true, want false`)
	}
	if verifier.Has("") {
		t.Error(`Has("") = true, want false`)
	}
}

func TestSignerFromStandardKeySignsVerifiably(t *testing.T) {
	private := &sm2.PrivateKey{PublicKey: *standardPublicKey(t), D: mustBig(t, "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")}
	signer, err := NewSigner("gbt32918", private)
	if err != nil {
		t.Fatal(err)
	}
	signature, err := signer.Sign([]byte("message digest"), DefaultUserID)
	if err != nil {
		t.Fatal(err)
	}
	// SM2 signatures are randomised, so check by verifying, not by bytes.
	if err := VerifyWithKey(standardPublicKey(t), []byte("message digest"), signature, DefaultUserID); err != nil {
		t.Fatal(err)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	signer := mustSigner(t, "k-2026.1")
	verifier := mustVerifier(t, map[string]*sm2.PublicKey{signer.KeyID(): signer.PublicKey()})
	message := []byte("登记 2026 年度")

	signature, err := signer.Sign(message, DefaultUserID)
	if err != nil {
		t.Fatal(err)
	}
	var parsed derSignature
	if _, err := asn1.Unmarshal(signature, &parsed); err != nil {
		t.Fatalf("Sign did not return DER: %v", err)
	}
	if err := verifier.Verify("k-2026.1", message, signature, DefaultUserID); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyChangedByteFails(t *testing.T) {
	signer := mustSigner(t, "k1")
	message := []byte("audit checkpoint 42")
	signature, err := signer.Sign(message, DefaultUserID)
	if err != nil {
		t.Fatal(err)
	}

	changedMessage := bytes.Clone(message)
	changedMessage[0] ^= 1
	if err := VerifyWithKey(signer.PublicKey(), changedMessage, signature, DefaultUserID); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("Verify of a changed message = %v, want ErrInvalidSignature", err)
	}

	changedSignature := bytes.Clone(signature)
	changedSignature[len(changedSignature)-1] ^= 1
	if err := VerifyWithKey(signer.PublicKey(), message, changedSignature, DefaultUserID); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("Verify of a changed signature = %v, want ErrInvalidSignature", err)
	}

	trailing := append(bytes.Clone(signature), 0)
	if err := VerifyWithKey(signer.PublicKey(), message, trailing, DefaultUserID); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("Verify of a signature with a trailing byte = %v, want ErrInvalidSignature", err)
	}
}

func TestVerifyWrongUserIDFails(t *testing.T) {
	signer := mustSigner(t, "k1")
	signature, err := signer.Sign([]byte("m"), "ALICE123@YAHOO.COM")
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyWithKey(signer.PublicKey(), []byte("m"), signature, "ALICE123@YAHOO.COM"); err != nil {
		t.Fatalf("Verify with the signing user ID: %v", err)
	}
	if err := VerifyWithKey(signer.PublicKey(), []byte("m"), signature, DefaultUserID); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("Verify with another user ID = %v, want ErrInvalidSignature", err)
	}
}

func TestVerifyUnknownKeyIDReported(t *testing.T) {
	signer := mustSigner(t, "k2")
	verifier := mustVerifier(t, map[string]*sm2.PublicKey{"k1": mustSigner(t, "k1").PublicKey()})
	signature, err := signer.Sign([]byte("m"), DefaultUserID)
	if err != nil {
		t.Fatal(err)
	}
	err = verifier.Verify("k2", []byte("m"), signature, DefaultUserID)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Verify under an unknown key ID = %v, want ErrUnknownKey", err)
	}
	if !strings.Contains(err.Error(), `"k2"`) {
		t.Errorf("error %q does not name the key ID", err)
	}
}

func TestVerifyUnderOtherKeyFails(t *testing.T) {
	signer := mustSigner(t, "k1")
	other := mustSigner(t, "k1")
	signature, err := signer.Sign([]byte("m"), DefaultUserID)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyWithKey(other.PublicKey(), []byte("m"), signature, DefaultUserID); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("Verify under another key = %v, want ErrInvalidSignature", err)
	}
}

func TestSignRejectsInvalidUserID(t *testing.T) {
	signer := mustSigner(t, "k1")
	for name, userID := range map[string]string{
		"empty":    "",
		"newline":  "a\nb",
		"too long": strings.Repeat("x", 8192),
	} {
		if _, err := signer.Sign([]byte("m"), userID); err == nil {
			t.Errorf("Sign with a user ID that is %s succeeded", name)
		}
	}
}

func TestSignerRejectsInvalidKeyID(t *testing.T) {
	key, err := GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	for _, keyID := range []string{"", "has space", "line\nbreak", "colon:", strings.Repeat("k", 65)} {
		if _, err := NewSigner(keyID, key); err == nil {
			t.Errorf("NewSigner(%q) succeeded", keyID)
		}
	}
}

func TestSignerRejectsMismatchedKeyPair(t *testing.T) {
	key, err := GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	key.PublicKey = other.PublicKey
	if _, err := NewSigner("k1", key); err == nil {
		t.Fatal("NewSigner accepted a public key of another private key")
	}
}

func TestSignConcurrently(t *testing.T) {
	signer := mustSigner(t, "k1")
	var wait sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wait.Go(func() {
			message := []byte{byte(i)}
			signature, err := signer.Sign(message, DefaultUserID)
			if err == nil {
				err = VerifyWithKey(signer.PublicKey(), message, signature, DefaultUserID)
			}
			errs <- err
		})
	}
	wait.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// An SM2 key pair and a signature of "message digest" for DefaultUserID,
// made with OpenSSL 3.0.19:
//
//	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out key.pem
//	openssl ec -in key.pem                      # the SM2 PRIVATE KEY form
//	openssl pkey -in key.pem -pubout
//	openssl dgst -sm3 -sign key.pem -sigopt distid:1234567812345678 msg.txt
const (
	opensslPKCS8 = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQgzSBTxbWGw/7p6MV4
1eVyLa1bvIEtzabQF5oQW3NZREuhRANCAAR6IjGN9/we9m+FQWhlD5h1RzNVfxnE
yUBE2fjYXfpXAla1PPZLdDdKd77O1eL7vkR79Lg9yXwlUYa5RV9+L09w
-----END PRIVATE KEY-----
`
	opensslSEC1 = `-----BEGIN SM2 PARAMETERS-----
BggqgRzPVQGCLQ==
-----END SM2 PARAMETERS-----
-----BEGIN SM2 PRIVATE KEY-----
MHcCAQEEIM0gU8W1hsP+6ejFeNXlci2tW7yBLc2m0BeaEFtzWURLoAoGCCqBHM9V
AYItoUQDQgAEeiIxjff8HvZvhUFoZQ+YdUczVX8ZxMlARNn42F36VwJWtTz2S3Q3
Sne+ztXi+75Ee/S4Pcl8JVGGuUVffi9PcA==
-----END SM2 PRIVATE KEY-----
`
	opensslPublic = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEeiIxjff8HvZvhUFoZQ+YdUczVX8Z
xMlARNn42F36VwJWtTz2S3Q3Sne+ztXi+75Ee/S4Pcl8JVGGuUVffi9PcA==
-----END PUBLIC KEY-----
`
	opensslSignature = "MEYCIQD6EJA2FPVNcDVxOWXesEAl2EMX+YnIXzuM1TYSbPI3iwIhAP8MI4iNuVSb/pM1Qz3QGHuVLUY57f5cs9TMgSmu2h+y"
	// A NIST P-256 key, which must be rejected.
	opensslP256 = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQcUAOEe2Xybh1BiX
zQ70wxHFnRtSA3Fm9OOEJQeDDCWhRANCAATx8dTqAdwkipH9LuLWT98YjSd6u5Y+
Kz4vNkSA89E6uNsHCWPNu3DfGa+oTbn2IGFQ8doclMwjLwax4SnWK8Qf
-----END PRIVATE KEY-----
`
)

func TestParseOpenSSLKeys(t *testing.T) {
	fromPKCS8, err := ParseSM2PrivateKeyPEM([]byte(opensslPKCS8))
	if err != nil {
		t.Fatalf("PKCS#8 key: %v", err)
	}
	fromSEC1, err := ParseSM2PrivateKeyPEM([]byte(opensslSEC1))
	if err != nil {
		t.Fatalf("SM2 PRIVATE KEY: %v", err)
	}
	if fromPKCS8.D.Cmp(fromSEC1.D) != 0 {
		t.Error("the PKCS#8 and RFC 5915 forms of one key parse to different keys")
	}
	public, err := ParseSM2PublicKeyPEM([]byte(opensslPublic))
	if err != nil {
		t.Fatalf("public key: %v", err)
	}
	if public.X.Cmp(fromPKCS8.X) != 0 || public.Y.Cmp(fromPKCS8.Y) != 0 {
		t.Error("the public key file does not match the private key")
	}
}

func TestVerifyOpenSSLSignature(t *testing.T) {
	public, err := ParseSM2PublicKeyPEM([]byte(opensslPublic))
	if err != nil {
		t.Fatal(err)
	}
	signature, err := base64.StdEncoding.DecodeString(opensslSignature)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyWithKey(public, []byte("message digest"), signature, DefaultUserID); err != nil {
		t.Fatalf("OpenSSL's signature does not verify: %v", err)
	}
}

func TestParseRejectsOtherKeys(t *testing.T) {
	cases := map[string]string{
		"NIST P-256 key": opensslP256,
		"encrypted key":  "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n",
		"public key":     opensslPublic,
		"not PEM":        "hello",
	}
	for name, data := range cases {
		if _, err := ParseSM2PrivateKeyPEM([]byte(data)); err == nil {
			t.Errorf("ParseSM2PrivateKeyPEM accepted a %s", name)
		}
	}
	if _, err := ParseSM2PublicKeyPEM([]byte(opensslP256)); err == nil {
		t.Error("ParseSM2PublicKeyPEM accepted a private key")
	}
}

func TestKeyPEMRoundTrip(t *testing.T) {
	key, err := GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	privatePEM, err := MarshalSM2PrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseSM2PrivateKeyPEM(privatePEM)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.D.Cmp(key.D) != 0 || parsed.X.Cmp(key.X) != 0 {
		t.Fatal("the private key changed in a PEM round trip")
	}

	publicPEM, err := MarshalSM2PublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	public, err := ParseSM2PublicKeyPEM(publicPEM)
	if err != nil {
		t.Fatal(err)
	}
	if public.X.Cmp(key.X) != 0 || public.Y.Cmp(key.Y) != 0 {
		t.Fatal("the public key changed in a PEM round trip")
	}
}

func TestKeyFilesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	key, err := GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	privatePath := filepath.Join(dir, "signing.pem")
	publicPath := filepath.Join(dir, "signing.pub.pem")
	if err := WriteSM2PrivateKeyFile(privatePath, key); err != nil {
		t.Fatal(err)
	}
	if err := WriteSM2PublicKeyFile(publicPath, &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	if err := WriteSM2PrivateKeyFile(privatePath, key); err == nil {
		t.Error("WriteSM2PrivateKeyFile overwrote an existing file")
	}

	info, err := os.Stat(privatePath)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("private key file mode = %04o, want 0600", info.Mode().Perm())
	}
	signer, err := LoadSigner("k1", privatePath)
	if err != nil {
		t.Fatal(err)
	}
	public, err := LoadSM2PublicKeyFile(publicPath)
	if err != nil {
		t.Fatal(err)
	}
	signature, err := signer.Sign([]byte("m"), DefaultUserID)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyWithKey(public, []byte("m"), signature, DefaultUserID); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRejectsWorldReadableKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signing.pem")
	if err := os.WriteFile(path, []byte(opensslPKCS8), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSM2PrivateKeyFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("LoadSM2PrivateKeyFile of a mode 0644 key = %v, want an error naming chmod 600", err)
	}
}

// TestOpenSSLVerifiesOurSignature checks interoperability the other way:
// OpenSSL reads our key files and verifies our signature. It needs OpenSSL
// 3 on PATH and is skipped without it.
func TestOpenSSLVerifiesOurSignature(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	dir := t.TempDir()
	key, err := GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{"key": filepath.Join(dir, "key.pem"), "public": filepath.Join(dir, "public.pem"),
		"message": filepath.Join(dir, "message.txt"), "signature": filepath.Join(dir, "message.sig")}
	if err := WriteSM2PrivateKeyFile(paths["key"], key); err != nil {
		t.Fatal(err)
	}
	if err := WriteSM2PublicKeyFile(paths["public"], &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	signer, err := NewSigner("k1", key)
	if err != nil {
		t.Fatal(err)
	}
	signature, err := signer.Sign([]byte("message digest"), DefaultUserID)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(paths["message"], []byte("message digest"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(paths["signature"], signature, 0o600); err != nil {
		t.Fatal(err)
	}

	if output, err := exec.Command(openssl, "pkey", "-in", paths["key"], "-noout").CombinedOutput(); err != nil {
		t.Fatalf("openssl cannot read our private key: %v\n%s", err, output)
	}
	output, err := exec.Command(openssl, "dgst", "-sm3", "-verify", paths["public"], "-sigopt", "distid:"+DefaultUserID,
		"-signature", paths["signature"], paths["message"]).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl does not verify our signature: %v\n%s", err, output)
	}
}
