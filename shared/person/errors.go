package person

import (
	"fmt"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// Error codes returned by ParseName, NormalisePhone and NormaliseAddress.
// They are part of the API contract, so never rename them.
const (
	CodeMissingName       = "missing_name"
	CodeNameTooLong       = "name_too_long"
	CodeNameTooShort      = "name_too_short"
	CodeNameMarkup        = "invalid_name_markup"
	CodeNameCharacters    = "invalid_name_characters"
	CodeNameMixedScript   = "invalid_name_mixed_script"
	CodeNameMiddleDot     = "invalid_name_middle_dot"
	CodeMissingPhone      = "missing_phone"
	CodeInvalidPhone      = "invalid_phone"
	CodeMissingAddress    = "missing_address"
	CodeAddressTooLong    = "address_too_long"
	CodeAddressCharacters = "invalid_address_characters"
)

// invalid returns a new error each time, so a caller that changes one (for
// example with WithField) cannot affect another request.
func invalid(code, message string) error {
	return apierror.Invalid("", code, message)
}

func errMissingName() error {
	return invalid(CodeMissingName, "请填写姓名。")
}

func errNameTooLong(maxRunes int) error {
	return invalid(CodeNameTooLong, fmt.Sprintf("姓名不能超过 %d 个字，请核对后重新填写。", maxRunes))
}

func errNameTooShort() error {
	return invalid(CodeNameTooShort, "姓名至少应有 2 个字，请填写完整的姓名。")
}

func errNameMarkup() error {
	return invalid(CodeNameMarkup, "姓名不能包含 < > & \" ; 等符号或控制字符，请删除后重新填写。")
}

func errNameDigits() error {
	return invalid(CodeNameCharacters, "姓名不能包含数字，请按证件上的姓名填写。")
}

func errNameCharacters() error {
	return invalid(CodeNameCharacters, "姓名只能使用汉字，或使用外文字母、空格、连字符（-）、撇号（'）和句点（.）。少数民族姓名可用间隔号“·”分隔。请按证件上的姓名填写。")
}

func errNameWithoutLetter() error {
	return invalid(CodeNameCharacters, "姓名应包含汉字或字母，请按证件上的姓名填写。")
}

func errHanNameCharacters() error {
	return invalid(CodeNameCharacters, "中文姓名只能使用汉字，不能有空格或其他符号。少数民族姓名请用间隔号“·”分隔，如“阿依古丽·买买提”。")
}

func errLatinNameCharacters() error {
	return invalid(CodeNameCharacters, "外文姓名只能使用字母、空格、连字符（-）、撇号（'）和句点（.），请按护照上的姓名填写。")
}

func errNameMixedScript() error {
	return invalid(CodeNameMixedScript, "姓名不能同时包含汉字和外文字母。中文姓名请只填写汉字，外文姓名请按护照上的字母填写。")
}

func errNameMiddleDot() error {
	return invalid(CodeNameMiddleDot, "间隔号“·”只能用在姓名的两部分之间，不能出现在开头或结尾，也不能连续使用。")
}

func errMissingPhone() error {
	return invalid(CodeMissingPhone, "请填写手机号码。")
}

func errInvalidPhone() error {
	return invalid(CodeInvalidPhone, "手机号码格式不正确。内地手机号请填写11位数字，如13812345678。境外号码请以“+”和国家或地区代码开头，如+852 91234567。")
}

func errMissingAddress() error {
	return invalid(CodeMissingAddress, "请填写详细地址。")
}

func errAddressTooLong(maxRunes int) error {
	return invalid(CodeAddressTooLong, fmt.Sprintf("详细地址不能超过 %d 个字，请精简后重新填写。", maxRunes))
}

func errAddressCharacters() error {
	return invalid(CodeAddressCharacters, "详细地址不能包含 < > & \" 等符号或控制字符，请删除后重新填写。")
}
