package person

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormaliseAddress validates and normalises the free text of a detailed
// address, such as "徐汇区漕溪北路１００弄３号５０２室", of at most maxRunes
// runes after normalisation.
//
// It removes surrounding white space, turns each run of white space (tabs
// and line breaks included) into one space, and maps full-width digits and
// Latin letters to ASCII. Chinese punctuation and all other characters are
// kept. Other control and format characters and the markup characters
// < > & " ` \ { } are rejected.
func NormaliseAddress(s string, maxRunes int) (string, error) {
	if !utf8.ValidString(s) {
		return "", errAddressCharacters()
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errMissingAddress()
	}

	var b strings.Builder
	changed := false
	previousSpace := false
	length := 0
	for i, original := range s {
		r := original
		space := unicode.IsSpace(r)
		switch {
		case space:
			r = ' '
		case isAddressMarkup(r):
			return "", errAddressCharacters()
		case isFullWidthAlphanumeric(r):
			r = halfWidth(r)
		}

		dropped := space && previousSpace
		previousSpace = space
		if !changed && (dropped || r != original) {
			changed = true
			b.Grow(len(s))
			b.WriteString(s[:i])
		}
		if dropped {
			continue
		}
		if changed {
			b.WriteRune(r)
		}
		length++
	}

	if length > maxRunes {
		return "", errAddressTooLong(maxRunes)
	}
	if !changed {
		return s, nil
	}
	return b.String(), nil
}

// isAddressMarkup reports whether r is a control or format character, or an
// ASCII character that is special in HTML, JavaScript or templates. White
// space is checked before this, so tab and newline are not rejected.
func isAddressMarkup(r rune) bool {
	switch r {
	case '<', '>', '&', '"', '`', '\\', '{', '}':
		return true
	}
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r)
}
