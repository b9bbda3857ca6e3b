package crypto

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	"github.com/tjfoc/gmsm/sm2"
	"github.com/tjfoc/gmsm/sm3"
	"github.com/tjfoc/gmsm/sm4"
)

// The published known-answer vectors of GB/T 32905 (SM3), GB/T 32907 (SM4)
// and GB/T 32918.5 (SM2 signature on the recommended curve). tjfoc/gmsm's
// own tests are round trips only, so these pin its answers.

func TestSM3KnownAnswers(t *testing.T) {
	cases := map[string]string{
		"abc":                      "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
		strings.Repeat("abcd", 16): "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
	}
	for message, want := range cases {
		if got := hex.EncodeToString(sm3.Sm3Sum([]byte(message))); got != want {
			t.Errorf("SM3(%q) = %s, want %s", message, got, want)
		}
	}
}

func TestSM4KnownAnswerOneBlock(t *testing.T) {
	key := mustHex(t, "0123456789abcdeffedcba9876543210")
	block, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 16)
	block.Encrypt(got, key)
	if want := mustHex(t, "681edf34d206965e86b3e94f536e4246"); !bytes.Equal(got, want) {
		t.Fatalf("SM4 encrypt = %x, want %x", got, want)
	}
	block.Decrypt(got, got)
	if !bytes.Equal(got, key) {
		t.Fatalf("SM4 decrypt = %x, want the plaintext back", got)
	}
}

func TestSM4KnownAnswerMillionRounds(t *testing.T) {
	if testing.Short() {
		t.Skip("a million block encryptions; run without -short")
	}
	key := mustHex(t, "0123456789abcdeffedcba9876543210")
	block, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	state := append([]byte(nil), key...)
	for range 1_000_000 {
		block.Encrypt(state, state)
	}
	if want := mustHex(t, "595298c7c6fd271f0402f804c33d3f66"); !bytes.Equal(state, want) {
		t.Fatalf("SM4 after 1,000,000 rounds = %x, want %x", state, want)
	}
}

func TestSM2VerifiesStandardSignature(t *testing.T) {
	curve := sm2.P256Sm2()
	public := &sm2.PublicKey{
		Curve: curve,
		X:     mustBig(t, "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"),
		Y:     mustBig(t, "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"),
	}
	private := mustBig(t, "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
	x, y := curve.ScalarBaseMult(private.Bytes())
	if x.Cmp(public.X) != 0 || y.Cmp(public.Y) != 0 {
		t.Fatal("the private key does not give the published public key")
	}
	r := mustBig(t, "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3")
	s := mustBig(t, "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA")
	userID := []byte("1234567812345678")

	if !sm2.Sm2Verify(public, []byte("message digest"), userID, r, s) {
		t.Fatal("the standard's signature of \"message digest\" does not verify")
	}
	if sm2.Sm2Verify(public, []byte("message digesT"), userID, r, s) {
		t.Fatal("the signature verifies for another message")
	}
	if sm2.Sm2Verify(public, []byte("message digest"), []byte("ALICE123@YAHOO.COM"), r, s) {
		t.Fatal("the signature verifies with another user ID")
	}
}

func mustHex(t *testing.T, value string) []byte {
	t.Helper()
	decoded, err := hex.DecodeString(value)
	if err != nil {
		t.Fatal(err)
	}
	return decoded
}

func mustBig(t *testing.T, value string) *big.Int {
	t.Helper()
	number, ok := new(big.Int).SetString(value, 16)
	if !ok {
		t.Fatalf("invalid hex %q", value)
	}
	return number
}
