package precheck

import (
	"fmt"
	"net/http"

	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/document"
)

// The messages of this package, in one place so they read alike.

func errRequired(field, label string) *apierror.Error {
	return apierror.Invalid(field, "missing_field", "请填写"+label+"。")
}

func errInvalidChoice(field, label string) *apierror.Error {
	return apierror.Invalid(field, "invalid_choice", label+"的选项无效，请重新选择。")
}

func errInvalidDate(field, label string) *apierror.Error {
	return apierror.Invalid(field, "invalid_date", label+"不是有效日期，请按“年-月-日”格式填写，例如 2023-10-01。")
}

func errUnknownYear(year int) *apierror.Error {
	return apierror.Invalid("enrolmentYear", "unknown_enrolment_year", fmt.Sprintf("%d 年度不在本次招生范围内，请刷新页面后重新填写。", year))
}

func errRegistrationClosed(opensAt, closesAt string, notYet bool) *apierror.Error {
	if notYet {
		return apierror.New(http.StatusForbidden, "registration_not_open", "信息登记尚未开始，开始时间为 "+opensAt+"。")
	}
	return apierror.New(http.StatusForbidden, "registration_closed", "信息登记已于 "+closesAt+" 结束。如需补登记，请联系所在区招生服务点。")
}

func errOutsideAgeWindow(from, to string) *apierror.Error {
	return apierror.Invalid("child.birthDate", "child_outside_age_window",
		"本年度登记对象为 "+from+" 至 "+to+"（含）出生的适龄幼儿，该幼儿不在登记范围内。")
}

func errBirthDateMismatch() *apierror.Error {
	return apierror.Invalid("child.birthDate", "birth_date_mismatch", "出生日期与证件号码中的出生日期不一致，请核对。")
}

func errSexMismatch() *apierror.Error {
	return apierror.Invalid("child.sex", "sex_mismatch", "性别与证件号码不一致，请核对。")
}

func errHanNameRequired() *apierror.Error {
	return apierror.Invalid("child.name", "han_name_required", "持居民身份证的幼儿请填写与户口簿一致的中文姓名。")
}

func errChineseNationalPassport() *apierror.Error {
	return apierror.Invalid("child.document.nationality", "chinese_child_passport",
		"中国籍幼儿请使用居民身份证登记；尚未申报户口的幼儿请选择“无证件”。")
}

func errCategory(field, message string) *apierror.Error {
	return apierror.Invalid(field, "category_inconsistent", message)
}

func errUnknownCode(field, label string) *apierror.Error {
	return apierror.Invalid(field, "unknown_division", label+"不存在，请重新选择。")
}

func errDivisionMismatch(field, message string) *apierror.Error {
	return apierror.Invalid(field, "division_mismatch", message)
}

func errGuardianCount(maxGuardians int) *apierror.Error {
	return apierror.Invalid("guardians", "invalid_guardian_count", fmt.Sprintf("请填写 1 至 %d 名监护人。", maxGuardians))
}

func errDuplicateGuardian(field string) *apierror.Error {
	return apierror.Invalid(field, "duplicate_guardian", "两名监护人的证件号码相同，请核对。")
}

func errGuardianRelation(field string) *apierror.Error {
	return apierror.Invalid(field, "duplicate_guardian_relation", "父亲或母亲只能填写一次，请核对监护人关系。")
}

func errResidenceNumber(field string) *apierror.Error {
	return apierror.Invalid(field, "invalid_residence_document_number", "居住证件号码应为 4 至 32 位字母或数字，请核对。")
}

func errPointsWithoutPermit(field string) *apierror.Error {
	return apierror.Invalid(field, "points_without_permit", "只有持上海市居住证的监护人才能选择“积分达标”。")
}

func errTooMany(field, label string, maxCount int) *apierror.Error {
	return apierror.Invalid(field, "too_many_items", fmt.Sprintf("%s最多 %d 项。", label, maxCount))
}

func errFileID(field string) *apierror.Error {
	return apierror.Invalid(field, "invalid_file_id", "上传的证照文件无效，请重新上传。")
}

func errUnknownField(field string) *apierror.Error {
	return apierror.Invalid(field, "unknown_field", "表单包含未知字段，请刷新页面后重新填写。")
}

func errFieldType(field, label, expected string) *apierror.Error {
	return apierror.Invalid(field, "invalid_field_type", label+"应为"+expected+"。")
}

func errTooLong(field, label string, maxLength int) *apierror.Error {
	return apierror.Invalid(field, "too_long", fmt.Sprintf("%s不能超过 %d 个字。", label, maxLength))
}

func errTooShort(field, label string, minLength int) *apierror.Error {
	return apierror.Invalid(field, "too_short", fmt.Sprintf("%s至少 %d 个字。", label, minLength))
}

// errPattern uses the form's own message for the pattern when it has one.
func errPattern(field, label, message string) *apierror.Error {
	if message == "" {
		message = label + "的格式不正确，请核对。"
	}
	return apierror.Invalid(field, "pattern_mismatch", message)
}

func errOutOfRange(field, label string) *apierror.Error {
	return apierror.Invalid(field, "out_of_range", label+"超出允许范围，请核对。")
}

func errStaleSchema() *apierror.Error {
	return apierror.Invalid("schemaVersion", "stale_form", "表单已更新，请刷新页面后重新填写。")
}

// documentErrorField returns the field of an identity document that a
// document.Parse error is about: its nationality or its number.
func documentErrorField(err error) string {
	if apiErr := apierror.As(err); apiErr != nil && apiErr.Code == document.CodeInvalidNationality {
		return "nationality"
	}
	return "number"
}
