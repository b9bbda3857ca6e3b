package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func mustKeyring(t testing.TB, file KeyringFile) *Keyring {
	t.Helper()
	keyring, err := NewKeyring(file)
	if err != nil {
		t.Fatal(err)
	}
	return keyring
}

func TestSealOpenRoundTrip(t *testing.T) {
	keyring := mustKeyring(t, GenerateKeyring("k1"))
	sealed := keyring.Seal([]byte("张三𠀀"), "registration.child_name")
	if bytes.Contains(sealed, []byte("张三")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	opened, err := keyring.Open(sealed, "registration.child_name")
	if err != nil {
		t.Fatal(err)
	}
	if string(opened) != "张三𠀀" {
		t.Fatalf("Open = %q, want 张三𠀀", opened)
	}
}

func TestOpenWrongContextFails(t *testing.T) {
	keyring := mustKeyring(t, GenerateKeyring("k1"))
	sealed := keyring.Seal([]byte("13900000000"), "guardian.phone")
	if _, err := keyring.Open(sealed, "registration.child_name"); err == nil {
		t.Fatal("Open with another context succeeded")
	}
}

func TestOpenAfterRotation(t *testing.T) {
	old := GenerateKeyring("k1")
	oldKeyring := mustKeyring(t, old)
	sealed := oldKeyring.Seal([]byte("old"), "c")

	rotated := GenerateKeyring("k2")
	rotated.SealingKeys["k1"] = old.SealingKeys["k1"]
	rotated.IndexKey = old.IndexKey
	newKeyring := mustKeyring(t, rotated)

	opened, err := newKeyring.Open(sealed, "c")
	if err != nil || string(opened) != "old" {
		t.Fatalf("Open of a k1 ciphertext = %q, %v", opened, err)
	}
	if got := newKeyring.Seal([]byte("new"), "c"); string(got[2:4]) != "k2" {
		t.Fatalf("new ciphertext names key %q, want k2", got[2:4])
	}
	if !bytes.Equal(oldKeyring.Index("d", []byte("v")), newKeyring.Index("d", []byte("v"))) {
		t.Fatal("blind index changed with the sealing key")
	}
}

func TestOpenUnknownKey(t *testing.T) {
	sealed := mustKeyring(t, GenerateKeyring("k1")).Seal([]byte("x"), "c")
	_, err := mustKeyring(t, GenerateKeyring("k9")).Open(sealed, "c")
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
}

func TestOpenMalformed(t *testing.T) {
	keyring := mustKeyring(t, GenerateKeyring("k1"))
	for _, sealed := range [][]byte{nil, {1}, {2, 0}, {1, 5, 'a'}} {
		if _, err := keyring.Open(sealed, "c"); !errors.Is(err, ErrMalformed) {
			t.Errorf("Open(%v) err = %v, want ErrMalformed", sealed, err)
		}
	}
}

func TestIndexDomainsDiffer(t *testing.T) {
	keyring := mustKeyring(t, GenerateKeyring("k1"))
	a := keyring.Index("child_document", []byte("310104202301010011"))
	b := keyring.Index("guardian_document", []byte("310104202301010011"))
	if bytes.Equal(a, b) || len(a) != 32 {
		t.Fatalf("indexes: %x %x", a, b)
	}
}

func TestNewKeyringRejectsBadKeys(t *testing.T) {
	good := GenerateKeyring("k1")
	cases := map[string]func(*KeyringFile){
		"active key missing": func(f *KeyringFile) { f.ActiveKeyID = "nope" },
		"short sealing key":  func(f *KeyringFile) { f.SealingKeys["k1"] = "00ff" },
		"short index key":    func(f *KeyringFile) { f.IndexKey = "00" },
		"bad index hex":      func(f *KeyringFile) { f.IndexKey = "zz" },
	}
	for name, mutate := range cases {
		file := good
		file.SealingKeys = map[string]string{"k1": good.SealingKeys["k1"]}
		mutate(&file)
		if _, err := NewKeyring(file); err == nil {
			t.Errorf("%s: NewKeyring succeeded", name)
		}
	}
}

// TestSealConcurrently fails under -race, or with a wrong plaintext, if one
// SM4 block is shared between goroutines.
func TestSealConcurrently(t *testing.T) {
	keyring := mustKeyring(t, GenerateKeyring("k1"))
	var wait sync.WaitGroup
	for worker := range 8 {
		wait.Add(1)
		go func() {
			defer wait.Done()
			for i := range 500 {
				plaintext := fmt.Sprintf("worker %d message %d", worker, i)
				opened, err := keyring.Open(keyring.Seal([]byte(plaintext), "c"), "c")
				if err != nil || string(opened) != plaintext {
					t.Errorf("round trip of %q = %q, %v", plaintext, opened, err)
					return
				}
			}
		}()
	}
	wait.Wait()
}

func BenchmarkSeal(b *testing.B) {
	keyring := mustKeyring(b, GenerateKeyring("k1"))
	plaintext := []byte("上海市徐汇区漕溪北路100弄3号502室")
	b.ReportAllocs()
	for b.Loop() {
		keyring.Seal(plaintext, "registration.residence_address")
	}
}

func BenchmarkIndex(b *testing.B) {
	keyring := mustKeyring(b, GenerateKeyring("k1"))
	value := []byte("resident_id:310104202301010011")
	b.ReportAllocs()
	for b.Loop() {
		keyring.Index("child_document", value)
	}
}

func TestSealTextRoundTrip(t *testing.T) {
	keyring, err := NewKeyring(GenerateKeyring("k1"))
	if err != nil {
		t.Fatal(err)
	}
	text := keyring.SealText("pbkdf2-sm3$100000$c2FsdA==$a2V5", "staff.password_hash")
	if !strings.HasPrefix(text, SealedTextPrefix) {
		t.Fatalf("sealed text %q lacks the prefix %q", text, SealedTextPrefix)
	}
	if strings.Contains(text, "pbkdf2") {
		t.Errorf("sealed text %q contains the plaintext", text)
	}
	opened, err := keyring.OpenText(text, "staff.password_hash")
	if err != nil || opened != "pbkdf2-sm3$100000$c2FsdA==$a2V5" {
		t.Errorf("OpenText = %q, %v, want the plaintext", opened, err)
	}
	if _, err := keyring.OpenText(text, "staff.phone"); err == nil {
		t.Error("OpenText opened the value with another context")
	}
	if _, err := keyring.OpenText("pbkdf2-sm3$1$a$b", "staff.password_hash"); !errors.Is(err, ErrNotSealedText) {
		t.Errorf("OpenText of an unsealed value = %v, want ErrNotSealedText", err)
	}
	if _, err := keyring.OpenText(SealedTextPrefix+"not base64!", "staff.password_hash"); !errors.Is(err, ErrMalformed) {
		t.Errorf("OpenText of invalid base64 = %v, want ErrMalformed", err)
	}
}

func TestSealedKeyID(t *testing.T) {
	keyring := mustKeyring(t, GenerateKeyring("key-42"))
	keyID, err := SealedKeyID(keyring.Seal([]byte("x"), "test"))
	if err != nil || keyID != "key-42" {
		t.Errorf("SealedKeyID = %q, %v, want key-42", keyID, err)
	}
	if _, err := SealedKeyID([]byte{1}); !errors.Is(err, ErrMalformed) {
		t.Errorf("SealedKeyID of a 1-byte ciphertext = %v, want ErrMalformed", err)
	}
	if _, err := SealedKeyID([]byte{9, 1, 'k'}); !errors.Is(err, ErrMalformed) {
		t.Errorf("SealedKeyID of an unknown format version = %v, want ErrMalformed", err)
	}
}
