package enrolment

import "github.com/sh-preschool/preschool/shared/apierror"

// CheckNumber returns nil when number is a well-formed receipt number of one
// of kinds, where no kinds means either kind. Otherwise it returns an
// invalid-input *apierror.Error on field with code. Its message names what
// is wrong for a person copying the number from paper: the length, a
// non-digit, the check digit (a mistyped digit) or the other kind of number.
func CheckNumber(field, code, number string, kinds ...string) error {
	if len(kinds) == 0 {
		kinds = []string{KindRegistration, KindApplication}
	}
	kind := NumberKind(number)
	for _, allowed := range kinds {
		if kind == allowed {
			return nil
		}
	}
	wantsRegistration, wantsApplication := false, false
	for _, allowed := range kinds {
		wantsRegistration = wantsRegistration || allowed == KindRegistration
		wantsApplication = wantsApplication || allowed == KindApplication
	}

	var message string
	switch {
	case kind == KindApplication:
		message = "这是 14 位报名编号，此处请输入 12 位登记编号。"
	case kind == KindRegistration:
		message = "这是 12 位登记编号，此处请输入 14 位报名编号。"
	case wellFormedDigits(number, wantsRegistration, wantsApplication):
		message = "编号校验位不正确，可能有数字输错，请逐位核对后重新输入。"
	case wantsRegistration && wantsApplication:
		message = "编号格式不正确：登记编号为 12 位数字，报名编号为 14 位数字。"
	case wantsRegistration:
		message = "登记编号应为 12 位数字，请核对。"
	default:
		message = "报名编号应为 14 位数字，请核对。"
	}
	return apierror.Invalid(field, code, message)
}

// wellFormedDigits reports whether number is all ASCII digits and has the
// length of a wanted kind, so that only its check digit can be wrong.
func wellFormedDigits(number string, registration, application bool) bool {
	if !(registration && len(number) == RegistrationNumberLength) && !(application && len(number) == ApplicationNumberLength) {
		return false
	}
	for i := 0; i < len(number); i++ {
		if number[i] < '0' || number[i] > '9' {
			return false
		}
	}
	return true
}
