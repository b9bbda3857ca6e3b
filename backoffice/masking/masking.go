// Package masking hides personal data in the back office's pages and
// exports by role: identity document numbers and phone numbers are masked
// unless the staff member's role holds the explicit permission
// personal.unmask, which no built-in role has.
package masking

import "github.com/sh-preschool/preschool/backoffice/access"

// Permission lets a role see identity document numbers and phone numbers
// in full. The security admin grants it to a role deliberately.
const Permission = "personal.unmask"

// Policy masks values for one staff member.
type Policy struct {
	// Unmasked shows values in full.
	Unmasked bool
}

// For returns the policy of a staff member: unmasked only with Permission.
func For(staff *access.Staff) Policy {
	return Policy{Unmasked: staff != nil && staff.Can(Permission)}
}

// DocumentNumber masks an identity document number, keeping the first 3 and
// the last 4 characters ("310***********1234"). Numbers of 8 characters or
// fewer keep only the last 2.
func (p Policy) DocumentNumber(number string) string {
	if p.Unmasked {
		return number
	}
	return keepEnds(number, 3, 4, 8)
}

// Phone masks a phone number, keeping the first 3 and the last 4 digits of
// a mobile number ("138****8000").
func (p Policy) Phone(phone string) string {
	if p.Unmasked {
		return phone
	}
	return keepEnds(phone, 3, 4, 7)
}

// Name masks a name like MaskName unless the policy is unmasked.
func (p Policy) Name(name string) string {
	if p.Unmasked {
		return name
	}
	return MaskName(name)
}

// keepEnds stars every character but the first head and the last tail. A
// value of at most short characters keeps only its last 2, so a short value
// is never shown nearly whole.
func keepEnds(value string, head, tail, short int) string {
	runes := []rune(value)
	if len(runes) == 0 {
		return ""
	}
	if len(runes) <= short {
		head, tail = 0, min(2, len(runes)-1)
	}
	masked := make([]rune, len(runes))
	for i, r := range runes {
		if i < head || i >= len(runes)-tail {
			masked[i] = r
		} else {
			masked[i] = '*'
		}
	}
	return string(masked)
}

// MaskName keeps the first and, for names of three or more characters, the
// last character of a name, and stars the rest ("张*明", "张*").
func MaskName(name string) string {
	runes := []rune(name)
	switch len(runes) {
	case 0:
		return ""
	case 1:
		return "*"
	case 2:
		return string(runes[0]) + "*"
	}
	masked := []rune{runes[0]}
	for range runes[1 : len(runes)-1] {
		masked = append(masked, '*')
	}
	return string(append(masked, runes[len(runes)-1]))
}
