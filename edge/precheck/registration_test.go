package precheck_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/document"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

func TestMain(m *testing.M) { os.Exit(edgetest.Run(m)) }

// birthDay returns the date (YYYY-MM-DD) moved by days.
func birthDay(t *testing.T, date string, days int) time.Time {
	t.Helper()
	parsed, err := time.Parse(time.DateOnly, date)
	if err != nil {
		t.Fatalf("parse %q: %v", date, err)
	}
	return parsed.AddDate(0, 0, days)
}

// withChildDocument replaces the child's document. The caller keeps the
// birth date and sex consistent with a number that encodes them.
func withChildDocument(request *precheck.RegistrationRequest, documentType, number, nationality string) {
	request.Child.Document = precheck.DocumentRequest{Type: documentType, Number: number, Nationality: nationality}
}

// notInShanghai moves the child's hukou out of Shanghai, which every
// document other than a resident ID requires.
func notInShanghai(request *precheck.RegistrationRequest) {
	request.Child.Hukou = precheck.HukouRequest{}
	request.Residence.AtHukouAddress = false
}

func TestCheckRegistrationBaseline(t *testing.T) {
	f := edgetest.Shared(t)
	request := f.Registration(t)

	got, err := precheck.CheckRegistration(request, f.Catalogue, time.Now())
	if err != nil {
		t.Fatalf("CheckRegistration returned %v", err)
	}

	if got.Year != f.Year.Year {
		t.Errorf("Year = %d, want %d", got.Year, f.Year.Year)
	}
	if got.Child.Name.Text != "张小明" {
		t.Errorf("child name = %q, want 张小明", got.Child.Name.Text)
	}
	if got.Child.Document.Number != request.Child.Document.Number {
		t.Errorf("document number = %q, want %q", got.Child.Document.Number, request.Child.Document.Number)
	}
	if got.Child.BirthDate != request.Child.BirthDate {
		t.Errorf("birth date = %q, want %q", got.Child.BirthDate, request.Child.BirthDate)
	}
	if got.SchemaVersion != 1 {
		t.Errorf("SchemaVersion = %d, want 1", got.SchemaVersion)
	}
	if len(got.Guardians) != 1 {
		t.Fatalf("got %d guardians, want 1", len(got.Guardians))
	}
	if got.Guardians[0].Phone != "13900000000" {
		t.Errorf("guardian phone = %q, want 13900000000", got.Guardians[0].Phone)
	}
	wantFacts := enrolment.HouseholdFacts{
		ChildDocumentType: "resident_id",
		HukouInShanghai:   true,
		HukouDistrict:     edgetest.HomeDistrict,
		ResidenceDistrict: edgetest.HomeDistrict,
		HukouAtResidence:  true,
		// The mother's own hukou does not matter for a Shanghai child, but
		// it is recorded.
		GuardianShanghaiHukou: true,
	}
	if diff := cmp.Diff(wantFacts, got.Facts); diff != "" {
		t.Errorf("Facts differ (-want +got):\n%s", diff)
	}
}

// TestCheckRegistrationUnusualInput covers input that is valid although
// rare: each must be accepted and normalised.
func TestCheckRegistrationUnusualInput(t *testing.T) {
	f := edgetest.Shared(t)

	tests := []struct {
		name  string
		edit  func(t *testing.T, request *precheck.RegistrationRequest)
		check func(t *testing.T, got *precheck.Registration)
	}{
		{
			name: "CJK Extension B name",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Name = "王𠮷𡈽" },
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Child.Name.Text != "王𠮷𡈽" {
					t.Errorf("name = %q, want 王𠮷𡈽", got.Child.Name.Text)
				}
			},
		},
		{
			name: "ethnic minority middle dot",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Name = "阿依古丽·买买提" },
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Child.Name.Text != "阿依古丽·买买提" {
					t.Errorf("name = %q, want 阿依古丽·买买提", got.Child.Name.Text)
				}
			},
		},
		{
			name: "bullet normalised to middle dot",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Name = "阿依古丽•买买提" },
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Child.Name.Text != "阿依古丽·买买提" {
					t.Errorf("name = %q, want 阿依古丽·买买提 with U+00B7", got.Child.Name.Text)
				}
			},
		},
		{
			name: "guardian name with bullet",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) { r.Guardians[0].Name = "热依拉•阿不都" },
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Guardians[0].Name != "热依拉·阿不都" {
					t.Errorf("guardian name = %q, want 热依拉·阿不都 with U+00B7", got.Guardians[0].Name)
				}
			},
		},
		{
			name: "full-width digits in resident ID",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Child.Document.Number = toFullWidth(r.Child.Document.Number)
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if strings.ContainsFunc(got.Child.Document.Number, func(r rune) bool { return r > 0x7F }) {
					t.Errorf("document number %q is not half-width", got.Child.Document.Number)
				}
			},
		},
		{
			name: "full-width birth date",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Child.BirthDate = "　" + toFullWidth(r.Child.BirthDate)
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if want := f.Registration(t).Child.BirthDate; got.Child.BirthDate != want {
					t.Errorf("birth date = %q, want %q", got.Child.BirthDate, want)
				}
			},
		},
		{
			name: "spaces in resident ID",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				number := r.Child.Document.Number
				r.Child.Document.Number = " " + number[:6] + " " + number[6:14] + " " + number[14:] + " "
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if len(got.Child.Document.Number) != 18 {
					t.Errorf("document number %q is not the 18 digits", got.Child.Document.Number)
				}
			},
		},
		{
			name: "foreign child with Latin name and passport",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Child.Name = "Emily O’Brien-Smith"
				withChildDocument(r, "passport", "E12345678", "usa")
				notInShanghai(r)
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Child.Name.Text != "Emily O'Brien-Smith" {
					t.Errorf("name = %q, want Emily O'Brien-Smith", got.Child.Name.Text)
				}
				if got.Child.Document.Nationality != "USA" {
					t.Errorf("nationality = %q, want USA", got.Child.Document.Nationality)
				}
			},
		},
		{
			name: "accented Latin name",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Child.Name = "Zoë Müller"
				withChildDocument(r, "passport", "C01X00T47", "DEU")
				notInShanghai(r)
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Child.Name.Text != "Zoë Müller" {
					t.Errorf("name = %q, want Zoë Müller", got.Child.Name.Text)
				}
			},
		},
		{
			name: "Hong Kong permit",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				withChildDocument(r, "hk_macau_permit", "h12345678", "")
				notInShanghai(r)
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Child.Document.Number != "H12345678" || got.Child.Document.Region != "HK" {
					t.Errorf("document = %+v, want H12345678 of HK", got.Child.Document)
				}
			},
		},
		{
			name: "Macau permit older",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				withChildDocument(r, "hk_macau_permit", "M0123456789", "")
				notInShanghai(r)
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Child.Document.Region != "MO" {
					t.Errorf("region = %q, want MO", got.Child.Document.Region)
				}
			},
		},
		{
			name: "Taiwan permit",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				withChildDocument(r, "taiwan_permit", "1234567890（ｂ）", "")
				notInShanghai(r)
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Child.Document.Number != "1234567890(B)" {
					t.Errorf("number = %q, want 1234567890(B)", got.Child.Document.Number)
				}
			},
		},
		{
			name: "HMT residence permit",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				birth := birthDay(t, r.Child.BirthDate, 0)
				withChildDocument(r, "hmt_residence_permit", document.ValidResidentIDForTest("820000", birth, 3, 'M'), "")
				notInShanghai(r)
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Child.Document.Region != "MO" {
					t.Errorf("region = %q, want MO", got.Child.Document.Region)
				}
			},
		},
		{
			name: "child without document",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				withChildDocument(r, "none", "", "")
				notInShanghai(r)
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Child.Document.Type != document.None || got.Child.Document.Number != "" {
					t.Errorf("document = %+v, want none without number", got.Child.Document)
				}
			},
		},
		{
			name: "birth on first day of window",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				birth := birthDay(t, f.Year.BirthFrom, 0)
				r.Child.Document.Number = document.ValidResidentIDForTest("310104", birth, 1, 'M')
				r.Child.BirthDate = f.Year.BirthFrom
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Child.BirthDate != f.Year.BirthFrom {
					t.Errorf("birth date = %q, want %q", got.Child.BirthDate, f.Year.BirthFrom)
				}
			},
		},
		{
			name: "birth on last day of window",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				birth := birthDay(t, f.Year.BirthTo, 0)
				r.Child.Document.Number = document.ValidResidentIDForTest("310104", birth, 1, 'M')
				r.Child.BirthDate = f.Year.BirthTo
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Child.BirthDate != f.Year.BirthTo {
					t.Errorf("birth date = %q, want %q", got.Child.BirthDate, f.Year.BirthTo)
				}
			},
		},
		{
			name: "guardian with Hong Kong phone and permit",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Guardians[0].Phone = "+852 9123 4567"
				r.Guardians[0].Document = precheck.DocumentRequest{Type: "hk_macau_permit", Number: "H87654321"}
				r.Guardians[0].HukouInShanghai = false
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Guardians[0].Phone != "+85291234567" {
					t.Errorf("phone = %q, want +85291234567", got.Guardians[0].Phone)
				}
			},
		},
		{
			name: "foreign guardian with passport",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Guardians[0].Name = "Anna Schmidt"
				r.Guardians[0].Document = precheck.DocumentRequest{Type: "passport", Number: "C01X00T47", Nationality: "deu"}
				r.Guardians[0].HukouInShanghai = false
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Guardians[0].Nationality != "DEU" {
					t.Errorf("nationality = %q, want DEU", got.Guardians[0].Nationality)
				}
			},
		},
		{
			name: "two guardians",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Guardians = append(r.Guardians, precheck.GuardianRequest{
					Relation: "father", Name: "张伟", Phone: "８６-138-0000-0001",
					Document: precheck.DocumentRequest{Type: "resident_id", Number: edgetest.GuardianID(9, 'M')},
				})
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if len(got.Guardians) != 2 || got.Guardians[1].Phone != "13800000001" {
					t.Errorf("guardians = %+v, want a father with phone 13800000001", got.Guardians)
				}
			},
		},
		{
			name: "full-width residence permit number",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Guardians[0].HukouInShanghai = false
				r.Guardians[0].ShanghaiResidence = &precheck.ShanghaiResidenceRequest{Type: "sh_residence_permit", Number: "ｓｈ３１０-０００"}
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if proof := got.Guardians[0].ShanghaiResidence; proof == nil || proof.Number != "SH310000" {
					t.Errorf("residence proof = %+v, want number SH310000", proof)
				}
			},
		},
		{
			name: "address with full-width digits and line break",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Residence.Address = " 漕溪北路１００弄\n3号 502室 "
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Residence.Address != "漕溪北路100弄 3号 502室" {
					t.Errorf("address = %q, want 漕溪北路100弄 3号 502室", got.Residence.Address)
				}
			},
		},
		{
			name: "certificates from prefill and upload",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Certificates = []precheck.CertificateRequest{
					{Type: "birth_certificate", Source: "prefill", PrefillToken: "sealed-by-the-edge"},
					{Type: "household_register", Source: "upload", FileID: strings.Repeat("ab", 16)},
				}
			},
			check: func(t *testing.T, got *precheck.Registration) {
				// The submit service opens the token; the pre-check keeps it.
				want := []precheck.CertificateRequest{
					{Type: "birth_certificate", Source: "prefill", PrefillToken: "sealed-by-the-edge"},
					{Type: "household_register", Source: "upload", FileID: strings.Repeat("ab", 16)},
				}
				if diff := cmp.Diff(want, got.Certificates); diff != "" {
					t.Errorf("certificates differ (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "extra select option",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Extra = map[string]any{"birthProvince": "上海市"}
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if diff := cmp.Diff(map[string]any{"birthProvince": "上海市"}, got.Extra); diff != "" {
					t.Errorf("extra differs (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "blank optional extra dropped",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Extra = map[string]any{"birthProvince": "  "}
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if len(got.Extra) != 0 {
					t.Errorf("extra = %v, want empty", got.Extra)
				}
			},
		},
		{
			name: "guardian's passport of another country with the child's number",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Child.Document = precheck.DocumentRequest{Type: "passport", Number: "X1234567", Nationality: "KOR"}
				r.Child.Hukou = precheck.HukouRequest{}
				r.Residence.AtHukouAddress = false
				r.Guardians[0].Document = precheck.DocumentRequest{Type: "passport", Number: "X1234567", Nationality: "JPN"}
				r.Guardians[0].HukouInShanghai = false
			},
			check: func(t *testing.T, got *precheck.Registration) {
				if got.Guardians[0].Nationality != "JPN" || got.Child.Document.Nationality != "KOR" {
					t.Errorf("guardian %s and child %s, want JPN and KOR", got.Guardians[0].Nationality, got.Child.Document.Nationality)
				}
			},
		},
		{
			name: "schema version omitted",
			edit: func(t *testing.T, r *precheck.RegistrationRequest) { r.SchemaVersion = 0 },
			check: func(t *testing.T, got *precheck.Registration) {
				if got.SchemaVersion != 1 {
					t.Errorf("SchemaVersion = %d, want the published 1", got.SchemaVersion)
				}
			},
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			request := f.Registration(t)
			test.edit(t, request)
			got, err := precheck.CheckRegistration(request, f.Catalogue, time.Now())
			if err != nil {
				t.Fatalf("CheckRegistration returned %v", err)
			}
			test.check(t, got)
		})
	}
}

// TestCheckRegistrationStreetWithoutCommittees adds a street without
// committees, such as an industrial park, because the seeded divisions have
// none. Its address needs no committee.
func TestCheckRegistrationStreetWithoutCommittees(t *testing.T) {
	f := edgetest.Shared(t)
	const park = "310104599"
	c := f.CatalogueWith(t, func(s *snapshot.Snapshot) {
		s.Streets = append(s.Streets, snapshot.Street{Code: park, DistrictCode: edgetest.HomeDistrict, Name: "测试产业园区"})
	})
	request := f.Registration(t)
	request.Residence.StreetCode, request.Residence.CommitteeCode = park, ""
	request.Residence.AtHukouAddress = false

	got, err := precheck.CheckRegistration(request, c, time.Now())
	if err != nil {
		t.Fatalf("CheckRegistration returned %v", err)
	}
	if got.Residence.Street != park || got.Residence.Committee != "" {
		t.Errorf("residence = %+v, want street %s without committee", got.Residence, park)
	}

	request.Residence.CommitteeCode = f.Address(t, edgetest.HomeDistrict, 1).Committee
	_, err = precheck.CheckRegistration(request, c, time.Now())
	edgetest.CheckError(t, err, http.StatusBadRequest, "division_mismatch", "residence.committeeCode")
}

func toFullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '!' && r <= '~' {
			return r + 0xFF01 - '!'
		}
		return r
	}, s)
}

// TestCheckRegistrationInvalid covers each rejection: the code, the field
// and a Chinese message.
func TestCheckRegistrationInvalid(t *testing.T) {
	f := edgetest.Shared(t)
	home := f.Address(t, edgetest.HomeDistrict, 1)
	other := f.Address(t, edgetest.OtherDistrict, 1)
	var neighbour edgetest.Address // a committee of another street in the home district
	for _, address := range f.Addresses(t, edgetest.HomeDistrict, 1) {
		if address.Street != home.Street {
			neighbour = address
			break
		}
	}
	if neighbour.Street == "" {
		t.Fatal("the home district has only one street with matched committees")
	}

	type edit func(t *testing.T, r *precheck.RegistrationRequest)
	childID := func(birth time.Time, sex byte) string {
		return document.ValidResidentIDForTest("310104", birth, 7, sex)
	}
	withBirth := func(days int) edit {
		return func(t *testing.T, r *precheck.RegistrationRequest) {
			birth := birthDay(t, r.Child.BirthDate, days)
			r.Child.Document.Number = childID(birth, 'M')
			r.Child.BirthDate = birth.Format(time.DateOnly)
		}
	}
	tests := []struct {
		name  string
		edit  edit
		code  string
		field string
	}{
		{"unknown year", func(t *testing.T, r *precheck.RegistrationRequest) { r.EnrolmentYear = 1999 }, "unknown_enrolment_year", "enrolmentYear"},
		{"missing year", func(t *testing.T, r *precheck.RegistrationRequest) { r.EnrolmentYear = 0 }, "missing_field", "enrolmentYear"},

		// The child's document.
		{"missing document type", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Document.Type = "" },
			"missing_field", "child.document.type"},
		{"unknown document type", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Document.Type = "drivers_license" },
			document.CodeUnknownType, "child.document.type"},
		{"missing document number", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Document.Number = "" },
			document.CodeMissingNumber, "child.document.number"},
		{"wrong checksum", func(t *testing.T, r *precheck.RegistrationRequest) {
			number := r.Child.Document.Number
			last := byte('0')
			if number[17] == '0' {
				last = '1'
			}
			r.Child.Document.Number = number[:17] + string(last)
		}, document.CodeResidentIDChecksum, "child.document.number"},
		{"15-digit resident ID", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Document.Number = "310104230901003" },
			document.CodeResidentID15Digits, "child.document.number"},
		{"impossible date in resident ID", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Child.Document.Number = "31010420240230" + "0011"
		}, document.CodeResidentIDBirthDate, "child.document.number"},
		{"resident ID with HMT region", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Child.Document.Number = document.ValidResidentIDForTest("810000", birthDay(t, r.Child.BirthDate, 0), 1, 'M')
		}, document.CodeResidentIDRegion, "child.document.number"},
		{"resident ID too long", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Document.Number = strings.Repeat("1", 65) },
			document.CodeInvalidNumber, "child.document.number"},
		{"HMT permit with resident region", func(t *testing.T, r *precheck.RegistrationRequest) {
			withChildDocument(r, "hmt_residence_permit", r.Child.Document.Number, "")
			notInShanghai(r)
		}, document.CodeHMTPermitRegion, "child.document.number"},
		{"invalid HK permit", func(t *testing.T, r *precheck.RegistrationRequest) {
			withChildDocument(r, "hk_macau_permit", "X12345678", "")
			notInShanghai(r)
		}, document.CodeInvalidHKMacau, "child.document.number"},
		{"invalid Taiwan permit", func(t *testing.T, r *precheck.RegistrationRequest) {
			withChildDocument(r, "taiwan_permit", "T1234567", "")
			notInShanghai(r)
		}, document.CodeInvalidTaiwan, "child.document.number"},
		{"passport without nationality", func(t *testing.T, r *precheck.RegistrationRequest) {
			withChildDocument(r, "passport", "E12345678", "")
			notInShanghai(r)
		}, document.CodeInvalidNationality, "child.document.nationality"},
		{"Chinese child with passport", func(t *testing.T, r *precheck.RegistrationRequest) {
			withChildDocument(r, "passport", "E12345678", "chn")
			notInShanghai(r)
		}, "chinese_child_passport", "child.document.nationality"},
		{"no document with number", func(t *testing.T, r *precheck.RegistrationRequest) {
			withChildDocument(r, "none", "123456", "")
			notInShanghai(r)
		}, document.CodeNumberNotExpected, "child.document.number"},

		// The child's name.
		{"missing name", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Name = " " }, "missing_name", "child.name"},
		{"markup in name", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Name = "<script>张</script>" },
			"invalid_name_markup", "child.name"},
		{"ampersand in name", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Name = "张&amp;明" },
			"invalid_name_markup", "child.name"},
		{"digits in name", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Name = "张3" },
			"invalid_name_characters", "child.name"},
		{"mixed scripts", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Name = "张Ming" },
			"invalid_name_mixed_script", "child.name"},
		{"leading middle dot", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Name = "·买买提" },
			"invalid_name_middle_dot", "child.name"},
		{"one character", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Name = "张" },
			"name_too_short", "child.name"},
		{"Han name of 31 characters", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Name = strings.Repeat("张", 31) },
			"too_long", "child.name"},
		{"Latin name with resident ID", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Name = "Zhang Xiaoming" },
			"han_name_required", "child.name"},

		// Sex and birth date.
		{"missing sex", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Sex = "" }, "missing_field", "child.sex"},
		{"unknown sex", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Sex = "X" }, "invalid_choice", "child.sex"},
		{"sex differs from ID", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Sex = "F" }, "sex_mismatch", "child.sex"},
		{"missing birth date", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.BirthDate = "" },
			"missing_field", "child.birthDate"},
		{"impossible birth date", func(t *testing.T, r *precheck.RegistrationRequest) {
			withChildDocument(r, "none", "", "")
			notInShanghai(r)
			r.Child.BirthDate = "2024-02-30"
		}, "invalid_date", "child.birthDate"},
		{"birth date not ISO", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.BirthDate = "2023/10/01" },
			"invalid_date", "child.birthDate"},
		{"birth date differs from ID", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Child.BirthDate = birthDay(t, r.Child.BirthDate, 1).Format(time.DateOnly)
		}, "birth_date_mismatch", "child.birthDate"},
		{"born a day before window", func(t *testing.T, r *precheck.RegistrationRequest) {
			birth := birthDay(t, f.Year.BirthFrom, -1)
			r.Child.Document.Number, r.Child.BirthDate = childID(birth, 'M'), birth.Format(time.DateOnly)
		}, "child_outside_age_window", "child.birthDate"},
		{"born a day after window", func(t *testing.T, r *precheck.RegistrationRequest) {
			birth := birthDay(t, f.Year.BirthTo, 1)
			r.Child.Document.Number, r.Child.BirthDate = childID(birth, 'M'), birth.Format(time.DateOnly)
		}, "child_outside_age_window", "child.birthDate"},
		{"a year too old", withBirth(-366), "child_outside_age_window", "child.birthDate"},
		{"child without document outside window", func(t *testing.T, r *precheck.RegistrationRequest) {
			withChildDocument(r, "none", "", "")
			notInShanghai(r)
			r.Child.BirthDate = "2019-01-01"
		}, "child_outside_age_window", "child.birthDate"},

		// Hukou.
		{"Shanghai hukou with HK permit", func(t *testing.T, r *precheck.RegistrationRequest) {
			withChildDocument(r, "hk_macau_permit", "H12345678", "")
		}, "category_inconsistent", "child.hukou.inShanghai"},
		{"Shanghai hukou without document", func(t *testing.T, r *precheck.RegistrationRequest) {
			withChildDocument(r, "none", "", "")
		}, "category_inconsistent", "child.hukou.inShanghai"},
		{"missing province", func(t *testing.T, r *precheck.RegistrationRequest) { notInShanghai(r) },
			"missing_field", "child.hukou.province"},
		{"Shanghai as province", func(t *testing.T, r *precheck.RegistrationRequest) {
			notInShanghai(r)
			r.Child.Hukou.Province = "上海市"
		}, "category_inconsistent", "child.hukou.province"},
		{"province too long", func(t *testing.T, r *precheck.RegistrationRequest) {
			notInShanghai(r)
			r.Child.Hukou.Province = strings.Repeat("河", 21)
		}, "too_long", "child.hukou.province"},
		{"missing hukou district", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Hukou.DistrictCode = "" },
			"missing_field", "child.hukou.districtCode"},
		{"unknown hukou district", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Hukou.DistrictCode = "310199" },
			"unknown_division", "child.hukou.districtCode"},
		{"missing hukou street", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Hukou.StreetCode = "" },
			"missing_field", "child.hukou.streetCode"},
		{"unknown hukou street", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Hukou.StreetCode = "310104999" },
			"unknown_division", "child.hukou.streetCode"},
		{"hukou street of another district", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Hukou.StreetCode = other.Street },
			"division_mismatch", "child.hukou.streetCode"},
		{"missing hukou committee", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Hukou.CommitteeCode = "" },
			"missing_field", "child.hukou.committeeCode"},
		{"unknown hukou committee", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Hukou.CommitteeCode = home.Street + "999" },
			"unknown_division", "child.hukou.committeeCode"},
		{"hukou committee of another street", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Child.Hukou.CommitteeCode = neighbour.Committee
		}, "division_mismatch", "child.hukou.committeeCode"},
		{"missing hukou address", func(t *testing.T, r *precheck.RegistrationRequest) { r.Child.Hukou.Address = "" },
			"missing_address", "child.hukou.address"},
		{"markup in hukou address", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Child.Hukou.Address = `漕溪北路<img src=x onerror="alert(1)">`
		},
			"invalid_address_characters", "child.hukou.address"},

		// Residence.
		{"missing residence district", func(t *testing.T, r *precheck.RegistrationRequest) { r.Residence.DistrictCode = "" },
			"missing_field", "residence.districtCode"},
		{"residence street of another district", func(t *testing.T, r *precheck.RegistrationRequest) { r.Residence.StreetCode = other.Street },
			"division_mismatch", "residence.streetCode"},
		{"missing residence address", func(t *testing.T, r *precheck.RegistrationRequest) { r.Residence.Address = "\t" },
			"missing_address", "residence.address"},
		{"residence address too long", func(t *testing.T, r *precheck.RegistrationRequest) { r.Residence.Address = strings.Repeat("路", 101) },
			"address_too_long", "residence.address"},
		{"control character in address", func(t *testing.T, r *precheck.RegistrationRequest) { r.Residence.Address = "漕溪北路\x00100号" },
			"invalid_address_characters", "residence.address"},
		{"at hukou address in another street", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Residence.StreetCode, r.Residence.CommitteeCode = neighbour.Street, neighbour.Committee
		}, "category_inconsistent", "residence.atHukouAddress"},
		{"at hukou address in another district", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Residence.DistrictCode, r.Residence.StreetCode, r.Residence.CommitteeCode = other.District, other.Street, other.Committee
		}, "category_inconsistent", "residence.atHukouAddress"},
		{"at hukou address without Shanghai hukou", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Child.Hukou = precheck.HukouRequest{Province: "河南省"}
		}, "category_inconsistent", "residence.atHukouAddress"},

		// Guardians.
		{"no guardian", func(t *testing.T, r *precheck.RegistrationRequest) { r.Guardians = nil }, "invalid_guardian_count", "guardians"},
		{"three guardians", func(t *testing.T, r *precheck.RegistrationRequest) {
			second, third := r.Guardians[0], r.Guardians[0]
			second.Relation, second.Document.Number = "father", edgetest.GuardianID(3, 'M')
			third.Relation, third.Document.Number = "grandparent", edgetest.GuardianID(4, 'F')
			r.Guardians = append(r.Guardians, second, third)
		}, "invalid_guardian_count", "guardians"},
		{"missing relation", func(t *testing.T, r *precheck.RegistrationRequest) { r.Guardians[0].Relation = "" },
			"missing_field", "guardians[0].relation"},
		{"unknown relation", func(t *testing.T, r *precheck.RegistrationRequest) { r.Guardians[0].Relation = "uncle" },
			"invalid_choice", "guardians[0].relation"},
		{"markup in guardian name", func(t *testing.T, r *precheck.RegistrationRequest) { r.Guardians[0].Name = `王芳"><b>` },
			"invalid_name_markup", "guardians[0].name"},
		{"missing guardian name", func(t *testing.T, r *precheck.RegistrationRequest) { r.Guardians[0].Name = "" },
			"missing_name", "guardians[0].name"},
		{"missing phone", func(t *testing.T, r *precheck.RegistrationRequest) { r.Guardians[0].Phone = "" },
			"missing_phone", "guardians[0].phone"},
		{"invalid phone", func(t *testing.T, r *precheck.RegistrationRequest) { r.Guardians[0].Phone = "12345" },
			"invalid_phone", "guardians[0].phone"},
		{"guardian without document", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Guardians[0].Document = precheck.DocumentRequest{Type: "none"}
		}, "invalid_choice", "guardians[0].document.type"},
		{"guardian wrong checksum", func(t *testing.T, r *precheck.RegistrationRequest) {
			number := r.Guardians[0].Document.Number
			last := byte('0')
			if number[17] == '0' {
				last = '1'
			}
			r.Guardians[0].Document.Number = number[:17] + string(last)
		}, document.CodeResidentIDChecksum, "guardians[0].document.number"},
		{"guardian 15-digit resident ID", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Guardians[0].Document.Number = "310101900520002"
		}, document.CodeResidentID15Digits, "guardians[0].document.number"},
		{"guardian passport without nationality", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Guardians[0].Document = precheck.DocumentRequest{Type: "passport", Number: "E12345678"}
			r.Guardians[0].HukouInShanghai = false
		}, document.CodeInvalidNationality, "guardians[0].document.nationality"},
		{"Shanghai hukou guardian with passport", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Guardians[0].Document = precheck.DocumentRequest{Type: "passport", Number: "E12345678", Nationality: "USA"}
		}, "category_inconsistent", "guardians[0].hukouInShanghai"},
		{"unknown residence document", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Guardians[0].HukouInShanghai = false
			r.Guardians[0].ShanghaiResidence = &precheck.ShanghaiResidenceRequest{Type: "green_card", Number: "SH310000"}
		}, "invalid_choice", "guardians[0].shanghaiResidence.type"},
		{"short residence document number", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Guardians[0].HukouInShanghai = false
			r.Guardians[0].ShanghaiResidence = &precheck.ShanghaiResidenceRequest{Type: "sh_residence_permit", Number: "A1"}
		}, "invalid_residence_document_number", "guardians[0].shanghaiResidence.number"},
		{"residence document number with markup", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Guardians[0].HukouInShanghai = false
			r.Guardians[0].ShanghaiResidence = &precheck.ShanghaiResidenceRequest{Type: "sh_residence_permit", Number: "<b>1234</b>"}
		}, "invalid_residence_document_number", "guardians[0].shanghaiResidence.number"},
		{"residence document of a Shanghai guardian", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Guardians[0].HukouInShanghai = true
			r.Guardians[0].ShanghaiResidence = &precheck.ShanghaiResidenceRequest{Type: "sh_residence_permit", Number: "SH310000"}
		}, "category_inconsistent", "guardians[0].shanghaiResidence.type"},
		{"points with residence registration", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Guardians[0].HukouInShanghai = false
			r.Guardians[0].ShanghaiResidence = &precheck.ShanghaiResidenceRequest{Type: "sh_residence_registration", Number: "SH310000", PointsQualified: true}
		}, "points_without_permit", "guardians[0].shanghaiResidence.pointsQualified"},
		{"two guardians with one document", func(t *testing.T, r *precheck.RegistrationRequest) {
			second := r.Guardians[0]
			second.Relation = "father"
			r.Guardians = append(r.Guardians, second)
		}, "duplicate_guardian", "guardians[1].document.number"},
		{"guardian with child's document", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Guardians[0].Document.Number = r.Child.Document.Number
		}, "guardian_is_child", "guardians[0].document.number"},
		{"guardian born after the child", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Guardians[0].Document.Number = document.ValidResidentIDForTest("310104", time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC), 7, 'F')
		}, "guardian_too_young", "guardians[0].document.number"},
		{"hukou province not on the list", func(t *testing.T, r *precheck.RegistrationRequest) {
			notInShanghai(r)
			r.Child.Hukou.Province = "火星"
		}, "invalid_province", "child.hukou.province"},
		{"two mothers", func(t *testing.T, r *precheck.RegistrationRequest) {
			second := r.Guardians[0]
			second.Document.Number = edgetest.GuardianID(5, 'F')
			r.Guardians = append(r.Guardians, second)
		}, "duplicate_guardian_relation", "guardians[1].relation"},

		// Certificates.
		{"eleven certificates", func(t *testing.T, r *precheck.RegistrationRequest) {
			for range 11 {
				r.Certificates = append(r.Certificates, precheck.CertificateRequest{Type: "birth_certificate", Source: "prefill", PrefillToken: "SH1"})
			}
		}, "too_many_items", "certificates"},
		{"unknown certificate type", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Certificates = []precheck.CertificateRequest{{Type: "diploma", Source: "prefill", PrefillToken: "SH1"}}
		}, "invalid_choice", "certificates[0].type"},
		{"unknown certificate source", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Certificates = []precheck.CertificateRequest{{Type: "birth_certificate", Source: "fax", Number: "SH1"}}
		}, "invalid_choice", "certificates[0].source"},
		{"prefill without token", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Certificates = []precheck.CertificateRequest{{Type: "birth_certificate", Source: "prefill"}}
		}, "invalid_prefill_token", "certificates[0].prefillToken"},
		{"upload with path as file ID", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Certificates = []precheck.CertificateRequest{{Type: "birth_certificate", Source: "upload", FileID: "../../etc/passwd"}}
		}, "invalid_file_id", "certificates[0].fileId"},
		{"upload with upper-case file ID", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Certificates = []precheck.CertificateRequest{{Type: "birth_certificate", Source: "upload", FileID: strings.Repeat("AB", 16)}}
		}, "invalid_file_id", "certificates[0].fileId"},

		// Extra fields of the published form (version 1).
		{"unknown extra field", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Extra = map[string]any{"favouriteColour": "红"}
		},
			"unknown_field", "extra.favouriteColour"},
		{"extra select not an option", func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Extra = map[string]any{"birthProvince": "火星"}
		},
			"invalid_choice", "extra.birthProvince"},
		{"extra select as number", func(t *testing.T, r *precheck.RegistrationRequest) { r.Extra = map[string]any{"birthProvince": 31.0} },
			"invalid_field_type", "extra.birthProvince"},
		{"newer schema version", func(t *testing.T, r *precheck.RegistrationRequest) { r.SchemaVersion = 2 },
			"stale_form", "schemaVersion"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			request := f.Registration(t)
			test.edit(t, request)
			got, err := precheck.CheckRegistration(request, f.Catalogue, time.Now())
			if err == nil {
				t.Fatalf("CheckRegistration accepted the request as %+v, want %s", got, test.code)
			}
			if got != nil {
				t.Errorf("CheckRegistration returned %+v with its error", got)
			}
			edgetest.CheckError(t, err, http.StatusBadRequest, test.code, test.field)
		})
	}
}

// TestCheckRegistrationProvinceMarkup shows that the free-text hukou
// province, which the stream carries in plain text, is not checked for
// markup or control characters as other free text is.
func TestCheckRegistrationProvinceMarkup(t *testing.T) {
	f := edgetest.Shared(t)
	for _, province := range []string{"<b>河南</b>", "河南\x00省", "河南\u202e省"} {
		request := f.Registration(t)
		notInShanghai(request)
		request.Child.Hukou.Province = province

		got, err := precheck.CheckRegistration(request, f.Catalogue, time.Now())
		if err == nil {
			t.Errorf("province %q accepted as %q, want a 400 on child.hukou.province", province, got.Hukou.Province)
			continue
		}
		edgetest.CheckError(t, err, http.StatusBadRequest, "invalid_province", "child.hukou.province")
	}
}

func TestCheckRegistrationWindow(t *testing.T) {
	f := edgetest.Shared(t)
	tests := []struct {
		name string
		now  time.Time
		code string // "" when the registration is accepted
	}{
		{"second before opening", f.Year.RegistrationOpensAt.Add(-time.Second), "registration_not_open"},
		{"at opening", f.Year.RegistrationOpensAt, ""},
		{"second before closing", f.Year.RegistrationClosesAt.Add(-time.Second), ""},
		{"at closing", f.Year.RegistrationClosesAt, "registration_closed"},
		{"a year later", f.Year.RegistrationClosesAt.AddDate(1, 0, 0), "registration_closed"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			_, err := precheck.CheckRegistration(f.Registration(t), f.Catalogue, test.now)
			if test.code == "" {
				if err != nil {
					t.Fatalf("CheckRegistration at %s returned %v", test.now, err)
				}
				return
			}
			edgetest.CheckError(t, err, http.StatusForbidden, test.code, "")
		})
	}
}
