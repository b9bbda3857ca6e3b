package review

import (
	"testing"

	"github.com/sh-preschool/preschool/shared/apierror"
)

func TestCheckReasonCharacters(t *testing.T) {
	tests := []struct {
		name, reason, code string
	}{
		{"plain", "  材料不全，请补充户口簿首页。 ", ""},
		{"markup", "<img src=x onerror=alert(1)>材料不全", "invalid_reason_characters"},
		{"line break", "第一行\n第二行", "invalid_reason_characters"},
		{"bell", "材料不全\u0007", "invalid_reason_characters"},
		{"line separator", "材料\u2028不全", "invalid_reason_characters"},
		{"too short", "缺", "invalid_reason_length"},
		{"empty", "   ", "reason_required"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := checkReason("reason", test.reason)
			if test.code == "" {
				if err != nil {
					t.Fatalf("checkReason(%q) = %v, want nil", test.reason, err)
				}
				if got != "材料不全，请补充户口簿首页。" {
					t.Errorf("checkReason(%q) = %q, want it trimmed", test.reason, got)
				}
				return
			}
			if apiErr := apierror.As(err); apiErr == nil || apiErr.Code != test.code || apiErr.Field != "reason" {
				t.Errorf("checkReason(%q) error = %v, want %s on reason", test.reason, err, test.code)
			}
		})
	}
}
