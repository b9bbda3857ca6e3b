package crypto

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SealedTextPrefix starts the text form of a ciphertext, which text columns
// use in place of bytea. A value without it was stored before the column
// was sealed.
const SealedTextPrefix = "sm4gcm$"

// ErrNotSealedText is returned by OpenText for a value without
// SealedTextPrefix.
var ErrNotSealedText = errors.New("crypto: value is not in sealed text form")

// SealText seals plaintext like Seal and returns the text form:
// SealedTextPrefix and the ciphertext in standard base64.
func (k *Keyring) SealText(plaintext, context string) string {
	return EncodeSealedText(k.Seal([]byte(plaintext), context))
}

// OpenText opens a value made by SealText with the same context. Errors are
// those of Open, ErrNotSealedText, or ErrMalformed for invalid base64.
func (k *Keyring) OpenText(text, context string) (string, error) {
	sealed, err := DecodeSealedText(text)
	if err != nil {
		return "", err
	}
	plaintext, err := k.Open(sealed, context)
	if err != nil {
		return "", err
	}
	return string(plaintext), nil
}

// EncodeSealedText returns the text form of a ciphertext.
func EncodeSealedText(sealed []byte) string {
	return SealedTextPrefix + base64.StdEncoding.EncodeToString(sealed)
}

// DecodeSealedText returns the ciphertext of a text form made by
// EncodeSealedText.
func DecodeSealedText(text string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(text, SealedTextPrefix)
	if !ok {
		return nil, ErrNotSealedText
	}
	sealed, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("%w: sealed text is not valid base64: %v", ErrMalformed, err)
	}
	return sealed, nil
}
