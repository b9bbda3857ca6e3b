package document

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormaliseNumber returns s in the form that documents are stored and
// compared in. It maps full-width ASCII forms (U+FF01 to U+FF5E, such as
// "１", "ｘ" and "（") to their ASCII characters and upper-cases ASCII letters.
// It drops all white space, dashes and hyphens (Unicode category Pd and U+2212
// MINUS SIGN) and invisible format characters (category Cf, such as U+200B
// ZERO WIDTH SPACE). Other characters are kept, with invalid UTF-8 bytes
// replaced by U+FFFD, so that validation can reject them.
//
// For example "１１０１０５ １９４９１２３１００２ｘ" becomes "11010519491231002X".
func NormaliseNumber(s string) string {
	if isNormalisedASCII(s) {
		return s
	}

	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r >= 0xFF01 && r <= 0xFF5E {
			r -= 0xFF01 - '!'
		}
		switch {
		case unicode.IsSpace(r), unicode.Is(unicode.Pd, r), r == '\u2212', unicode.Is(unicode.Cf, r):
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isNormalisedASCII reports whether NormaliseNumber would return s unchanged
// because it contains only ASCII characters that normalisation keeps.
func isNormalisedASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || c <= ' ' || c == '-' || (c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// gb11643Weights are the ISO 7064 MOD 11-2 weights 2^(17-i) mod 11 of the
// first 17 digits, from GB 11643-1999.
var gb11643Weights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// gb11643CheckCharacters maps the weighted sum mod 11 to the check character.
const gb11643CheckCharacters = "10X98765432"

// CheckDigit returns the GB 11643-1999 (ISO 7064 MOD 11-2) check character,
// '0' to '9' or 'X', of the first 17 digits of an 18-digit number. It returns
// 0 unless first17 is exactly 17 ASCII digits.
func CheckDigit(first17 string) byte {
	if len(first17) != 17 || !isDigits(first17) {
		return 0
	}
	return checkCharacter(first17)
}

// checkCharacter computes the check character of digits, which the caller
// has checked are 17 ASCII digits. It takes string or []byte so that
// ValidResidentIDForTest can use it without converting its buffer.
func checkCharacter[T string | []byte](digits T) byte {
	sum := 0
	for i, weight := range gb11643Weights {
		sum += int(digits[i]-'0') * weight
	}
	return gb11643CheckCharacters[sum%11]
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
