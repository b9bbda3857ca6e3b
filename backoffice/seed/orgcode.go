package seed

import (
	"math/rand/v2"
	"strings"
)

// Unified social credit codes (统一社会信用代码, GB 32100-2015) are 18
// characters: the registration authority and organisation type (2), the
// district code of the registering authority (6), the organisation code
// (组织机构代码, GB 11714-1997, 9) and a check character.
const (
	// orgCodeTypePublic is 1 (编办, the establishment office) and 2
	// (事业单位, a public institution).
	orgCodeTypePublic = "12"
	// orgCodeTypePrivate is 5 (民政, civil affairs) and 2 (民办非企业单位, a
	// private non-enterprise unit).
	orgCodeTypePrivate = "52"
)

// creditCodeAlphabet lists the characters of GB 32100-2015, whose positions
// are their values: the digits and the capital letters without I, O, S, V, Z.
const creditCodeAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// creditCodeWeights are 3^i mod 31 for the first 17 positions.
var creditCodeWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// creditCodeCheck returns the GB 32100 check character of the first 17
// characters of a unified social credit code, and false when one of them is
// not in the alphabet.
func creditCodeCheck(first17 string) (byte, bool) {
	if len(first17) != 17 {
		return 0, false
	}
	sum := 0
	for i := range 17 {
		value := strings.IndexByte(creditCodeAlphabet, first17[i])
		if value < 0 {
			return 0, false
		}
		sum += value * creditCodeWeights[i]
	}
	check := 31 - sum%31
	if check == 31 {
		check = 0
	}
	return creditCodeAlphabet[check], true
}

// organisationCodeCheck returns the GB 11714-1997 check character of an
// 8-character organisation code body of digits and capital letters (A = 10
// to Z = 35): 11 minus the weighted sum mod 11, with 10 written X and 11
// written 0. It returns false for any other body.
func organisationCodeCheck(body string) (byte, bool) {
	weights := [8]int{3, 7, 9, 10, 5, 8, 4, 2}
	if len(body) != len(weights) {
		return 0, false
	}
	sum := 0
	for i, weight := range weights {
		c := body[i]
		switch {
		case c >= '0' && c <= '9':
			sum += int(c-'0') * weight
		case c >= 'A' && c <= 'Z':
			sum += int(c-'A'+10) * weight
		default:
			return 0, false
		}
	}
	switch check := 11 - sum%11; check {
	case 10:
		return 'X', true
	case 11:
		return '0', true
	default:
		return byte('0' + check), true
	}
}

// randomOrgCode returns a unified social credit code for a kindergarten in
// the district, with a random 8-digit organisation code body.
func randomOrgCode(rng *rand.Rand, districtCode string, public bool) string {
	prefix := orgCodeTypePrivate
	if public {
		prefix = orgCodeTypePublic
	}
	body := make([]byte, 8)
	for i := range body {
		body[i] = byte('0' + rng.IntN(10))
	}
	// Both checks succeed, because the body has 8 digits and the first 17
	// characters contain only digits and X.
	organisationCheck, _ := organisationCodeCheck(string(body))
	first17 := prefix + districtCode + string(body) + string(organisationCheck)
	check, _ := creditCodeCheck(first17)
	return first17 + string(check)
}
