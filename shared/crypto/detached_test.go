package crypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/tjfoc/gmsm/sm2"
)

func signDetached(t *testing.T, signer *Signer, content string) *DetachedSignature {
	t.Helper()
	detached, err := signer.SignDetached(strings.NewReader(content), DefaultUserID)
	if err != nil {
		t.Fatal(err)
	}
	return detached
}

func TestDetachedRoundTrip(t *testing.T) {
	signer := mustSigner(t, "release-2026")
	verifier := mustVerifier(t, map[string]*sm2.PublicKey{"release-2026": signer.PublicKey()})

	text, err := signDetached(t, signer, "abc").MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	wantPrefix := "sm2-signature v1\nkey-id: release-2026\nuser-id: 1234567812345678\n" +
		"digest: sm3:66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0\nsignature: "
	if !strings.HasPrefix(string(text), wantPrefix) {
		t.Fatalf("signature file =\n%s\nwant it to start with\n%s", text, wantPrefix)
	}

	parsed, err := ParseDetachedSignature(text)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifier.VerifyDetached(strings.NewReader("abc"), parsed); err != nil {
		t.Fatal(err)
	}
}

func TestDetachedChangedContentFails(t *testing.T) {
	signer := mustSigner(t, "k1")
	detached := signDetached(t, signer, "log line 1\nlog line 2\n")
	err := VerifyDetachedWithKey(signer.PublicKey(), strings.NewReader("log line 1\nlog line X\n"), detached)
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("VerifyDetached of changed content = %v, want ErrDigestMismatch", err)
	}
}

func TestDetachedSignatureOfOtherFileFails(t *testing.T) {
	signer := mustSigner(t, "k1")
	detached := signDetached(t, signer, "file A")
	err := VerifyDetachedWithKey(signer.PublicKey(), strings.NewReader("file B"), detached)
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("VerifyDetached of another file = %v, want ErrDigestMismatch", err)
	}
}

func TestDetachedEditedLinesFail(t *testing.T) {
	signer := mustSigner(t, "k1")
	other := mustSigner(t, "k2")
	verifier := mustVerifier(t, map[string]*sm2.PublicKey{"k1": signer.PublicKey(), "k2": other.PublicKey()})
	text, err := signDetached(t, signer, "abc").MarshalText()
	if err != nil {
		t.Fatal(err)
	}

	otherDigest := hex.EncodeToString(bytes.Repeat([]byte{7}, 32))
	edits := map[string]string{
		"key ID":  strings.Replace(string(text), "key-id: k1", "key-id: k2", 1),
		"user ID": strings.Replace(string(text), "user-id: 1234567812345678", "user-id: 1234567812345679", 1),
		"digest":  strings.Replace(string(text), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0", otherDigest, 1),
	}
	for name, edited := range edits {
		parsed, err := ParseDetachedSignature([]byte(edited))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := verifier.VerifyDetached(strings.NewReader("abc"), parsed); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("signature with an edited %s: Verify = %v, want ErrInvalidSignature", name, err)
		}
	}
}

func TestDetachedUnknownKeyReported(t *testing.T) {
	signer := mustSigner(t, "k-new")
	verifier := mustVerifier(t, map[string]*sm2.PublicKey{"k-old": mustSigner(t, "k-old").PublicKey()})
	err := verifier.VerifyDetached(strings.NewReader("abc"), signDetached(t, signer, "abc"))
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("VerifyDetached with an unknown key ID = %v, want ErrUnknownKey", err)
	}
}

func TestParseDetachedRejectsMalformed(t *testing.T) {
	signer := mustSigner(t, "k1")
	text, err := signDetached(t, signer, "abc").MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	valid := string(text)
	cases := map[string]string{
		"empty":               "",
		"other version":       strings.Replace(valid, "v1", "v2", 1),
		"missing line":        strings.Replace(valid, "user-id: 1234567812345678\n", "", 1),
		"extra line":          valid + "comment: x\n",
		"reordered lines":     strings.Replace(strings.Replace(valid, "key-id", "KEY", 1), "user-id", "key-id", 1),
		"other digest":        strings.Replace(valid, "sm3:", "sha256:", 1),
		"short digest":        strings.Replace(valid, "8f4ba8e0\n", "8f4ba8\n", 1),
		"upper-case digest":   strings.Replace(valid, "66c7f0f4", "66C7F0F4", 1),
		"signature not b64":   strings.Replace(valid, "signature: ", "signature: *", 1),
		"CRLF line endings":   strings.ReplaceAll(valid, "\n", "\r\n"),
		"key ID with a space": strings.Replace(valid, "key-id: k1", "key-id: k 1", 1),
	}
	for name, data := range cases {
		if _, err := ParseDetachedSignature([]byte(data)); err == nil {
			t.Errorf("ParseDetachedSignature accepted a signature file with %s", name)
		}
	}
	if _, err := ParseDetachedSignature([]byte(strings.TrimSuffix(valid, "\n"))); err != nil {
		t.Errorf("ParseDetachedSignature rejected a file without its final newline: %v", err)
	}
}
