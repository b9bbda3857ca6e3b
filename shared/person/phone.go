package person

import (
	"strings"
	"unicode"
)

// maxPhoneBytes is the maximum length in bytes of phone input before
// normalisation. Longer input is rejected before any other work.
const maxPhoneBytes = 64

// Digits of an international number, country code included. E.164 allows
// at most 15. The minimum of 8 is this system's choice.
const (
	minInternationalDigits = 8
	maxInternationalDigits = 15
)

// NormalisePhone validates a phone number and returns it in the form it is
// stored in: the 11 digits of a mainland mobile number, or "+" and the
// digits of any other number.
//
// It maps full-width characters to ASCII and drops white space, hyphens,
// dashes, parentheses and invisible format characters, such as the
// direction marks U+202A and U+202C that copied numbers can contain. A leading
// "+86", "86" or "0086" before a mainland mobile number is removed, and a
// leading "00" is read as "+". Numbers with +86 must be mainland mobile
// numbers. Other international numbers must have 8 to 15 digits. The Hong
// Kong (+852) and Macau (+853) codes must be followed by 8 digits, and
// Taiwan (+886) by 8 or 9 digits.
func NormalisePhone(s string) (string, error) {
	if isMainlandMobile(s) {
		return s, nil
	}
	if len(s) > maxPhoneBytes {
		return "", errInvalidPhone()
	}

	compact := compactPhone(s)
	if compact == "" {
		return "", errMissingPhone()
	}

	international := false
	switch {
	case strings.HasPrefix(compact, "+"):
		compact = compact[1:]
		international = true
	case strings.HasPrefix(compact, "00"):
		compact = compact[2:]
		international = true
	}
	if compact == "" || !isASCIIDigits(compact) {
		return "", errInvalidPhone()
	}

	if national, ok := strings.CutPrefix(compact, "86"); ok && (international || len(compact) == 13) {
		if !isMainlandMobile(national) {
			return "", errInvalidPhone()
		}
		return national, nil
	}
	if !international {
		if !isMainlandMobile(compact) {
			return "", errInvalidPhone()
		}
		return compact, nil
	}

	if !isInternationalNumber(compact) {
		return "", errInvalidPhone()
	}
	return "+" + compact, nil
}

// compactPhone maps full-width characters to ASCII and drops the separators
// that people type in phone numbers.
func compactPhone(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		r = halfWidth(r)
		switch {
		case r == '(' || r == ')',
			unicode.IsSpace(r),
			unicode.Is(unicode.Pd, r),
			unicode.Is(unicode.Cf, r):
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isInternationalNumber checks the digits after "+" of a number outside the
// mainland.
func isInternationalNumber(digits string) bool {
	if digits[0] == '0' || len(digits) < minInternationalDigits || len(digits) > maxInternationalDigits {
		return false
	}
	switch {
	case strings.HasPrefix(digits, "852"), strings.HasPrefix(digits, "853"):
		return len(digits) == 3+8
	case strings.HasPrefix(digits, "886"):
		return len(digits) == 3+8 || len(digits) == 3+9
	}
	return true
}

// isMainlandMobile reports whether s is an 11-digit mainland mobile number:
// "1", a digit from 3 to 9, and 9 more digits.
func isMainlandMobile(s string) bool {
	return len(s) == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' && isASCIIDigits(s[2:])
}

func isASCIIDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
