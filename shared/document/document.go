// Package document parses and validates the identity documents that children
// and guardians register with: the mainland resident ID card, the documents of
// Hong Kong, Macau and Taiwan residents, foreign passports, and "no document"
// for children who have none yet.
//
// Every error that Parse and ParseType return is an *apierror.Error with a
// stable code (the Code… constants) and an empty Field, so the caller adds the
// field path with WithField.
package document

import (
	"strings"
	"time"
)

// Type is the kind of identity document, as sent by clients and stored.
type Type string

const (
	ResidentID         Type = "resident_id"          // 居民身份证, 18 characters, GB 11643-1999
	HKMacauPermit      Type = "hk_macau_permit"      // 港澳居民来往内地通行证
	TaiwanPermit       Type = "taiwan_permit"        // 台湾居民来往大陆通行证
	HMTResidencePermit Type = "hmt_residence_permit" // 港澳台居民居住证, 18 characters, GB 11643 checksum
	Passport           Type = "passport"             // 护照 (foreign nationals)
	None               Type = "none"                 // 无证件 (children only)
)

// Label returns the Chinese name of the document type, or "" for an unknown
// type.
func (t Type) Label() string {
	switch t {
	case ResidentID:
		return "居民身份证"
	case HKMacauPermit:
		return "港澳居民来往内地通行证"
	case TaiwanPermit:
		return "台湾居民来往大陆通行证"
	case HMTResidencePermit:
		return "港澳台居民居住证"
	case Passport:
		return "护照"
	case None:
		return "无证件"
	}
	return ""
}

// ParseType returns the Type named by s, ignoring surrounding white space.
// Any other value is rejected with CodeUnknownType.
func ParseType(s string) (Type, error) {
	t := Type(strings.TrimSpace(s))
	if t.Label() == "" {
		return "", errUnknownType()
	}
	return t, nil
}

// Document is a parsed, normalised identity document.
type Document struct {
	Type Type
	// Number is the normalised number: half-width, upper case, no spaces or
	// hyphens. It is "" for None.
	Number string
	// BirthDate is the date encoded in a resident ID or HMT residence permit
	// number, at midnight UTC. It is the zero time for other types.
	BirthDate time.Time
	// Sex is 'M' or 'F' when the number encodes it (resident ID, HMT
	// residence permit), otherwise 0.
	Sex byte
	// RegionCode is the first six digits of an 18-digit number, otherwise "".
	RegionCode string
	// Region is "HK", "MO" or "TW" for the Hong Kong, Macau and Taiwan
	// documents, otherwise "".
	Region string
	// Nationality is an ISO 3166-1 alpha-3 code: "CHN" for resident IDs and
	// the Hong Kong, Macau and Taiwan documents, the caller's value for
	// passports, "" for None.
	Nationality string
}

// IndexValue returns what the blind index of a document is computed over:
// the type and the normalised number, and for a passport also the
// nationality, because passports of different countries may share a
// number.
//
// NOTE: records stored before the passport's country joined this value
// keep the index of "passport:NUMBER", and a new registration of such a
// child is not found to be a duplicate. Those were test records only, as
// the system had not gone live; a stack that holds some is seeded afresh.
func IndexValue(t Type, nationality, number string) []byte {
	if t == Passport {
		return []byte(string(t) + ":" + nationality + ":" + number)
	}
	return []byte(string(t) + ":" + number)
}

// IndexValue returns the value the blind index of d is computed over.
func (d Document) IndexValue() []byte { return IndexValue(d.Type, d.Nationality, d.Number) }

// MaxNumberBytes is the maximum length in bytes of a number before
// normalisation. Longer input is rejected before any other work.
const MaxNumberBytes = 64

// Parse normalises number and validates it as a document of type t.
//
// nationality is used only for passports, where it is required. today is the
// current time. Birth dates encoded in the number must not be after today's
// date in China Standard Time. On failure Parse returns a zero Document and an
// *apierror.Error.
func Parse(t Type, number, nationality string, today time.Time) (Document, error) {
	if t.Label() == "" {
		return Document{}, errUnknownType()
	}
	if len(number) > MaxNumberBytes {
		return Document{}, errNumberTooLong()
	}

	normalised := NormaliseNumber(number)
	if t == None {
		if normalised != "" {
			return Document{}, errNumberNotExpected()
		}
		return Document{Type: None}, nil
	}
	if normalised == "" {
		return Document{}, errMissingNumber()
	}

	switch t {
	case ResidentID:
		return parseResidentID(normalised, today)
	case HMTResidencePermit:
		return parseHMTResidencePermit(normalised, today)
	case HKMacauPermit:
		return parseHKMacauPermit(normalised)
	case TaiwanPermit:
		return parseTaiwanPermit(normalised)
	default: // Passport is the only type left.
		return parsePassport(normalised, nationality)
	}
}
