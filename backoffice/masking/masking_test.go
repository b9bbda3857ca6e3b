package masking

import (
	"testing"

	"github.com/sh-preschool/preschool/backoffice/access"
)

func TestPolicyMasksByPermission(t *testing.T) {
	masked := For(&access.Staff{Permissions: []string{"enrolment.read"}})
	unmasked := For(&access.Staff{Permissions: []string{"enrolment.read", Permission}})
	cases := []struct {
		name  string
		mask  func(Policy, string) string
		value string
		want  string
	}{
		{"resident ID", Policy.DocumentNumber, "310104201901011234", "310***********1234"},
		{"ID with X", Policy.DocumentNumber, "31010420190101123X", "310***********123X"},
		{"short document", Policy.DocumentNumber, "SH12345", "*****45"},
		{"passport", Policy.DocumentNumber, "E12345678", "E12**5678"},
		{"mobile", Policy.Phone, "13800138000", "138****8000"},
		{"short phone", Policy.Phone, "1234567", "*****67"},
		{"empty", Policy.Phone, "", ""},
		{"name", Policy.Name, "张小明", "张*明"},
	}
	for _, test := range cases {
		if got := test.mask(masked, test.value); got != test.want {
			t.Errorf("%s masked = %q, want %q", test.name, got, test.want)
		}
		if got := test.mask(unmasked, test.value); got != test.value {
			t.Errorf("%s with %s = %q, want it whole", test.name, Permission, got)
		}
	}
	if For(nil).Unmasked {
		t.Error("For(nil) is unmasked")
	}
}
