package edgetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/document"
)

// HomeDistrict is the district of the addresses that Registration uses:
// 徐汇区 (Xuhui).
const HomeDistrict = "310104"

// OtherDistrict is a second district for cross-district cases: 长宁区
// (Changning).
const OtherDistrict = "310105"

// Address is a street and committee with the campuses that the current
// year's matching rules give it.
type Address struct {
	District  string
	Street    string
	Committee string
	Campuses  []int64
}

// Addresses returns every committee address in district that is matched to
// at least minCampuses campuses in the current year, in snapshot order. It
// fails the test when there is none.
func (f *Fixture) Addresses(t testing.TB, district string, minCampuses int) []Address {
	t.Helper()
	var found []Address
	for _, committee := range f.Snapshot.Committees {
		street, ok := f.Catalogue.Street(committee.StreetCode)
		if !ok || street.DistrictCode != district {
			continue
		}
		campuses := f.Catalogue.MatchCampuses(f.Year.Year, district, street.Code, committee.Code)
		if len(campuses) >= minCampuses {
			found = append(found, Address{District: district, Street: street.Code, Committee: committee.Code, Campuses: campuses})
		}
	}
	if len(found) == 0 {
		t.Fatalf("no committee in district %s is matched to %d or more campuses", district, minCampuses)
	}
	return found
}

// Address returns the first address of Addresses.
func (f *Fixture) Address(t testing.TB, district string, minCampuses int) Address {
	t.Helper()
	return f.Addresses(t, district, minCampuses)[0]
}

// ChildID is a resident ID of a child born inside the current year's age
// window.
type ChildID struct {
	Number    string
	BirthDate string // YYYY-MM-DD
	Sex       string // "M" or "F"
}

// NewChildID returns a resident ID issued in Xuhui that no earlier call in
// this test binary returned. The birth dates run through the age window.
func (f *Fixture) NewChildID(t testing.TB, sex byte) ChildID {
	t.Helper()
	birthFrom, err := time.Parse(time.DateOnly, f.Year.BirthFrom)
	if err != nil {
		t.Fatalf("birthFrom %q: %v", f.Year.BirthFrom, err)
	}
	birthTo, err := time.Parse(time.DateOnly, f.Year.BirthTo)
	if err != nil {
		t.Fatalf("birthTo %q: %v", f.Year.BirthTo, err)
	}
	windowDays := int64(birthTo.Sub(birthFrom)/(24*time.Hour)) + 1
	n := f.children.Add(1)
	birth := birthFrom.AddDate(0, 0, int((n/500)%windowDays))
	number := document.ValidResidentIDForTest(HomeDistrict, birth, int(n%500), sex)
	if number == "" {
		t.Fatalf("ValidResidentIDForTest(%s, %s, %d, %c) returned no number", HomeDistrict, birth.Format(time.DateOnly), n%500, sex)
	}
	return ChildID{Number: number, BirthDate: birth.Format(time.DateOnly), Sex: string(sex)}
}

// GuardianID returns a valid resident ID of an adult born in 1990. Numbers
// differ by n (0 to 499) and sex.
func GuardianID(n int, sex byte) string {
	return document.ValidResidentIDForTest("310101", time.Date(1990, 5, 20, 0, 0, 0, 0, time.UTC), n, sex)
}

// Registration returns a valid registration of a new boy: a Shanghai
// resident ID, hukou and home at the same address in Xuhui (人户一致, so
// category district_hukou_resident), his mother as the only guardian, and
// no certificates or extra fields.
func (f *Fixture) Registration(t testing.TB) *precheck.RegistrationRequest {
	t.Helper()
	child := f.NewChildID(t, 'M')
	home := f.Address(t, HomeDistrict, 2)
	return &precheck.RegistrationRequest{
		EnrolmentYear: f.Year.Year,
		SchemaVersion: 1,
		Child: precheck.ChildRequest{
			Name:      "张小明",
			Sex:       child.Sex,
			BirthDate: child.BirthDate,
			Document:  precheck.DocumentRequest{Type: "resident_id", Number: child.Number},
			Hukou: precheck.HukouRequest{
				InShanghai: true, DistrictCode: home.District, StreetCode: home.Street,
				CommitteeCode: home.Committee, Address: "漕溪北路100弄3号",
			},
		},
		Residence: precheck.ResidenceRequest{
			DistrictCode: home.District, StreetCode: home.Street, CommitteeCode: home.Committee,
			Address: "漕溪北路100弄3号502室", AtHukouAddress: true,
		},
		Guardians: []precheck.GuardianRequest{{
			Relation: "mother", Name: "王芳", Phone: "13900000000",
			Document:        precheck.DocumentRequest{Type: "resident_id", Number: GuardianID(1, 'F')},
			HukouInShanghai: true,
		}},
	}
}

// OtherProvinceRegistration returns a valid registration of a new boy whose
// hukou is in Henan and who lives in Xuhui with his father, who holds a
// Shanghai residence permit (category residence_permit).
func (f *Fixture) OtherProvinceRegistration(t testing.TB) *precheck.RegistrationRequest {
	t.Helper()
	request := f.Registration(t)
	request.Child.Hukou = precheck.HukouRequest{Province: "河南省"}
	request.Residence.AtHukouAddress = false
	request.Guardians = []precheck.GuardianRequest{{
		Relation: "father", Name: "李强", Phone: "13800000000",
		Document:          precheck.DocumentRequest{Type: "resident_id", Number: GuardianID(2, 'M')},
		ShanghaiResidence: &precheck.ShanghaiResidenceRequest{Type: "sh_residence_permit", Number: "SH31000012345"},
	}}
	return request
}

// Application returns an application of the registration number in home's
// district under categoryCode, with home's first matched campus as the only
// choice.
func Application(number string, home Address, categoryCode string) *precheck.ApplicationRequest {
	return &precheck.ApplicationRequest{
		RegistrationNumber: number,
		DistrictCode:       home.District,
		CategoryCode:       categoryCode,
		CampusChoices:      []int64{home.Campuses[0]},
		SchemaVersion:      1,
	}
}

// JSON returns v encoded as JSON, failing the test on an error.
func JSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	return data
}
