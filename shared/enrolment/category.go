package enrolment

// Category groups, as stored in registration.category_group.
const (
	GroupShanghaiHukou = "shanghai_hukou" // 本市户籍
	GroupOtherProvince = "other_province" // 外省市户籍
	GroupHMTForeign    = "hmt_foreign"    // 港澳台外
	GroupOther         = "other"          // 其他
)

// Household categories (R-CAT), as stored in household_category.code.
const (
	CategoryDistrictHukou                  = "district_hukou"                    // 本区户籍
	CategoryDistrictHukouResident          = "district_hukou_resident"           // 本区人户一致
	CategoryDistrictResidentHukouElsewhere = "district_resident_hukou_elsewhere" // 本区人户不一致
	CategoryDistrictHukouLivesElsewhere    = "district_hukou_lives_elsewhere"    // 本区户籍外区居住
	CategoryParentShanghaiHukou            = "parent_shanghai_hukou"             // 父母一方为本市户籍
	CategoryPointsOrTalentPermit           = "points_or_talent_permit"           // 居住证积分达标或海外人才居住证
	CategoryResidencePermit                = "residence_permit"                  // 持居住证
	CategoryResidenceRegistration          = "residence_registration"            // 持居住登记凭证
	CategoryOverseasTalentPermit           = "overseas_talent_permit"            // 持海外人才居住证
	CategoryOtherProvinceOther             = "other_province_other"              // 其他情况
	CategoryHongKongMacauTaiwan            = "hong_kong_macau_taiwan"            // 港澳台
	CategoryForeign                        = "foreign"                           // 外籍
	CategoryNoDocument                     = "no_document"                       // 幼儿无证件
)

// Shanghai residence documents a guardian may hold; they decide the category
// of a child whose hukou is outside Shanghai.
const (
	ResidencePermit       = "sh_residence_permit"       // 上海市居住证
	ResidenceRegistration = "sh_residence_registration" // 居住登记凭证
	OverseasTalentPermit  = "overseas_talent_permit"    // 海外人才居住证
)

// HouseholdFacts are the facts of a registration that decide its household
// category. None of them is personal data, so the edge keeps them in Redis
// for the application step.
type HouseholdFacts struct {
	ChildDocumentType         string
	HukouInShanghai           bool
	HukouDistrict             string
	ResidenceDistrict         string
	HukouAtResidence          bool
	GuardianShanghaiHukou     bool
	GuardianResidenceDocument string
	GuardianPointsQualified   bool
}

// Group returns the category group of a registration.
func (f HouseholdFacts) Group() string {
	switch f.ChildDocumentType {
	case "none":
		return GroupOther
	case "hk_macau_permit", "taiwan_permit", "hmt_residence_permit", "passport":
		return GroupHMTForeign
	}
	if f.HukouInShanghai {
		return GroupShanghaiHukou
	}
	return GroupOtherProvince
}

// CandidateCategories returns the household categories under which the child
// may apply in district, the most specific first. A district opens either a
// specific category or its broader form (本区户籍 covers 本区人户一致 and
// 本区户籍外区居住), so the first category with an open entry wins. The list
// is empty when the child can apply in no entry of that district: a Shanghai
// child needs its hukou or home there, every other child its home.
func (f HouseholdFacts) CandidateCategories(district string) []string {
	livesHere := f.ResidenceDistrict == district
	switch f.Group() {
	case GroupOther:
		if livesHere {
			return []string{CategoryNoDocument}
		}
		return nil
	case GroupHMTForeign:
		if !livesHere {
			return nil
		}
		if f.ChildDocumentType == "passport" {
			return []string{CategoryForeign}
		}
		return []string{CategoryHongKongMacauTaiwan}
	case GroupShanghaiHukou:
		hukouHere := f.HukouDistrict == district
		switch {
		case hukouHere && livesHere && f.HukouAtResidence:
			return []string{CategoryDistrictHukouResident, CategoryDistrictHukou}
		case hukouHere && livesHere:
			return []string{CategoryDistrictResidentHukouElsewhere, CategoryDistrictHukou}
		case hukouHere:
			return []string{CategoryDistrictHukouLivesElsewhere, CategoryDistrictHukou}
		case livesHere:
			return []string{CategoryDistrictResidentHukouElsewhere}
		}
		return nil
	}

	if !livesHere {
		return nil
	}
	switch {
	case f.GuardianShanghaiHukou:
		return []string{CategoryParentShanghaiHukou}
	case f.GuardianResidenceDocument == OverseasTalentPermit:
		return []string{CategoryOverseasTalentPermit, CategoryPointsOrTalentPermit}
	case f.GuardianResidenceDocument == ResidencePermit && f.GuardianPointsQualified:
		return []string{CategoryPointsOrTalentPermit, CategoryResidencePermit}
	case f.GuardianResidenceDocument == ResidencePermit:
		return []string{CategoryResidencePermit}
	case f.GuardianResidenceDocument == ResidenceRegistration:
		return []string{CategoryResidenceRegistration}
	}
	return []string{CategoryOtherProvinceOther}
}
