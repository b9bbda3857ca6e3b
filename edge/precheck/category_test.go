package precheck_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/document"
	"github.com/sh-preschool/preschool/shared/enrolment"
)

// TestCheckRegistrationCategory derives the household category of each of
// the 13 categories from a registration, in the district that matters.
func TestCheckRegistrationCategory(t *testing.T) {
	f := edgetest.Shared(t)
	home := f.Address(t, edgetest.HomeDistrict, 1)
	other := f.Address(t, edgetest.OtherDistrict, 1)
	var neighbour edgetest.Address
	for _, address := range f.Addresses(t, edgetest.HomeDistrict, 1) {
		if address.Street != home.Street {
			neighbour = address
			break
		}
	}

	residence := func(r *precheck.RegistrationRequest, address edgetest.Address) {
		r.Residence.DistrictCode, r.Residence.StreetCode, r.Residence.CommitteeCode = address.District, address.Street, address.Committee
		r.Residence.AtHukouAddress = false
	}
	permit := func(documentType string, points bool) func(t *testing.T, r *precheck.RegistrationRequest) {
		return func(t *testing.T, r *precheck.RegistrationRequest) {
			r.Guardians[0].ShanghaiResidence = &precheck.ShanghaiResidenceRequest{Type: documentType, Number: "SH310000", PointsQualified: points}
		}
	}
	tests := []struct {
		name       string
		base       func(testing.TB) *precheck.RegistrationRequest
		edit       func(t *testing.T, r *precheck.RegistrationRequest)
		district   string
		group      string
		candidates []string
	}{
		{
			name: "hukou and home at one address", base: f.Registration,
			edit:     func(t *testing.T, r *precheck.RegistrationRequest) {},
			district: edgetest.HomeDistrict, group: enrolment.GroupShanghaiHukou,
			candidates: []string{enrolment.CategoryDistrictHukouResident, enrolment.CategoryDistrictHukou},
		},
		{
			name: "hukou and home in one district", base: f.Registration,
			edit:     func(t *testing.T, r *precheck.RegistrationRequest) { residence(r, neighbour) },
			district: edgetest.HomeDistrict, group: enrolment.GroupShanghaiHukou,
			candidates: []string{enrolment.CategoryDistrictResidentHukouElsewhere, enrolment.CategoryDistrictHukou},
		},
		{
			name: "same street not declared at hukou address", base: f.Registration,
			edit:     func(t *testing.T, r *precheck.RegistrationRequest) { r.Residence.AtHukouAddress = false },
			district: edgetest.HomeDistrict, group: enrolment.GroupShanghaiHukou,
			candidates: []string{enrolment.CategoryDistrictResidentHukouElsewhere, enrolment.CategoryDistrictHukou},
		},
		{
			name: "hukou here home elsewhere", base: f.Registration,
			edit:     func(t *testing.T, r *precheck.RegistrationRequest) { residence(r, other) },
			district: edgetest.HomeDistrict, group: enrolment.GroupShanghaiHukou,
			candidates: []string{enrolment.CategoryDistrictHukouLivesElsewhere, enrolment.CategoryDistrictHukou},
		},
		{
			name: "home here hukou elsewhere", base: f.Registration,
			edit:     func(t *testing.T, r *precheck.RegistrationRequest) { residence(r, other) },
			district: edgetest.OtherDistrict, group: enrolment.GroupShanghaiHukou,
			candidates: []string{enrolment.CategoryDistrictResidentHukouElsewhere},
		},
		{
			name: "parent with Shanghai hukou", base: f.OtherProvinceRegistration,
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Guardians[0].HukouInShanghai = true
				r.Guardians[0].ShanghaiResidence = nil
			},
			district: edgetest.HomeDistrict, group: enrolment.GroupOtherProvince,
			candidates: []string{enrolment.CategoryParentShanghaiHukou},
		},
		{
			name: "points-qualified residence permit", base: f.OtherProvinceRegistration,
			edit:     permit(enrolment.ResidencePermit, true),
			district: edgetest.HomeDistrict, group: enrolment.GroupOtherProvince,
			candidates: []string{enrolment.CategoryPointsOrTalentPermit, enrolment.CategoryResidencePermit},
		},
		{
			name: "residence permit", base: f.OtherProvinceRegistration,
			edit:     permit(enrolment.ResidencePermit, false),
			district: edgetest.HomeDistrict, group: enrolment.GroupOtherProvince,
			candidates: []string{enrolment.CategoryResidencePermit},
		},
		{
			name: "residence registration", base: f.OtherProvinceRegistration,
			edit:     permit(enrolment.ResidenceRegistration, false),
			district: edgetest.HomeDistrict, group: enrolment.GroupOtherProvince,
			candidates: []string{enrolment.CategoryResidenceRegistration},
		},
		{
			name: "overseas talent permit", base: f.OtherProvinceRegistration,
			edit:     permit(enrolment.OverseasTalentPermit, false),
			district: edgetest.HomeDistrict, group: enrolment.GroupOtherProvince,
			candidates: []string{enrolment.CategoryOverseasTalentPermit, enrolment.CategoryPointsOrTalentPermit},
		},
		{
			name: "strongest permit of two guardians", base: f.OtherProvinceRegistration,
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Guardians = append(r.Guardians, precheck.GuardianRequest{
					Relation: "mother", Name: "王芳", Phone: "13900000000",
					Document:          precheck.DocumentRequest{Type: "resident_id", Number: edgetest.GuardianID(6, 'F')},
					ShanghaiResidence: &precheck.ShanghaiResidenceRequest{Type: enrolment.ResidencePermit, Number: "SH310001", PointsQualified: true},
				})
				r.Guardians[0].ShanghaiResidence.Type = enrolment.ResidenceRegistration
			},
			district: edgetest.HomeDistrict, group: enrolment.GroupOtherProvince,
			candidates: []string{enrolment.CategoryPointsOrTalentPermit, enrolment.CategoryResidencePermit},
		},
		{
			name: "no Shanghai residence document", base: f.OtherProvinceRegistration,
			edit:     func(t *testing.T, r *precheck.RegistrationRequest) { r.Guardians[0].ShanghaiResidence = nil },
			district: edgetest.HomeDistrict, group: enrolment.GroupOtherProvince,
			candidates: []string{enrolment.CategoryOtherProvinceOther},
		},
		{
			name: "Hong Kong permit", base: f.Registration,
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				withChildDocument(r, "hk_macau_permit", "H12345678", "")
				notInShanghai(r)
			},
			district: edgetest.HomeDistrict, group: enrolment.GroupHMTForeign,
			candidates: []string{enrolment.CategoryHongKongMacauTaiwan},
		},
		{
			name: "Taiwan permit", base: f.Registration,
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				withChildDocument(r, "taiwan_permit", "12345678", "")
				notInShanghai(r)
			},
			district: edgetest.HomeDistrict, group: enrolment.GroupHMTForeign,
			candidates: []string{enrolment.CategoryHongKongMacauTaiwan},
		},
		{
			name: "HMT residence permit", base: f.Registration,
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				birth := birthDay(t, r.Child.BirthDate, 0)
				withChildDocument(r, "hmt_residence_permit", document.ValidResidentIDForTest("830000", birth, 5, 'M'), "")
				notInShanghai(r)
			},
			district: edgetest.HomeDistrict, group: enrolment.GroupHMTForeign,
			candidates: []string{enrolment.CategoryHongKongMacauTaiwan},
		},
		{
			name: "foreign passport", base: f.Registration,
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				r.Child.Name = "Emily Smith"
				withChildDocument(r, "passport", "E12345678", "GBR")
				notInShanghai(r)
			},
			district: edgetest.HomeDistrict, group: enrolment.GroupHMTForeign,
			candidates: []string{enrolment.CategoryForeign},
		},
		{
			name: "no document", base: f.Registration,
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				withChildDocument(r, "none", "", "")
				notInShanghai(r)
			},
			district: edgetest.HomeDistrict, group: enrolment.GroupOther,
			candidates: []string{enrolment.CategoryNoDocument},
		},
		{
			name: "no document elsewhere", base: f.Registration,
			edit: func(t *testing.T, r *precheck.RegistrationRequest) {
				withChildDocument(r, "none", "", "")
				notInShanghai(r)
			},
			district: edgetest.OtherDistrict, group: enrolment.GroupOther,
			candidates: nil,
		},
		{
			name: "other province child elsewhere", base: f.OtherProvinceRegistration,
			edit:     func(t *testing.T, r *precheck.RegistrationRequest) {},
			district: edgetest.OtherDistrict, group: enrolment.GroupOtherProvince,
			candidates: nil,
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			request := test.base(t)
			test.edit(t, request)
			got, err := precheck.CheckRegistration(request, f.Catalogue, time.Now())
			if err != nil {
				t.Fatalf("CheckRegistration returned %v", err)
			}
			if group := got.Facts.Group(); group != test.group {
				t.Errorf("group = %q, want %q", group, test.group)
			}
			if diff := cmp.Diff(test.candidates, got.Facts.CandidateCategories(test.district)); diff != "" {
				t.Errorf("candidate categories in %s differ (-want +got):\n%s", test.district, diff)
			}
		})
	}
}

// TestCheckRegistrationGrandparentHukou checks that only a parent's hukou
// gives the category 父母一方为本市户籍 (one parent has Shanghai hukou).
func TestCheckRegistrationGrandparentHukou(t *testing.T) {
	f := edgetest.Shared(t)
	for _, relation := range []string{"grandparent", "other"} {
		request := f.OtherProvinceRegistration(t)
		request.Guardians[0].Relation = relation
		request.Guardians[0].HukouInShanghai = true
		request.Guardians[0].ShanghaiResidence = nil

		got, err := precheck.CheckRegistration(request, f.Catalogue, time.Now())
		if err != nil {
			t.Fatalf("CheckRegistration returned %v", err)
		}
		want := []string{enrolment.CategoryOtherProvinceOther}
		if diff := cmp.Diff(want, got.Facts.CandidateCategories(edgetest.HomeDistrict)); diff != "" {
			t.Errorf("a %s with Shanghai hukou: candidate categories differ (-want +got):\n%s", relation, diff)
		}
	}
}
