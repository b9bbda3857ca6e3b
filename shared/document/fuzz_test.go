package document

import (
	"errors"
	"net/http"
	"testing"
	"unicode/utf8"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// FuzzParse checks that Parse never panics, returns only *apierror.Error
// failures, and returns documents that parse again to the same document.
// The seed corpus is in testdata/fuzz/FuzzParse as well as the f.Add calls.
func FuzzParse(f *testing.F) {
	f.Add("resident_id", "11010519491231002X", "")
	f.Add("resident_id", "１１０１０５１９４９１２３１００２ｘ", "")
	f.Add("resident_id", "110105491231002", "")
	f.Add("resident_id", "440305201902290053", "")
	f.Add("hmt_residence_permit", "810000201507040039", "")
	f.Add("hk_macau_permit", "h 1234567890", "")
	f.Add("taiwan_permit", "1234567890（ｂ）", "")
	f.Add("passport", "E12345678", "usa")
	f.Add("none", "", "")
	f.Add("none", "\xff", "")

	f.Fuzz(func(t *testing.T, docType, number, nationality string) {
		doc, err := Parse(Type(docType), number, nationality, testToday)
		if err != nil {
			checkFuzzError(t, err)
			if !equalDocuments(doc, Document{}) {
				t.Fatalf("Parse returned document %+v with error %v", doc, err)
			}
			return
		}

		if doc.Type != Type(docType) {
			t.Fatalf("Type = %q, want %q", doc.Type, docType)
		}
		if NormaliseNumber(doc.Number) != doc.Number {
			t.Fatalf("Number %q is not normalised", doc.Number)
		}
		for i := 0; i < len(doc.Number); i++ {
			if doc.Number[i] >= utf8.RuneSelf {
				t.Fatalf("Number %q contains non-ASCII bytes", doc.Number)
			}
		}

		again, err := Parse(doc.Type, doc.Number, doc.Nationality, testToday)
		if err != nil {
			t.Fatalf("Parse of its own result %+v returned error %v", doc, err)
		}
		if !equalDocuments(again, doc) {
			t.Fatalf("Parse of its own result changed it\nfirst  %+v\nsecond %+v", doc, again)
		}

		if doc.Type == ResidentID || doc.Type == HMTResidencePermit {
			if len(doc.Number) != 18 {
				t.Fatalf("18-digit number %q has length %d", doc.Number, len(doc.Number))
			}
			if check := CheckDigit(doc.Number[:17]); check != doc.Number[17] {
				t.Fatalf("CheckDigit(%q) = %q, but the number ends in %q", doc.Number[:17], check, doc.Number[17])
			}
			if doc.Sex != 'M' && doc.Sex != 'F' {
				t.Fatalf("Sex = %d, want 'M' or 'F'", doc.Sex)
			}
			if doc.BirthDate.Year() < minBirthYear || doc.BirthDate.After(testToday) {
				t.Fatalf("BirthDate %s is out of range", doc.BirthDate)
			}
		}
	})
}

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

// FuzzNormaliseNumber checks that normalising twice changes nothing.
func FuzzNormaliseNumber(f *testing.F) {
	f.Add("１１０１０５ １９４９-１２３１ ００２ｘ")
	f.Add("\xff\xfe－ａ")
	f.Fuzz(func(t *testing.T, s string) {
		once := NormaliseNumber(s)
		if twice := NormaliseNumber(once); twice != once {
			t.Fatalf("NormaliseNumber(%q) = %q, but normalising that gives %q", s, once, twice)
		}
		if !utf8.ValidString(once) {
			t.Fatalf("NormaliseNumber(%q) = %q is not valid UTF-8", s, once)
		}
	})
}
