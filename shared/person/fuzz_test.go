package person

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sh-preschool/preschool/shared/apierror"
)

func checkFuzzError(t *testing.T, err error) {
	t.Helper()
	var apiErr *apierror.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) is not an *apierror.Error", err, err)
	}
	if apiErr.Status != http.StatusBadRequest || apiErr.Code == "" || apiErr.Message == "" {
		t.Fatalf("incomplete error %+v", apiErr)
	}
}

// FuzzParseName checks that ParseName never panics, and that every name it
// accepts is valid UTF-8 without rejected characters and parses again to
// itself. The seed corpus is in testdata/fuzz/FuzzParseName as well as the
// f.Add calls.
func FuzzParseName(f *testing.F) {
	f.Add("张三", 30)
	f.Add("阿依古丽•买买提", 30)
	f.Add("王𠀀", 30)
	f.Add("Anna-Maria O’Neil", 30)
	f.Add("Jean  Dupont", 30)
	f.Add("Nguye\u0323\u0302n", 30)
	f.Add("张Anna", 30)
	f.Add("<script>", 30)
	f.Add("张\xff三", 2)
	f.Add("𪚥𪚥", 0)

	f.Fuzz(func(t *testing.T, s string, maxRunes int) {
		name, err := ParseName(s, maxRunes)
		if err != nil {
			checkFuzzError(t, err)
			if name != (Name{}) {
				t.Fatalf("ParseName(%q) returned %+v with error %v", s, name, err)
			}
			return
		}

		text := name.Text
		if !utf8.ValidString(text) {
			t.Fatalf("ParseName(%q) = %q is not valid UTF-8", s, text)
		}
		if length := utf8.RuneCountInString(text); length < minNameRunes || length > maxRunes {
			t.Fatalf("ParseName(%q, %d) = %q has %d runes", s, maxRunes, text, length)
		}
		if strings.TrimSpace(text) != text || strings.Contains(text, "  ") {
			t.Fatalf("ParseName(%q) = %q has surrounding or repeated spaces", s, text)
		}
		for _, r := range text {
			if strings.ContainsRune("<>&\"`\\{};", r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("ParseName(%q) = %q contains rejected character %U", s, text, r)
			}
			if unicode.IsNumber(r) && r != '〇' {
				t.Fatalf("ParseName(%q) = %q contains number %U", s, text, r)
			}
			switch name.Script {
			case ScriptHan:
				if !isHanLetter(r) && r != middleDot {
					t.Fatalf("Han name %q contains %U", text, r)
				}
			case ScriptLatin:
				if unicode.Is(unicode.Han, r) || r == middleDot {
					t.Fatalf("Latin name %q contains %U", text, r)
				}
			default:
				t.Fatalf("ParseName(%q) returned script %q", s, name.Script)
			}
		}
		if name.Script == ScriptHan {
			if strings.HasPrefix(text, "·") || strings.HasSuffix(text, "·") || strings.Contains(text, "··") {
				t.Fatalf("Han name %q has a misplaced middle dot", text)
			}
		}

		again, err := ParseName(text, maxRunes)
		if err != nil {
			t.Fatalf("ParseName of its own result %q returned %v", text, err)
		}
		if again != name {
			t.Fatalf("ParseName of its own result changed it: %+v, then %+v", name, again)
		}
	})
}

// FuzzNormalisePhone checks that NormalisePhone never panics and that its
// results normalise to themselves.
func FuzzNormalisePhone(f *testing.F) {
	f.Add("+86 138 1234 5678")
	f.Add("00852 9123 4567")
	f.Add("\u202a＋８８６ ９１２ ３４５ ６７８\u202c")
	f.Fuzz(func(t *testing.T, s string) {
		phone, err := NormalisePhone(s)
		if err != nil {
			checkFuzzError(t, err)
			return
		}
		if !isMainlandMobile(phone) && !(strings.HasPrefix(phone, "+") && isASCIIDigits(phone[1:])) {
			t.Fatalf("NormalisePhone(%q) = %q is neither a mainland mobile nor +digits", s, phone)
		}
		again, err := NormalisePhone(phone)
		if err != nil || again != phone {
			t.Fatalf("NormalisePhone(%q) = %q, %v, want it unchanged", phone, again, err)
		}
	})
}

// FuzzNormaliseAddress checks that NormaliseAddress never panics, and that
// its results contain no rejected characters and normalise to themselves.
func FuzzNormaliseAddress(f *testing.F) {
	f.Add("徐汇区漕溪北路１００弄３号５０２室", 100)
	f.Add(" 长宁区\t\n愚园路１号甲 ", 10)
	f.Add("徐汇区<script>", 100)
	f.Fuzz(func(t *testing.T, s string, maxRunes int) {
		address, err := NormaliseAddress(s, maxRunes)
		if err != nil {
			checkFuzzError(t, err)
			return
		}
		if !utf8.ValidString(address) || utf8.RuneCountInString(address) > maxRunes {
			t.Fatalf("NormaliseAddress(%q, %d) = %q is invalid or too long", s, maxRunes, address)
		}
		for _, r := range address {
			if strings.ContainsRune("<>&\"`\\{}", r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || isFullWidthAlphanumeric(r) {
				t.Fatalf("NormaliseAddress(%q) = %q contains %U", s, address, r)
			}
		}
		again, err := NormaliseAddress(address, maxRunes)
		if err != nil || again != address {
			t.Fatalf("NormaliseAddress(%q) = %q, %v, want it unchanged", address, again, err)
		}
	})
}
