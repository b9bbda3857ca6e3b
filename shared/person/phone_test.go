package person

import (
	"strings"
	"testing"
)

func TestNormalisePhoneValid(t *testing.T) {
	tests := []struct {
		input string
		want  string
	}{
		{"13812345678", "13812345678"},
		{"19912345678", "19912345678"},
		{"138 1234 5678", "13812345678"},
		{"138-1234-5678", "13812345678"},
		{"(138) 1234 5678", "13812345678"},
		{"１３８１２３４５６７８", "13812345678"},
		{"１３８－１２３４－５６７８", "13812345678"},
		{"+86 138 1234 5678", "13812345678"},
		{"+86-13812345678", "13812345678"},
		{"8613812345678", "13812345678"},
		{"0086 13812345678", "13812345678"},
		{"＋８６１３８１２３４５６７８", "13812345678"},
		{"\u202a+86 138 1234 5678\u202c", "13812345678"},
		{" 13812345678\u3000", "13812345678"},
		{"+852 9123 4567", "+85291234567"},
		{"+853 6612 3456", "+85366123456"},
		{"+886 912 345 678", "+886912345678"},
		{"+886 2 2345 6789", "+886223456789"},
		{"00852 9123 4567", "+85291234567"},
		{"+1 (415) 555-2671", "+14155552671"},
		{"+44 20 7946 0958", "+442079460958"},
		{"+65 6123 4567", "+6561234567"},
		{"+123456789012345", "+123456789012345"},
	}
	for _, test := range tests {
		got, err := NormalisePhone(test.input)
		if err != nil {
			t.Errorf("NormalisePhone(%q) returned error %v", test.input, err)
			continue
		}
		if got != test.want {
			t.Errorf("NormalisePhone(%q) = %q, want %q", test.input, got, test.want)
		}
	}
}

func TestNormalisePhoneInvalid(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		wantCode string
	}{
		{"empty", "", CodeMissingPhone},
		{"separators only", " - ( ) ", CodeMissingPhone},
		{"10 digits", "1381234567", CodeInvalidPhone},
		{"12 digits", "138123456789", CodeInvalidPhone},
		{"second digit 2", "12812345678", CodeInvalidPhone},
		{"starts with 2", "23812345678", CodeInvalidPhone},
		{"Shanghai landline", "021-64871234", CodeInvalidPhone},
		{"+86 landline", "+86 21 6487 1234", CodeInvalidPhone},
		{"+86 short", "+86 138 1234 567", CodeInvalidPhone},
		{"86 with 10 digits", "861381234567", CodeInvalidPhone},
		{"HK without plus", "91234567", CodeInvalidPhone},
		{"HK 7 digits", "+852 9123 456", CodeInvalidPhone},
		{"HK 9 digits", "+852 9123 45678", CodeInvalidPhone},
		{"Macau 9 digits", "+853 6612 34567", CodeInvalidPhone},
		{"Taiwan with trunk zero", "+886 0912 345 678", CodeInvalidPhone},
		{"Taiwan 7 digits", "+886 912 3456", CodeInvalidPhone},
		{"international 7 digits", "+1234567", CodeInvalidPhone},
		{"international 16 digits", "+1234567890123456", CodeInvalidPhone},
		{"country code 0", "+0123456789", CodeInvalidPhone},
		{"plus only", "+", CodeInvalidPhone},
		{"double zero only", "00", CodeInvalidPhone},
		{"double plus", "++8613812345678", CodeInvalidPhone},
		{"plus inside", "138+12345678", CodeInvalidPhone},
		{"letters", "138abcd5678", CodeInvalidPhone},
		{"extension", "13812345678 ext 12", CodeInvalidPhone},
		{"markup", "<13812345678>", CodeInvalidPhone},
		{"Chinese", "手机号", CodeInvalidPhone},
		{"too long", strings.Repeat(" ", 60) + "13812345678", CodeInvalidPhone},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := NormalisePhone(test.input)
			if err == nil {
				t.Fatalf("NormalisePhone(%q) = %q, want error %s", test.input, got, test.wantCode)
			}
			if code := errorCode(t, err); code != test.wantCode {
				t.Errorf("NormalisePhone(%q) code = %s, want %s", test.input, code, test.wantCode)
			}
			if got != "" {
				t.Errorf("NormalisePhone(%q) returned %q with an error", test.input, got)
			}
		})
	}
}

func TestNormalisePhoneIdempotent(t *testing.T) {
	for _, input := range []string{"+86 138 1234 5678", "+852 9123 4567", "00886 912 345 678", "+1 415 555 2671"} {
		once, err := NormalisePhone(input)
		if err != nil {
			t.Fatalf("NormalisePhone(%q) returned %v", input, err)
		}
		twice, err := NormalisePhone(once)
		if err != nil {
			t.Fatalf("NormalisePhone(%q) returned %v", once, err)
		}
		if twice != once {
			t.Errorf("NormalisePhone(%q) = %q, want it unchanged", once, twice)
		}
	}
}
