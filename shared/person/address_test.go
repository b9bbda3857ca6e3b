package person

import (
	"strings"
	"testing"
)

const testMaxAddressRunes = 40

func TestNormaliseAddressValid(t *testing.T) {
	tests := []struct {
		input string
		want  string
	}{
		{"徐汇区漕溪北路100弄3号502室", "徐汇区漕溪北路100弄3号502室"},
		{"徐汇区漕溪北路１００弄３号５０２室", "徐汇区漕溪北路100弄3号502室"},
		{"  浦东新区  张江路１８８号 Ａ座１２０１室\u3000", "浦东新区 张江路188号 A座1201室"},
		{"长宁区\t\n愚园路１号甲", "长宁区 愚园路1号甲"},
		{"黄浦区南京东路１号（近外滩），乙栋", "黄浦区南京东路1号（近外滩），乙栋"},
		{"静安区北京西路１２３支弄＃５", "静安区北京西路123支弄＃5"},
		{"Room 5B, 88 Century Ave", "Room 5B, 88 Century Ave"},
	}
	for _, test := range tests {
		got, err := NormaliseAddress(test.input, testMaxAddressRunes)
		if err != nil {
			t.Errorf("NormaliseAddress(%q) returned error %v", test.input, err)
			continue
		}
		if got != test.want {
			t.Errorf("NormaliseAddress(%q) = %q, want %q", test.input, got, test.want)
		}
	}
}

func TestNormaliseAddressInvalid(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		wantCode string
	}{
		{"empty", "", CodeMissingAddress},
		{"white space only", " \t\u3000\n", CodeMissingAddress},
		{"too long", strings.Repeat("弄", testMaxAddressRunes+1), CodeAddressTooLong},
		{"less than", "徐汇区<script>", CodeAddressCharacters},
		{"greater than", "徐汇区>", CodeAddressCharacters},
		{"ampersand", "A&B大厦", CodeAddressCharacters},
		{"double quote", "\"徐汇区\"", CodeAddressCharacters},
		{"backquote", "徐汇区`", CodeAddressCharacters},
		{"backslash", "徐汇区\\1号", CodeAddressCharacters},
		{"braces", "{{address}}", CodeAddressCharacters},
		{"NUL", "徐汇区\x001号", CodeAddressCharacters},
		{"escape", "徐汇区\x1b[31m", CodeAddressCharacters},
		{"zero width space", "徐汇区\u200b1号", CodeAddressCharacters},
		{"invalid UTF-8", "徐汇区\xff", CodeAddressCharacters},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := NormaliseAddress(test.input, testMaxAddressRunes)
			if err == nil {
				t.Fatalf("NormaliseAddress(%q) = %q, want error %s", test.input, got, test.wantCode)
			}
			if code := errorCode(t, err); code != test.wantCode {
				t.Errorf("NormaliseAddress(%q) code = %s, want %s", test.input, code, test.wantCode)
			}
		})
	}
}

func TestNormaliseAddressLengthLimit(t *testing.T) {
	exact := strings.Repeat("弄", testMaxAddressRunes)
	if _, err := NormaliseAddress(exact, testMaxAddressRunes); err != nil {
		t.Errorf("NormaliseAddress of %d runes returned %v", testMaxAddressRunes, err)
	}

	// Collapsed white space does not count against the limit.
	spaced := "弄    " + strings.Repeat("弄", testMaxAddressRunes-2)
	if _, err := NormaliseAddress(spaced, testMaxAddressRunes); err != nil {
		t.Errorf("NormaliseAddress with collapsed spaces returned %v", err)
	}

	_, err := NormaliseAddress(strings.Repeat("弄", 11), 10)
	if code := errorCode(t, err); code != CodeAddressTooLong {
		t.Errorf("code = %s, want %s", code, CodeAddressTooLong)
	}
	if !strings.Contains(err.Error(), "10") {
		t.Errorf("message %q does not contain the limit 10", err.Error())
	}
}
