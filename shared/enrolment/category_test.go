package enrolment

import (
	"slices"
	"testing"
)

const (
	district      = "310104"
	otherDistrict = "310105"
)

func TestGroup(t *testing.T) {
	tests := []struct {
		name  string
		facts HouseholdFacts
		want  string
	}{
		{"resident ID with Shanghai hukou", HouseholdFacts{ChildDocumentType: "resident_id", HukouInShanghai: true}, GroupShanghaiHukou},
		{"resident ID from another province", HouseholdFacts{ChildDocumentType: "resident_id"}, GroupOtherProvince},
		{"Hong Kong and Macau permit", HouseholdFacts{ChildDocumentType: "hk_macau_permit"}, GroupHMTForeign},
		{"Taiwan permit", HouseholdFacts{ChildDocumentType: "taiwan_permit"}, GroupHMTForeign},
		{"HMT residence permit", HouseholdFacts{ChildDocumentType: "hmt_residence_permit"}, GroupHMTForeign},
		{"passport", HouseholdFacts{ChildDocumentType: "passport"}, GroupHMTForeign},
		// The document decides before the hukou flag, which the pre-check
		// allows only with a resident ID.
		{"passport with Shanghai hukou flag", HouseholdFacts{ChildDocumentType: "passport", HukouInShanghai: true}, GroupHMTForeign},
		{"no document", HouseholdFacts{ChildDocumentType: "none"}, GroupOther},
		{"no document with Shanghai hukou flag", HouseholdFacts{ChildDocumentType: "none", HukouInShanghai: true}, GroupOther},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			if got := test.facts.Group(); got != test.want {
				t.Errorf("Group() = %q, want %q", got, test.want)
			}
		})
	}
}

// TestCandidateCategories covers all 13 household categories and the
// districts where a child may not apply.
func TestCandidateCategories(t *testing.T) {
	shanghai := func(hukouDistrict, residenceDistrict string, atHukouAddress bool) HouseholdFacts {
		return HouseholdFacts{ChildDocumentType: "resident_id", HukouInShanghai: true,
			HukouDistrict: hukouDistrict, ResidenceDistrict: residenceDistrict, HukouAtResidence: atHukouAddress}
	}
	otherProvince := func(guardianHukou bool, residenceDocument string, points bool) HouseholdFacts {
		return HouseholdFacts{ChildDocumentType: "resident_id", ResidenceDistrict: district,
			GuardianShanghaiHukou: guardianHukou, GuardianResidenceDocument: residenceDocument, GuardianPointsQualified: points}
	}
	document := func(documentType string) HouseholdFacts {
		return HouseholdFacts{ChildDocumentType: documentType, ResidenceDistrict: district}
	}

	tests := []struct {
		name     string
		facts    HouseholdFacts
		district string
		want     []string
	}{
		{"hukou and home at one address", shanghai(district, district, true), district,
			[]string{CategoryDistrictHukouResident, CategoryDistrictHukou}},
		{"hukou and home in district apart", shanghai(district, district, false), district,
			[]string{CategoryDistrictResidentHukouElsewhere, CategoryDistrictHukou}},
		{"hukou here home elsewhere", shanghai(district, otherDistrict, false), district,
			[]string{CategoryDistrictHukouLivesElsewhere, CategoryDistrictHukou}},
		{"hukou here home elsewhere with stale flag", shanghai(district, otherDistrict, true), district,
			[]string{CategoryDistrictHukouLivesElsewhere, CategoryDistrictHukou}},
		{"home here hukou elsewhere", shanghai(otherDistrict, district, false), district,
			[]string{CategoryDistrictResidentHukouElsewhere}},
		{"Shanghai child neither here", shanghai(otherDistrict, otherDistrict, true), district, nil},

		{"parent with Shanghai hukou", otherProvince(true, "", false), district,
			[]string{CategoryParentShanghaiHukou}},
		{"parent hukou beats talent permit", otherProvince(true, OverseasTalentPermit, false), district,
			[]string{CategoryParentShanghaiHukou}},
		{"overseas talent permit", otherProvince(false, OverseasTalentPermit, false), district,
			[]string{CategoryOverseasTalentPermit, CategoryPointsOrTalentPermit}},
		{"points-qualified residence permit", otherProvince(false, ResidencePermit, true), district,
			[]string{CategoryPointsOrTalentPermit, CategoryResidencePermit}},
		{"residence permit", otherProvince(false, ResidencePermit, false), district,
			[]string{CategoryResidencePermit}},
		{"residence registration", otherProvince(false, ResidenceRegistration, false), district,
			[]string{CategoryResidenceRegistration}},
		{"no residence document", otherProvince(false, "", false), district,
			[]string{CategoryOtherProvinceOther}},
		{"unknown residence document", otherProvince(false, "green_card", false), district,
			[]string{CategoryOtherProvinceOther}},
		{"other province child elsewhere", otherProvince(true, ResidencePermit, true), otherDistrict, nil},

		{"Hong Kong and Macau permit", document("hk_macau_permit"), district, []string{CategoryHongKongMacauTaiwan}},
		{"Taiwan permit", document("taiwan_permit"), district, []string{CategoryHongKongMacauTaiwan}},
		{"HMT residence permit", document("hmt_residence_permit"), district, []string{CategoryHongKongMacauTaiwan}},
		{"HMT child elsewhere", document("hk_macau_permit"), otherDistrict, nil},
		{"passport", document("passport"), district, []string{CategoryForeign}},
		{"passport elsewhere", document("passport"), otherDistrict, nil},
		{"no document", document("none"), district, []string{CategoryNoDocument}},
		{"no document elsewhere", document("none"), otherDistrict, nil},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got := test.facts.CandidateCategories(test.district)
			if !slices.Equal(got, test.want) {
				t.Errorf("CandidateCategories(%s) = %q, want %q", test.district, got, test.want)
			}
		})
	}
}

// TestCandidateCategoriesCoverAll runs every combination of household facts
// and checks that the candidates are exactly the 13 categories, each
// reachable.
func TestCandidateCategoriesCoverAll(t *testing.T) {
	all := []string{
		CategoryDistrictHukou, CategoryDistrictHukouResident, CategoryDistrictResidentHukouElsewhere,
		CategoryDistrictHukouLivesElsewhere, CategoryParentShanghaiHukou, CategoryPointsOrTalentPermit,
		CategoryResidencePermit, CategoryResidenceRegistration, CategoryOverseasTalentPermit,
		CategoryOtherProvinceOther, CategoryHongKongMacauTaiwan, CategoryForeign, CategoryNoDocument,
	}
	reached := map[string]bool{}
	documentTypes := []string{"resident_id", "hk_macau_permit", "taiwan_permit", "hmt_residence_permit", "passport", "none"}
	residenceDocuments := []string{"", ResidenceRegistration, ResidencePermit, OverseasTalentPermit}
	for _, documentType := range documentTypes {
		for _, inShanghai := range []bool{false, true} {
			for _, hukouDistrict := range []string{district, otherDistrict} {
				for _, residenceDistrict := range []string{district, otherDistrict} {
					for _, atHukouAddress := range []bool{false, true} {
						for _, guardianHukou := range []bool{false, true} {
							for _, residenceDocument := range residenceDocuments {
								for _, points := range []bool{false, true} {
									facts := HouseholdFacts{
										ChildDocumentType: documentType, HukouInShanghai: inShanghai,
										HukouDistrict: hukouDistrict, ResidenceDistrict: residenceDistrict,
										HukouAtResidence: atHukouAddress, GuardianShanghaiHukou: guardianHukou,
										GuardianResidenceDocument: residenceDocument, GuardianPointsQualified: points,
									}
									for _, category := range facts.CandidateCategories(district) {
										reached[category] = true
									}
								}
							}
						}
					}
				}
			}
		}
	}
	for _, category := range all {
		if !reached[category] {
			t.Errorf("no household facts lead to category %s", category)
		}
	}
	if len(reached) != len(all) {
		t.Errorf("reached %d categories, want %d: %v", len(reached), len(all), reached)
	}
}
