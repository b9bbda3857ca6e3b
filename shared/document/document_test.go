package document

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// testToday is 00:30 on 1 June 2025 in Shanghai, which is still 31 May in
// UTC, so the tests also check that Parse compares dates in China Standard
// Time.
var testToday = time.Date(2025, 6, 1, 0, 30, 0, 0, chinaStandardTime)

func date(year int, month time.Month, day int) time.Time {
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
}

// equalDocuments compares with time.Time.Equal, because == on time.Time also
// compares the location pointer.
func equalDocuments(a, b Document) bool {
	return a.Type == b.Type &&
		a.Number == b.Number &&
		a.BirthDate.Equal(b.BirthDate) &&
		a.Sex == b.Sex &&
		a.RegionCode == b.RegionCode &&
		a.Region == b.Region &&
		a.Nationality == b.Nationality
}

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

func TestParseValid(t *testing.T) {
	tests := []struct {
		name        string
		docType     Type
		number      string
		nationality string
		want        Document
	}{
		{
			name:    "GB 11643 example with X",
			docType: ResidentID,
			number:  "11010519491231002X",
			want: Document{Type: ResidentID, Number: "11010519491231002X", BirthDate: date(1949, 12, 31),
				Sex: 'F', RegionCode: "110105", Nationality: "CHN"},
		},
		{
			name:    "Shanghai Xuhui boy",
			docType: ResidentID,
			number:  "310104201903151235",
			want: Document{Type: ResidentID, Number: "310104201903151235", BirthDate: date(2019, 3, 15),
				Sex: 'M', RegionCode: "310104", Nationality: "CHN"},
		},
		{
			name:    "Shenzhen leap day",
			docType: ResidentID,
			number:  "440305202002290052",
			want: Document{Type: ResidentID, Number: "440305202002290052", BirthDate: date(2020, 2, 29),
				Sex: 'M', RegionCode: "440305", Nationality: "CHN"},
		},
		{
			name:    "Xinjiang region 65",
			docType: ResidentID,
			number:  "650102201001010017",
			want: Document{Type: ResidentID, Number: "650102201001010017", BirthDate: date(2010, 1, 1),
				Sex: 'M', RegionCode: "650102", Nationality: "CHN"},
		},
		{
			name:    "lower-case x",
			docType: ResidentID,
			number:  "11010519491231002x",
			want: Document{Type: ResidentID, Number: "11010519491231002X", BirthDate: date(1949, 12, 31),
				Sex: 'F', RegionCode: "110105", Nationality: "CHN"},
		},
		{
			name:    "full-width digits and x",
			docType: ResidentID,
			number:  "１１０１０５１９４９１２３１００２ｘ",
			want: Document{Type: ResidentID, Number: "11010519491231002X", BirthDate: date(1949, 12, 31),
				Sex: 'F', RegionCode: "110105", Nationality: "CHN"},
		},
		{
			name:    "spaces and hyphens",
			docType: ResidentID,
			number:  "  110105-19491231 002X\u3000",
			want: Document{Type: ResidentID, Number: "11010519491231002X", BirthDate: date(1949, 12, 31),
				Sex: 'F', RegionCode: "110105", Nationality: "CHN"},
		},
		{
			name:    "born today in Shanghai, yesterday in UTC",
			docType: ResidentID,
			number:  "310104202506010011",
			want: Document{Type: ResidentID, Number: "310104202506010011", BirthDate: date(2025, 6, 1),
				Sex: 'M', RegionCode: "310104", Nationality: "CHN"},
		},
		{
			name:    "HMT residence permit Hong Kong",
			docType: HMTResidencePermit,
			number:  "810000201507040039",
			want: Document{Type: HMTResidencePermit, Number: "810000201507040039", BirthDate: date(2015, 7, 4),
				Sex: 'M', RegionCode: "810000", Region: "HK", Nationality: "CHN"},
		},
		{
			name:    "HMT residence permit Macau",
			docType: HMTResidencePermit,
			number:  "820000201608050043",
			want: Document{Type: HMTResidencePermit, Number: "820000201608050043", BirthDate: date(2016, 8, 5),
				Sex: 'F', RegionCode: "820000", Region: "MO", Nationality: "CHN"},
		},
		{
			name:    "HMT residence permit Taiwan",
			docType: HMTResidencePermit,
			number:  "830000199912310059",
			want: Document{Type: HMTResidencePermit, Number: "830000199912310059", BirthDate: date(1999, 12, 31),
				Sex: 'M', RegionCode: "830000", Region: "TW", Nationality: "CHN"},
		},
		{
			name:    "HK permit current",
			docType: HKMacauPermit,
			number:  "H12345678",
			want:    Document{Type: HKMacauPermit, Number: "H12345678", Region: "HK", Nationality: "CHN"},
		},
		{
			name:    "Macau permit current",
			docType: HKMacauPermit,
			number:  "M87654321",
			want:    Document{Type: HKMacauPermit, Number: "M87654321", Region: "MO", Nationality: "CHN"},
		},
		{
			name:    "HK permit older lower case with space",
			docType: HKMacauPermit,
			number:  "h 1234567890",
			want:    Document{Type: HKMacauPermit, Number: "H1234567890", Region: "HK", Nationality: "CHN"},
		},
		{
			name:    "Macau permit older",
			docType: HKMacauPermit,
			number:  "M0123456789",
			want:    Document{Type: HKMacauPermit, Number: "M0123456789", Region: "MO", Nationality: "CHN"},
		},
		{
			name:    "Taiwan permit current",
			docType: TaiwanPermit,
			number:  "12345678",
			want:    Document{Type: TaiwanPermit, Number: "12345678", Region: "TW", Nationality: "CHN"},
		},
		{
			name:    "Taiwan permit older",
			docType: TaiwanPermit,
			number:  "1234567890",
			want:    Document{Type: TaiwanPermit, Number: "1234567890", Region: "TW", Nationality: "CHN"},
		},
		{
			name:    "Taiwan permit older with letter",
			docType: TaiwanPermit,
			number:  "1234567890(B)",
			want:    Document{Type: TaiwanPermit, Number: "1234567890(B)", Region: "TW", Nationality: "CHN"},
		},
		{
			name:    "Taiwan permit full-width parentheses",
			docType: TaiwanPermit,
			number:  "1234567890（ｂ）",
			want:    Document{Type: TaiwanPermit, Number: "1234567890(B)", Region: "TW", Nationality: "CHN"},
		},
		{
			name:        "passport",
			docType:     Passport,
			number:      "E12345678",
			nationality: "USA",
			want:        Document{Type: Passport, Number: "E12345678", Nationality: "USA"},
		},
		{
			name:        "passport normalised with lower-case nationality",
			docType:     Passport,
			number:      " tr12-3456 ",
			nationality: " jpn ",
			want:        Document{Type: Passport, Number: "TR123456", Nationality: "JPN"},
		},
		{
			name:        "passport 5 characters",
			docType:     Passport,
			number:      "A1234",
			nationality: "GBR",
			want:        Document{Type: Passport, Number: "A1234", Nationality: "GBR"},
		},
		{
			name:        "passport 17 characters",
			docType:     Passport,
			number:      "ABCDEFGH123456789",
			nationality: "DEU",
			want:        Document{Type: Passport, Number: "ABCDEFGH123456789", Nationality: "DEU"},
		},
		{
			name:    "none without number",
			docType: None,
			number:  "",
			want:    Document{Type: None},
		},
		{
			name:        "none with white space only",
			docType:     None,
			number:      " \u3000 ",
			nationality: "USA",
			want:        Document{Type: None},
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := Parse(test.docType, test.number, test.nationality, testToday)
			if err != nil {
				t.Fatalf("Parse(%q, %q, %q) returned error %v", test.docType, test.number, test.nationality, err)
			}
			if !equalDocuments(got, test.want) {
				t.Errorf("Parse(%q, %q, %q)\n got %+v\nwant %+v", test.docType, test.number, test.nationality, got, test.want)
			}
			if loc := got.BirthDate.Location(); !got.BirthDate.IsZero() && loc != time.UTC {
				t.Errorf("BirthDate location = %v, want UTC", loc)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name        string
		docType     Type
		number      string
		nationality string
		wantCode    string
	}{
		{"unknown type", Type("drivers_license"), "123456", "", CodeUnknownType},
		{"empty type", Type(""), "11010519491231002X", "", CodeUnknownType},
		{"too long before normalisation", ResidentID, strings.Repeat(" ", 47) + "11010519491231002X", "", CodeInvalidNumber},
		{"too long for none", None, strings.Repeat("1", 65), "", CodeInvalidNumber},
		{"missing resident ID", ResidentID, "", "", CodeMissingNumber},
		{"only separators", ResidentID, " - \u3000－", "", CodeMissingNumber},
		{"missing passport", Passport, "", "USA", CodeMissingNumber},
		{"missing HK permit", HKMacauPermit, "  ", "", CodeMissingNumber},
		{"none with number", None, "123", "", CodeNumberNotExpected},

		{"15 digits", ResidentID, "110105491231002", "", CodeResidentID15Digits},
		{"15 full-width digits", ResidentID, "１１０１０５４９１２３１００２", "", CodeResidentID15Digits},
		{"17 digits", ResidentID, "11010519491231002", "", CodeInvalidResidentID},
		{"19 digits", ResidentID, "110105194912310021X", "", CodeInvalidResidentID},
		{"X not last", ResidentID, "1101051949123100X2", "", CodeInvalidResidentID},
		{"letter other than X", ResidentID, "11010519491231002Y", "", CodeInvalidResidentID},
		{"15 characters with letter", ResidentID, "11010549123100X", "", CodeInvalidResidentID},
		{"Chinese characters", ResidentID, "身份证号码", "", CodeInvalidResidentID},

		{"region 71 Taiwan", ResidentID, "710000201001010015", "", CodeResidentIDRegion},
		{"region 81 HMT permit", ResidentID, "810000201001010019", "", CodeResidentIDRegion},
		{"region 83 HMT permit", ResidentID, "830000201001010012", "", CodeResidentIDRegion},
		{"region 91", ResidentID, "910000201001010012", "", CodeResidentIDRegion},
		{"region 00", ResidentID, "000000200001010013", "", CodeResidentIDRegion},
		{"region 99", ResidentID, "990000200001010012", "", CodeResidentIDRegion},

		{"not a leap year", ResidentID, "440305201902290053", "", CodeResidentIDBirthDate},
		{"month 13", ResidentID, "310104201913010014", "", CodeResidentIDBirthDate},
		{"day 00", ResidentID, "310104201901000011", "", CodeResidentIDBirthDate},
		{"year 1899", ResidentID, "310104189912310016", "", CodeResidentIDBirthDate},
		{"year 1880 GB 11643 example", ResidentID, "440524188001010014", "", CodeResidentIDBirthDate},
		{"tomorrow in Shanghai", ResidentID, "310104202506020017", "", CodeResidentIDBirthDate},

		{"wrong check digit", ResidentID, "310104201903151234", "", CodeResidentIDChecksum},
		{"wrong check X", ResidentID, "11010519491231003X", "", CodeResidentIDChecksum},
		{"transposed digits", ResidentID, "310104201903151325", "", CodeResidentIDChecksum},

		{"HMT region 84", HMTResidencePermit, "840000199912310050", "", CodeHMTPermitRegion},
		{"HMT resident ID region", HMTResidencePermit, "11010519491231002X", "", CodeHMTPermitRegion},
		{"HMT 810001", HMTResidencePermit, "810001201507040039", "", CodeHMTPermitRegion},
		{"HMT 17 digits", HMTResidencePermit, "81000020150704003", "", CodeInvalidHMTPermit},
		{"HMT 15 digits", HMTResidencePermit, "810000150704003", "", CodeInvalidHMTPermit},
		{"HMT 31 February", HMTResidencePermit, "810000201502310036", "", CodeHMTPermitBirthDate},
		{"HMT wrong check digit", HMTResidencePermit, "810000201507040038", "", CodeHMTPermitChecksum},

		{"HK permit 7 digits", HKMacauPermit, "H1234567", "", CodeInvalidHKMacau},
		{"HK permit 9 digits", HKMacauPermit, "H123456789", "", CodeInvalidHKMacau},
		{"HK permit 11 digits", HKMacauPermit, "H12345678901", "", CodeInvalidHKMacau},
		{"HK permit wrong letter", HKMacauPermit, "X12345678", "", CodeInvalidHKMacau},
		{"HK permit no letter", HKMacauPermit, "123456789", "", CodeInvalidHKMacau},
		{"HK permit two letters", HKMacauPermit, "HM1234567", "", CodeInvalidHKMacau},
		{"HK permit letter inside", HKMacauPermit, "H1234A678", "", CodeInvalidHKMacau},

		{"Taiwan permit 7 digits", TaiwanPermit, "1234567", "", CodeInvalidTaiwan},
		{"Taiwan permit 9 digits", TaiwanPermit, "123456789", "", CodeInvalidTaiwan},
		{"Taiwan permit letter without parentheses", TaiwanPermit, "1234567890B", "", CodeInvalidTaiwan},
		{"Taiwan permit digit in parentheses", TaiwanPermit, "1234567890(1)", "", CodeInvalidTaiwan},
		{"Taiwan permit two letters", TaiwanPermit, "1234567890(AB)", "", CodeInvalidTaiwan},
		{"Taiwan permit 8 digits with letter", TaiwanPermit, "12345678(B)", "", CodeInvalidTaiwan},
		{"Taiwan permit open parenthesis", TaiwanPermit, "1234567890(B", "", CodeInvalidTaiwan},
		{"Taiwan permit with T prefix", TaiwanPermit, "T12345678", "", CodeInvalidTaiwan},

		{"passport 4 characters", Passport, "A123", "USA", CodeInvalidPassport},
		{"passport 18 characters", Passport, "ABCDEFGH1234567890", "USA", CodeInvalidPassport},
		{"passport symbol", Passport, "E1234567!", "USA", CodeInvalidPassport},
		{"passport parentheses", Passport, "E1234(5)", "USA", CodeInvalidPassport},
		{"passport Cyrillic", Passport, "ПА123456", "RUS", CodeInvalidPassport},
		{"passport missing nationality", Passport, "E12345678", "", CodeInvalidNationality},
		{"passport blank nationality", Passport, "E12345678", "   ", CodeInvalidNationality},
		{"nationality two letters", Passport, "E12345678", "US", CodeInvalidNationality},
		{"nationality four letters", Passport, "E12345678", "USAA", CodeInvalidNationality},
		{"nationality digit", Passport, "E12345678", "U5A", CodeInvalidNationality},
		{"nationality Chinese", Passport, "E12345678", "美国", CodeInvalidNationality},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := Parse(test.docType, test.number, test.nationality, testToday)
			if err == nil {
				t.Fatalf("Parse(%q, %q, %q) = %+v, want error %s", test.docType, test.number, test.nationality, got, test.wantCode)
			}
			if code := errorCode(t, err); code != test.wantCode {
				t.Errorf("Parse(%q, %q, %q) code = %s, want %s (message %v)", test.docType, test.number, test.nationality, code, test.wantCode, err)
			}
			if !equalDocuments(got, Document{}) {
				t.Errorf("Parse returned document %+v with an error, want zero Document", got)
			}
		})
	}
}

func TestParseNumberAtByteLimit(t *testing.T) {
	number := strings.Repeat(" ", MaxNumberBytes-18) + "11010519491231002X"
	if _, err := Parse(ResidentID, number, "", testToday); err != nil {
		t.Errorf("Parse of a %d-byte number returned %v, want success", len(number), err)
	}
}

func TestParseResidentIDHMTRegionMessage(t *testing.T) {
	_, err := Parse(ResidentID, "810000201001010019", "", testToday)
	if err == nil {
		t.Fatal("Parse accepted a resident ID with region 81")
	}
	if !strings.Contains(err.Error(), "港澳台居民居住证") {
		t.Errorf("message %q does not point to the HMT residence permit type", err.Error())
	}
}

func TestParseErrorsAreIndependent(t *testing.T) {
	_, first := Parse(ResidentID, "", "", testToday)
	_, second := Parse(ResidentID, "", "", testToday)
	apierror.As(first).Field = "child.document.number"
	if field := apierror.As(second).Field; field != "" {
		t.Errorf("changing one error changed another: field = %q", field)
	}
}

func TestParseZeroToday(t *testing.T) {
	// A caller that forgets to pass the time gets a rejection, never a panic.
	_, err := Parse(ResidentID, "11010519491231002X", "", time.Time{})
	if code := errorCode(t, err); code != CodeResidentIDBirthDate {
		t.Errorf("code = %s, want %s", code, CodeResidentIDBirthDate)
	}
}

func TestParseType(t *testing.T) {
	for _, want := range []Type{ResidentID, HKMacauPermit, TaiwanPermit, HMTResidencePermit, Passport, None} {
		got, err := ParseType(" " + string(want) + " ")
		if err != nil {
			t.Errorf("ParseType(%q) returned error %v", want, err)
		}
		if got != want {
			t.Errorf("ParseType(%q) = %q", want, got)
		}
	}
	for _, input := range []string{"", "RESIDENT_ID", "id_card", "resident id", "passport\x00"} {
		_, err := ParseType(input)
		if err == nil {
			t.Errorf("ParseType(%q) returned no error", input)
			continue
		}
		if code := errorCode(t, err); code != CodeUnknownType {
			t.Errorf("ParseType(%q) code = %s, want %s", input, code, CodeUnknownType)
		}
	}
}

func TestTypeLabel(t *testing.T) {
	tests := map[Type]string{
		ResidentID:         "居民身份证",
		HKMacauPermit:      "港澳居民来往内地通行证",
		TaiwanPermit:       "台湾居民来往大陆通行证",
		HMTResidencePermit: "港澳台居民居住证",
		Passport:           "护照",
		None:               "无证件",
		Type("other"):      "",
	}
	for docType, want := range tests {
		if got := docType.Label(); got != want {
			t.Errorf("Type(%q).Label() = %q, want %q", docType, got, want)
		}
	}
}

// TestIndexValue checks that passports of two countries with one number
// index apart, and that the other types keep "type:number", the value
// indexes stored before passports named their country.
func TestIndexValue(t *testing.T) {
	japanese := Document{Type: Passport, Number: "TK1234567", Nationality: "JPN"}
	korean := Document{Type: Passport, Number: "TK1234567", Nationality: "KOR"}
	if string(japanese.IndexValue()) == string(korean.IndexValue()) {
		t.Errorf("passports of JPN and KOR with one number share the index value %q", japanese.IndexValue())
	}
	resident := Document{Type: ResidentID, Number: "310104202301010011", Nationality: "CHN"}
	if got := string(resident.IndexValue()); got != "resident_id:310104202301010011" {
		t.Errorf("resident ID index value = %q, want resident_id:310104202301010011", got)
	}
	permit := Document{Type: HKMacauPermit, Number: "H12345678", Nationality: "CHN"}
	if got := string(permit.IndexValue()); got != string(HKMacauPermit)+":H12345678" {
		t.Errorf("permit index value = %q, want %s:H12345678", got, HKMacauPermit)
	}
}
