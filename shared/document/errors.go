package document

import "github.com/sh-preschool/preschool/shared/apierror"

// Error codes returned by ParseType and Parse. They are part of the API
// contract, so never rename them.
const (
	CodeUnknownType         = "unknown_document_type"
	CodeMissingNumber       = "missing_document_number"
	CodeInvalidNumber       = "invalid_document_number" // longer than MaxNumberBytes
	CodeNumberNotExpected   = "document_number_not_expected"
	CodeResidentID15Digits  = "resident_id_15_digits"
	CodeInvalidResidentID   = "invalid_resident_id_format"
	CodeResidentIDRegion    = "invalid_resident_id_region"
	CodeResidentIDBirthDate = "invalid_resident_id_birth_date"
	CodeResidentIDChecksum  = "invalid_resident_id_checksum"
	CodeInvalidHMTPermit    = "invalid_hmt_residence_permit_format"
	CodeHMTPermitRegion     = "invalid_hmt_residence_permit_region"
	CodeHMTPermitBirthDate  = "invalid_hmt_residence_permit_birth_date"
	CodeHMTPermitChecksum   = "invalid_hmt_residence_permit_checksum"
	CodeInvalidHKMacau      = "invalid_hk_macau_permit"
	CodeInvalidTaiwan       = "invalid_taiwan_permit"
	CodeInvalidPassport     = "invalid_passport_number"
	CodeInvalidNationality  = "invalid_nationality"
)

// invalid returns a new error each time, so a caller that changes one (for
// example with WithField) cannot affect another request.
func invalid(code, message string) error {
	return apierror.Invalid("", code, message)
}

func errUnknownType() error {
	return invalid(CodeUnknownType, "证件类型无效，请从列表中重新选择证件类型。")
}

func errMissingNumber() error {
	return invalid(CodeMissingNumber, "请填写证件号码。")
}

func errNumberTooLong() error {
	return invalid(CodeInvalidNumber, "证件号码过长，请按证件上的号码重新填写。")
}

func errNumberNotExpected() error {
	return invalid(CodeNumberNotExpected, "证件类型为“无证件”时不能填写证件号码。如有证件，请选择对应的证件类型。")
}

func errResidentID15Digits() error {
	return invalid(CodeResidentID15Digits, "15位居民身份证号码已不再受理，请填写18位居民身份证号码。")
}

// gb11643Errors holds the codes and messages that differ between the two
// document types that share the GB 11643 number layout.
type gb11643Errors struct {
	label         string // Chinese document name used in messages
	formatCode    string
	regionCode    string
	regionMessage string
	birthCode     string
	checksumCode  string
}

var residentIDErrors = gb11643Errors{
	label:         "居民身份证",
	formatCode:    CodeInvalidResidentID,
	regionCode:    CodeResidentIDRegion,
	regionMessage: "居民身份证号码前两位不是有效的省级行政区代码，请核对后重新填写。",
	birthCode:     CodeResidentIDBirthDate,
	checksumCode:  CodeResidentIDChecksum,
}

var hmtPermitErrors = gb11643Errors{
	label:         "港澳台居民居住证",
	formatCode:    CodeInvalidHMTPermit,
	regionCode:    CodeHMTPermitRegion,
	regionMessage: "港澳台居民居住证号码应以810000（香港）、820000（澳门）或830000（台湾）开头，请核对后重新填写。",
	birthCode:     CodeHMTPermitBirthDate,
	checksumCode:  CodeHMTPermitChecksum,
}

// errResidentIDHMTRegion is the error for a resident ID that starts with the
// prefix of an HMT residence permit. Its message names the type to choose.
func errResidentIDHMTRegion() error {
	return invalid(CodeResidentIDRegion, "以81、82、83开头的号码是港澳台居民居住证号码，请将证件类型改为“港澳台居民居住证”。")
}

func (e gb11643Errors) format() error {
	return invalid(e.formatCode, e.label+"号码应为18位，由17位数字加1位数字或字母X组成，请核对后重新填写。")
}

func (e gb11643Errors) region() error {
	return invalid(e.regionCode, e.regionMessage)
}

func (e gb11643Errors) birthDate() error {
	return invalid(e.birthCode, e.label+"号码第7至14位的出生日期无效，请核对后重新填写。")
}

func (e gb11643Errors) checksum() error {
	return invalid(e.checksumCode, e.label+"号码最后一位校验码不正确，请逐位核对号码后重新填写。")
}

func errInvalidHKMacau() error {
	return invalid(CodeInvalidHKMacau, "港澳居民来往内地通行证号码应为字母H（香港）或M（澳门）加8位数字，旧版证件为H或M加10位数字，请核对后重新填写。")
}

func errInvalidTaiwan() error {
	return invalid(CodeInvalidTaiwan, "台湾居民来往大陆通行证号码应为8位数字。旧版证件为10位数字，可能带有括号内的一个字母，如1234567890(B)。请核对后重新填写。")
}

func errInvalidPassport() error {
	return invalid(CodeInvalidPassport, "护照号码应为5至17位字母或数字，请按护照上的号码重新填写。")
}

func errMissingNationality() error {
	return invalid(CodeInvalidNationality, "请选择护照持有人的国籍。")
}

func errInvalidNationality() error {
	return invalid(CodeInvalidNationality, "国籍应为三个字母的国家代码（ISO 3166-1），如 USA、JPN，请重新选择国籍。")
}
