package document

import "strings"

// parseHKMacauPermit validates a normalised 港澳居民来往内地通行证 number:
// "H" (Hong Kong) or "M" (Macau) followed by 8 digits on current cards or 10
// digits on older cards.
func parseHKMacauPermit(number string) (Document, error) {
	if len(number) != 9 && len(number) != 11 {
		return Document{}, errInvalidHKMacau()
	}
	if !isDigits(number[1:]) {
		return Document{}, errInvalidHKMacau()
	}

	var region string
	switch number[0] {
	case 'H':
		region = "HK"
	case 'M':
		region = "MO"
	default:
		return Document{}, errInvalidHKMacau()
	}
	return Document{Type: HKMacauPermit, Number: number, Region: region, Nationality: "CHN"}, nil
}

// parseTaiwanPermit validates a normalised 台湾居民来往大陆通行证 number: 8
// digits on current cards, or 10 digits optionally followed by one letter in
// parentheses, such as "1234567890(B)", on older cards.
func parseTaiwanPermit(number string) (Document, error) {
	valid := false
	switch len(number) {
	case 8, 10:
		valid = isDigits(number)
	case 13:
		valid = isDigits(number[:10]) && number[10] == '(' && isUpperLetter(number[11]) && number[12] == ')'
	}
	if !valid {
		return Document{}, errInvalidTaiwan()
	}
	return Document{Type: TaiwanPermit, Number: number, Region: "TW", Nationality: "CHN"}, nil
}

// Passport numbers are checked only for length and characters, because
// formats differ by issuing country.
const (
	minPassportLength = 5
	maxPassportLength = 17
)

// parsePassport validates a normalised passport number and the holder's
// nationality, an ISO 3166-1 alpha-3 code in either case.
func parsePassport(number, nationality string) (Document, error) {
	if len(number) < minPassportLength || len(number) > maxPassportLength {
		return Document{}, errInvalidPassport()
	}
	for i := 0; i < len(number); i++ {
		c := number[i]
		if !isUpperLetter(c) && (c < '0' || c > '9') {
			return Document{}, errInvalidPassport()
		}
	}

	nationality = strings.TrimSpace(nationality)
	if nationality == "" {
		return Document{}, errMissingNationality()
	}
	if len(nationality) != 3 {
		return Document{}, errInvalidNationality()
	}
	var code [3]byte
	for i := 0; i < 3; i++ {
		c := nationality[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if !isUpperLetter(c) {
			return Document{}, errInvalidNationality()
		}
		code[i] = c
	}

	if !countries[string(code[:])] {
		return Document{}, errInvalidNationality()
	}
	return Document{Type: Passport, Number: number, Nationality: string(code[:])}, nil
}

func isUpperLetter(c byte) bool {
	return c >= 'A' && c <= 'Z'
}
