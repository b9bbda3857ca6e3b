package document

import "time"

// ValidResidentIDForTest builds a valid 18-digit resident ID number with the
// correct check character, for tests and the load driver.
//
// regionCode must be six ASCII digits and birth must fall in years 0 to 9999.
// The three-digit sequence code is sequence mod 500 times two, plus one when
// sex is 'M', so sequences 0 to 499 give distinct numbers for one region,
// birth date and sex. sex must be 'M' or 'F'. For any other input it returns "".
// Parse accepts the result as a resident ID when regionCode starts with a
// province-level code and birth is between 1900 and today.
//
// It allocates only the returned string.
func ValidResidentIDForTest(regionCode string, birth time.Time, sequence int, sex byte) string {
	if len(regionCode) != 6 || !isDigits(regionCode) {
		return ""
	}
	var sexDigit int
	switch sex {
	case 'M':
		sexDigit = 1
	case 'F':
		sexDigit = 0
	default:
		return ""
	}
	year, month, day := birth.Date()
	if year < 0 || year > 9999 {
		return ""
	}

	sequence %= 500
	if sequence < 0 {
		sequence += 500
	}
	order := sequence*2 + sexDigit

	var id [18]byte
	copy(id[:6], regionCode)
	putDigits(id[6:10], year)
	putDigits(id[10:12], int(month))
	putDigits(id[12:14], day)
	putDigits(id[14:17], order)
	id[17] = checkCharacter(id[:])
	return string(id[:])
}

// putDigits writes n into dst as len(dst) decimal digits with leading zeros.
func putDigits(dst []byte, n int) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + n%10)
		n /= 10
	}
}
