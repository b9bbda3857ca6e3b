package enrolment

import (
	"testing"

	"github.com/sh-preschool/preschool/shared/apierror"
)

func TestCheckNumberMessages(t *testing.T) {
	registration := "2027" + "0000001"
	registration += string(LuhnDigit(registration))
	application := "2027" + "04" + "0000001"
	application += string(LuhnDigit(application))
	wrongDigit := func(number string) string {
		last := number[len(number)-1]
		return number[:len(number)-1] + string('0'+(last-'0'+1)%10)
	}

	tests := []struct {
		name, number string
		kinds        []string
		want         string // message, or "" for no error
	}{
		{"registration accepted", registration, []string{KindRegistration}, ""},
		{"application accepted", application, []string{KindApplication}, ""},
		{"either accepted", application, nil, ""},
		{"registration check digit", wrongDigit(registration), []string{KindRegistration}, "编号校验位不正确，可能有数字输错，请逐位核对后重新输入。"},
		{"application check digit", wrongDigit(application), []string{KindApplication}, "编号校验位不正确，可能有数字输错，请逐位核对后重新输入。"},
		{"either check digit", wrongDigit(application), nil, "编号校验位不正确，可能有数字输错，请逐位核对后重新输入。"},
		{"application for registration", application, []string{KindRegistration}, "这是 14 位报名编号，此处请输入 12 位登记编号。"},
		{"registration for application", registration, []string{KindApplication}, "这是 12 位登记编号，此处请输入 14 位报名编号。"},
		{"registration too short", "20270000001", []string{KindRegistration}, "登记编号应为 12 位数字，请核对。"},
		{"application with letter", "2027040000001X", []string{KindApplication}, "报名编号应为 14 位数字，请核对。"},
		{"either wrong length", "123", nil, "编号格式不正确：登记编号为 12 位数字，报名编号为 14 位数字。"},
		{"14 digits for registration", wrongDigit(application), []string{KindRegistration}, "登记编号应为 12 位数字，请核对。"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			err := CheckNumber("number", "invalid_number", test.number, test.kinds...)
			if test.want == "" {
				if err != nil {
					t.Fatalf("CheckNumber(%q) = %v, want nil", test.number, err)
				}
				return
			}
			apiErr := apierror.As(err)
			if apiErr == nil {
				t.Fatalf("CheckNumber(%q) = %v, want an *apierror.Error", test.number, err)
			}
			if apiErr.Message != test.want {
				t.Errorf("message = %q, want %q", apiErr.Message, test.want)
			}
			if apiErr.Code != "invalid_number" || apiErr.Field != "number" || apiErr.Status != 400 {
				t.Errorf("code, field, status = %q, %q, %d, want invalid_number, number, 400", apiErr.Code, apiErr.Field, apiErr.Status)
			}
		})
	}
}
