// Package person validates and normalises the personal details entered for
// children and guardians: names, phone numbers and address text.
//
// Every error is an *apierror.Error with a stable code (the Code… constants)
// and an empty Field, so the caller adds the field path with WithField.
package person

// halfWidth maps a full-width ASCII form (U+FF01 to U+FF5E) to its ASCII
// character and returns any other rune unchanged.
func halfWidth(r rune) rune {
	if r >= 0xFF01 && r <= 0xFF5E {
		return r - (0xFF01 - '!')
	}
	return r
}

// isFullWidthAlphanumeric reports whether r is a full-width digit or Latin
// letter.
func isFullWidthAlphanumeric(r rune) bool {
	return (r >= '０' && r <= '９') || (r >= 'Ａ' && r <= 'Ｚ') || (r >= 'ａ' && r <= 'ｚ')
}
