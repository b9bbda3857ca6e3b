package enrolment

import (
	"fmt"
	"strconv"
)

// Receipt numbers. A registration number (登记编号) is 12 digits: the
// enrolment year, a 7-digit sequence and a Luhn check digit. An application
// number is 14 digits: the year, the last two digits of the district code, a
// 7-digit sequence and a Luhn check digit. The edge assigns the sequences in
// Redis (see the scripts in edge/submit), so numbers are unique per year.
const (
	RegistrationNumberLength = 12
	ApplicationNumberLength  = 14
)

// Kinds of submission, as carried in the stream.
const (
	KindRegistration = "registration"
	KindApplication  = "application"
)

// FormatRegistrationNumber builds a registration number.
func FormatRegistrationNumber(year int, sequence int64) string {
	payload := fmt.Sprintf("%04d%07d", year, sequence)
	return payload + string(LuhnDigit(payload))
}

// FormatApplicationNumber builds an application number for a district.
func FormatApplicationNumber(year int, districtCode string, sequence int64) string {
	payload := fmt.Sprintf("%04d%s%07d", year, districtCode[len(districtCode)-2:], sequence)
	return payload + string(LuhnDigit(payload))
}

// NumberKind returns KindRegistration or KindApplication for a well-formed
// receipt number, and "" for anything else, including a wrong check digit.
func NumberKind(number string) string {
	var kind string
	switch len(number) {
	case RegistrationNumberLength:
		kind = KindRegistration
	case ApplicationNumberLength:
		kind = KindApplication
	default:
		return ""
	}
	for i := 0; i < len(number); i++ {
		if number[i] < '0' || number[i] > '9' {
			return ""
		}
	}
	if LuhnDigit(number[:len(number)-1]) != number[len(number)-1] {
		return ""
	}
	return kind
}

// NumberYear returns the enrolment year encoded in a well-formed number.
func NumberYear(number string) int {
	year, _ := strconv.Atoi(number[:4])
	return year
}

// NumberSequence returns the sequence encoded in a well-formed number: the
// value the year's (or the year and district's) counter had when it was
// drawn.
func NumberSequence(number string) int64 {
	start := 4
	if len(number) == ApplicationNumberLength {
		start = 6
	}
	sequence, _ := strconv.ParseInt(number[start:len(number)-1], 10, 64)
	return sequence
}

// LuhnDigit returns the Luhn check digit of a string of ASCII digits.
func LuhnDigit(digits string) byte {
	sum := 0
	double := true
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}
