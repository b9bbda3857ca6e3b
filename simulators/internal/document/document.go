// Package document checks and normalises the identity document fields that
// the certificate and data API simulators receive.
package document

import (
	"hash/fnv"
	"regexp"
	"strings"
)

// ResidentIDCardTypes are the document type values taken to mean a resident
// ID card (居民身份证): the edge's name, the simulators' own name and the numeric code 111 that
// government systems commonly use for it.
var ResidentIDCardTypes = []string{"resident_id", "resident_id_card", "111"}

var (
	typePattern     = regexp.MustCompile(`^[A-Za-z0-9_]{1,40}$`)
	numberPattern   = regexp.MustCompile(`^[A-Za-z0-9-]{1,40}$`)
	residentPattern = regexp.MustCompile(`^[0-9]{17}[0-9X]$`)
)

// NormalizeNumber trims spaces and upper-cases a document number, so that
// "…x" and "…X" in a resident ID number name the same holder.
func NormalizeNumber(number string) string {
	return strings.ToUpper(strings.TrimSpace(number))
}

// CheckType returns a Chinese message when documentType is missing or is not
// 1 to 40 letters, digits and underscores, or "" when it is valid.
func CheckType(documentType string) string {
	if documentType == "" {
		return "缺少证件类型。"
	}
	if !typePattern.MatchString(documentType) {
		return "证件类型格式不正确，应为 1 至 40 位字母、数字或下划线。"
	}
	return ""
}

// CheckNumber returns a Chinese message when the normalised number is
// missing or malformed, or "" when it is valid. Any type accepts 1 to 40
// letters, digits and hyphens. A resident ID card must be 17 digits followed
// by a digit or X; its checksum is not verified.
func CheckNumber(documentType, number string) string {
	if number == "" {
		return "缺少证件号码。"
	}
	if !numberPattern.MatchString(number) {
		return "证件号码格式不正确，应为 1 至 40 位字母、数字或连字符。"
	}
	if IsResidentIDCard(documentType) && !residentPattern.MatchString(number) {
		return "居民身份证号码应为 18 位，前 17 位为数字，最后一位为数字或 X。"
	}
	return ""
}

// IsResidentIDCard reports whether documentType names a resident ID card.
func IsResidentIDCard(documentType string) bool {
	for _, candidate := range ResidentIDCardTypes {
		if strings.EqualFold(documentType, candidate) {
			return true
		}
	}
	return false
}

// Hash returns the 64-bit FNV-1a hash of the normalised number. The
// simulators derive their per-holder responses from it, so the same number
// always gets the same response.
func Hash(number string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(NormalizeNumber(number)))
	return h.Sum64()
}
