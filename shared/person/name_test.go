package person

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// errorCode returns the code of err, failing the test unless err is a 400
// *apierror.Error with a message and no field.
func errorCode(t *testing.T, err error) string {
	t.Helper()
	var apiErr *apierror.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) is not an *apierror.Error", err, err)
	}
	if apiErr.Status != http.StatusBadRequest {
		t.Errorf("status = %d, want %d", apiErr.Status, http.StatusBadRequest)
	}
	if apiErr.Field != "" {
		t.Errorf("field = %q, want empty so that the caller sets it", apiErr.Field)
	}
	if apiErr.Message == "" {
		t.Errorf("code %s has an empty message", apiErr.Code)
	}
	return apiErr.Code
}

const testMaxNameRunes = 30

func TestParseNameValid(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  Name
	}{
		{"two characters", "张三", Name{"张三", ScriptHan}},
		{"compound surname", "欧阳娜娜", Name{"欧阳娜娜", ScriptHan}},
		{"surrounding white space", " \u3000王小明\t\n", Name{"王小明", ScriptHan}},
		{"minority name", "阿依古丽·买买提", Name{"阿依古丽·买买提", ScriptHan}},
		{"minority name with bullet", "阿依古丽•买买提", Name{"阿依古丽·买买提", ScriptHan}},
		{"minority name with katakana dot", "阿依古丽・买买提", Name{"阿依古丽·买买提", ScriptHan}},
		{"minority name with half-width katakana dot", "阿依古丽･买买提", Name{"阿依古丽·买买提", ScriptHan}},
		{"minority name with hyphenation point", "阿依古丽‧买买提", Name{"阿依古丽·买买提", ScriptHan}},
		{"minority name with bullet operator", "阿依古丽∙买买提", Name{"阿依古丽·买买提", ScriptHan}},
		{"minority name with dot operator", "阿依古丽⋅买买提", Name{"阿依古丽·买买提", ScriptHan}},
		{"three parts", "买买提·艾力·阿不都", Name{"买买提·艾力·阿不都", ScriptHan}},
		{"Extension B character", "王𠀀", Name{"王𠀀", ScriptHan}},
		{"Extension B zhe with surname", "李𪚥", Name{"李𪚥", ScriptHan}},
		{"Extension B zhe doubled", "𪚥𪚥", Name{"𪚥𪚥", ScriptHan}},
		{"Extension A character", "张㐀", Name{"张㐀", ScriptHan}},
		{"ideographic zero", "王〇", Name{"王〇", ScriptHan}},
		{"Latin with apostrophe", "Anna-Maria O’Neil", Name{"Anna-Maria O'Neil", ScriptLatin}},
		{"Latin spaces collapsed", "Jean  Dupont", Name{"Jean Dupont", ScriptLatin}},
		{"Latin ideographic space collapsed", "Jean \u3000 Dupont", Name{"Jean Dupont", ScriptLatin}},
		{"Latin accents", "José Müller-Lüdenscheidt", Name{"José Müller-Lüdenscheidt", ScriptLatin}},
		{"Latin decomposed accent", "Jose\u0301", Name{"José", ScriptLatin}},
		{"Vietnamese two marks", "Nguye\u0323\u0302n", Name{"Nguyện", ScriptLatin}},
		{"two marks after composition", "Ane\u0301\u0301\u0301", Name{"An\u00e9\u0301\u0301", ScriptLatin}},
		{"Latin initials", "J. R. Smith", Name{"J. R. Smith", ScriptLatin}},
		{"Latin full-width letters", "Ａｎｎａ", Name{"Anna", ScriptLatin}},
		{"Latin two letters", "Al", Name{"Al", ScriptLatin}},
		{"Latin leading apostrophe", "'t Hooft", Name{"'t Hooft", ScriptLatin}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := ParseName(test.input, testMaxNameRunes)
			if err != nil {
				t.Fatalf("ParseName(%q) returned error %v", test.input, err)
			}
			if got != test.want {
				t.Errorf("ParseName(%q) = %+v, want %+v", test.input, got, test.want)
			}
		})
	}
}

func TestParseNameInvalid(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		wantCode string
	}{
		{"empty", "", CodeMissingName},
		{"white space only", " \u3000\t ", CodeMissingName},
		{"one Han character", "张", CodeNameTooShort},
		{"one Extension B character", "𪚥", CodeNameTooShort},
		{"one Latin letter", "A", CodeNameTooShort},
		{"too long Han", strings.Repeat("张", testMaxNameRunes+1), CodeNameTooLong},
		{"too long Latin", strings.Repeat("Ab ", 10) + "X", CodeNameTooLong},
		{"mixed", "张Anna", CodeNameMixedScript},
		{"mixed with space", "Anna 张", CodeNameMixedScript},
		{"mixed with full-width letter", "张Ａ", CodeNameMixedScript},
		{"script tag", "<script>", CodeNameMarkup},
		{"script tag in Han name", "张三<script>alert(1)</script>", CodeNameMarkup},
		{"ampersand", "Tom & Jerry", CodeNameMarkup},
		{"double quote", "Anna \"Nan\"", CodeNameMarkup},
		{"backquote", "Anna`", CodeNameMarkup},
		{"backslash", "张\\三", CodeNameMarkup},
		{"braces", "{{name}}", CodeNameMarkup},
		{"semicolon", "Anna; DROP", CodeNameMarkup},
		{"tab inside", "Jean\tDupont", CodeNameMarkup},
		{"newline inside", "张\n三", CodeNameMarkup},
		{"NUL", "张\x00三", CodeNameMarkup},
		{"zero width joiner", "张\u200d三", CodeNameMarkup},
		{"right-to-left override", "Anna\u202eX", CodeNameMarkup},
		{"digits in Han name", "张三1", CodeNameCharacters},
		{"digits in Latin name", "Anna2", CodeNameCharacters},
		{"full-width digit", "张三２", CodeNameCharacters},
		{"circled digit", "张①", CodeNameCharacters},
		{"invalid UTF-8", "张\xff三", CodeNameCharacters},
		{"emoji", "张三😀", CodeNameCharacters},
		{"Cyrillic", "Анна", CodeNameCharacters},
		{"hiragana", "山田はな", CodeNameCharacters},
		{"Kangxi radical", "⼀⼆", CodeNameCharacters},
		{"at sign", "anna@example", CodeNameCharacters},
		{"space in Han name", "张 三", CodeNameCharacters},
		{"ideographic space in Han name", "张\u3000三", CodeNameCharacters},
		{"hyphen in Han name", "张-三", CodeNameCharacters},
		{"middle dot in Latin name", "Jean·Dupont", CodeNameCharacters},
		{"dots only", "··", CodeNameCharacters},
		{"punctuation only", "-'.", CodeNameCharacters},
		{"combining mark without letter", "\u0301\u0301", CodeNameCharacters},
		{"combining mark after Han", "张\u0301三", CodeNameCharacters},
		{"three marks after composition", "Ane\u0301\u0301\u0301\u0301", CodeNameCharacters},
		{"three marks left by composition", "\u01dc\u0334\u0324", CodeNameCharacters},
		{"leading middle dot", "·阿依古丽", CodeNameMiddleDot},
		{"trailing middle dot", "阿依古丽·", CodeNameMiddleDot},
		{"double middle dot", "阿依古丽··买买提", CodeNameMiddleDot},
		{"double look-alike dot", "阿依古丽•・买买提", CodeNameMiddleDot},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := ParseName(test.input, testMaxNameRunes)
			if err == nil {
				t.Fatalf("ParseName(%q) = %+v, want error %s", test.input, got, test.wantCode)
			}
			if code := errorCode(t, err); code != test.wantCode {
				t.Errorf("ParseName(%q) code = %s, want %s (%v)", test.input, code, test.wantCode, err)
			}
			if got != (Name{}) {
				t.Errorf("ParseName(%q) returned %+v with an error, want zero Name", test.input, got)
			}
		})
	}
}

func TestParseNameLengthLimit(t *testing.T) {
	exact := strings.Repeat("𪚥", 4)
	if _, err := ParseName(exact, 4); err != nil {
		t.Errorf("ParseName of 4 runes with limit 4 returned %v", err)
	}

	_, err := ParseName(strings.Repeat("𪚥", 5), 4)
	if code := errorCode(t, err); code != CodeNameTooLong {
		t.Errorf("code = %s, want %s", code, CodeNameTooLong)
	}
	if !strings.Contains(err.Error(), "4") {
		t.Errorf("message %q does not contain the limit 4", err.Error())
	}

	// Collapsed spaces do not count against the limit.
	if _, err := ParseName("Ab      Cd", 5); err != nil {
		t.Errorf("ParseName with collapsed spaces returned %v", err)
	}
}

func TestParseNameNonPositiveLimit(t *testing.T) {
	for _, limit := range []int{0, -1} {
		_, err := ParseName("张三", limit)
		if code := errorCode(t, err); code != CodeNameTooLong {
			t.Errorf("limit %d: code = %s, want %s", limit, code, CodeNameTooLong)
		}
	}
}

func TestParseNameMarkupMessage(t *testing.T) {
	_, err := ParseName("<b>张三</b>", testMaxNameRunes)
	if err == nil {
		t.Fatal("ParseName accepted markup")
	}
	if !strings.Contains(err.Error(), "< >") {
		t.Errorf("message %q does not name the rejected symbols", err.Error())
	}
}

func TestParseNameNoAllocationWhenNormalised(t *testing.T) {
	allocations := testing.AllocsPerRun(100, func() {
		if _, err := ParseName("阿依古丽·买买提", testMaxNameRunes); err != nil {
			t.Fatal(err)
		}
	})
	if allocations != 0 {
		t.Errorf("ParseName of a normalised name made %v allocations, want 0", allocations)
	}
}

func BenchmarkParseName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseName("欧阳娜娜", testMaxNameRunes); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseNameNormalised(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseName(" Anna-Maria  O’Neil ", testMaxNameRunes); err != nil {
			b.Fatal(err)
		}
	}
}
