// Package matching is the back office's kindergarten matching module: a
// district keeps its matching rules in all four modes (single edits and
// xlsx imports), and validates them over the year's registration addresses
// before applications open. Every change is audited and republished to the
// edge at once.
package matching

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/shared/address"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/matching"
)

// RuleInput is a rule as a staff member enters it, in the API or as one row
// of an import. Empty Audience, Offer and Parity take the defaults: local,
// a named campus, all numbers.
type RuleInput struct {
	Year          int    `json:"year"`
	DistrictCode  string `json:"districtCode"`
	Mode          int    `json:"mode"`
	Audience      string `json:"audience"`
	Offer         string `json:"offer"`
	StreetCode    string `json:"streetCode"`
	CommitteeCode string `json:"committeeCode"`
	RoadRange     string `json:"roadRange"`
	Parity        string `json:"parity"`
	Compound      string `json:"compound"`
	CampusID      int64  `json:"campusId"`
}

// Rule is a stored rule with the names a page shows.
type Rule struct {
	ID               int64     `json:"id" db:"id"`
	Year             int       `json:"year" db:"enrolment_year"`
	DistrictCode     string    `json:"districtCode" db:"district_code"`
	Mode             int       `json:"mode" db:"mode"`
	Audience         string    `json:"audience" db:"audience"`
	Offer            string    `json:"offer" db:"offer"`
	StreetCode       string    `json:"streetCode" db:"street_code"`
	StreetName       string    `json:"streetName" db:"street_name"`
	CommitteeCode    string    `json:"committeeCode" db:"committee_code"`
	CommitteeName    string    `json:"committeeName" db:"committee_name"`
	Road             string    `json:"road" db:"road"`
	RoadRange        string    `json:"roadRange" db:"road_range"`
	Parity           string    `json:"parity" db:"parity"`
	Compound         string    `json:"compound" db:"compound"`
	CampusID         int64     `json:"campusId" db:"campus_id"`
	KindergartenName string    `json:"kindergartenName" db:"kindergarten_name"`
	CampusName       string    `json:"campusName" db:"campus_name"`
	UpdatedAt        time.Time `json:"updatedAt" db:"updated_at"`
}

// FieldError is one invalid field of a rule: the JSON field name and a
// Chinese reason.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// references are the divisions and campuses of one district, loaded once
// for a single edit or a whole import.
type references struct {
	districtCode   string
	years          map[int]bool
	streets        map[string]string // code → name
	streetNames    map[string]string // name → code
	committees     map[string]committeeRef
	committeeNames map[[2]string]string // street code and committee name → committee code
	campuses       map[int64]campusRef
	campusNames    map[string][]int64 // kindergarten name, and kindergarten name + campus name → IDs
}

type committeeRef struct {
	streetCode string
	name       string
}

type campusRef struct {
	kindergarten string
	name         string
}

func loadReferences(ctx context.Context, db sqlx.QueryerContext, districtCode string) (*references, error) {
	refs := &references{
		districtCode: districtCode, years: map[int]bool{}, streets: map[string]string{}, streetNames: map[string]string{},
		committees: map[string]committeeRef{}, committeeNames: map[[2]string]string{}, campuses: map[int64]campusRef{}, campusNames: map[string][]int64{},
	}
	var years []int
	if err := sqlx.SelectContext(ctx, db, &years, `SELECT year FROM enrolment_year`); err != nil {
		return nil, fmt.Errorf("load enrolment years: %w", err)
	}
	for _, year := range years {
		refs.years[year] = true
	}

	var streets []struct {
		Code string `db:"code"`
		Name string `db:"name"`
	}
	if err := sqlx.SelectContext(ctx, db, &streets, `SELECT code, name FROM street WHERE district_code = $1`, districtCode); err != nil {
		return nil, fmt.Errorf("load streets of %s: %w", districtCode, err)
	}
	for _, street := range streets {
		refs.streets[street.Code] = street.Name
		refs.streetNames[street.Name] = street.Code
	}

	var committees []struct {
		Code       string `db:"code"`
		StreetCode string `db:"street_code"`
		Name       string `db:"name"`
	}
	const committeesQuery = `
		SELECT m.code, m.street_code, m.name FROM committee m JOIN street s ON s.code = m.street_code
		WHERE s.district_code = $1`
	if err := sqlx.SelectContext(ctx, db, &committees, committeesQuery, districtCode); err != nil {
		return nil, fmt.Errorf("load committees of %s: %w", districtCode, err)
	}
	for _, committee := range committees {
		refs.committees[committee.Code] = committeeRef{streetCode: committee.StreetCode, name: committee.Name}
		refs.committeeNames[[2]string{committee.StreetCode, committee.Name}] = committee.Code
	}

	var campuses []struct {
		ID           int64  `db:"id"`
		Kindergarten string `db:"kindergarten"`
		Name         string `db:"name"`
	}
	const campusesQuery = `
		SELECT c.id, k.name AS kindergarten, c.name FROM campus c JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE c.district_code = $1`
	if err := sqlx.SelectContext(ctx, db, &campuses, campusesQuery, districtCode); err != nil {
		return nil, fmt.Errorf("load campuses of %s: %w", districtCode, err)
	}
	for _, campus := range campuses {
		refs.campuses[campus.ID] = campusRef{kindergarten: campus.Kindergarten, name: campus.Name}
		refs.campusNames[campus.Kindergarten] = append(refs.campusNames[campus.Kindergarten], campus.ID)
		refs.campusNames[campus.Kindergarten+campus.Name] = append(refs.campusNames[campus.Kindergarten+campus.Name], campus.ID)
	}
	return refs, nil
}

// ruleRow is the normalised, checked form of a RuleInput, ready to store.
type ruleRow struct {
	Year          int
	DistrictCode  string
	Mode          int
	Audience      string
	Offer         string
	StreetCode    sql.NullString
	CommitteeCode sql.NullString
	Road          sql.NullString
	RoadRange     sql.NullString
	Parity        string
	Compound      sql.NullString
	CampusID      sql.NullInt64
}

// check validates input against the district's references and returns the
// row to store, or every invalid field.
func (refs *references) check(input RuleInput) (ruleRow, []FieldError) {
	var problems []FieldError
	fail := func(field, code, message string) {
		problems = append(problems, FieldError{Field: field, Code: code, Message: message})
	}
	row := ruleRow{Year: input.Year, DistrictCode: refs.districtCode, Mode: input.Mode, Parity: "all"}

	if !refs.years[input.Year] {
		fail("year", "unknown_year", fmt.Sprintf("招生年度 %d 不存在，请选择已设置的年度。", input.Year))
	}
	if input.Mode < matching.ModeCommittee || input.Mode > matching.ModeOpenList {
		fail("mode", "invalid_mode", "匹配模式应为 1（街道居委）、2（详细地址）、3（街道居委小区）或 4（开放列表）。")
	}

	row.Audience = strings.TrimSpace(input.Audience)
	if row.Audience == "" {
		row.Audience = matching.AudienceLocal
	}
	if row.Audience != matching.AudienceLocal && row.Audience != matching.AudienceOtherProvince {
		fail("audience", "invalid_audience", "适用入口应为“本市”或“外省市”。")
	}
	row.Offer = strings.TrimSpace(input.Offer)
	if row.Offer == "" {
		row.Offer = matching.OfferCampus
	}
	switch {
	case row.Offer != matching.OfferCampus && row.Offer != matching.OfferPublic && row.Offer != matching.OfferPrivate:
		fail("offer", "invalid_offer", "提供范围应为“指定园所”“公办园”或“民办园”。")
	case row.Offer != matching.OfferCampus && row.Audience != matching.AudienceOtherProvince:
		fail("offer", "offer_only_for_other_province", "只有外省市报名入口的规则可以提供全部公办园或民办园，本市入口请指定园所。")
	}

	street := strings.TrimSpace(input.StreetCode)
	committee := strings.TrimSpace(input.CommitteeCode)
	if street != "" {
		if _, ok := refs.streets[street]; !ok {
			fail("streetCode", "street_not_in_district", "所选街道（镇）不属于本区，请重新选择。")
		}
		row.StreetCode = sql.NullString{String: street, Valid: true}
	}
	if committee != "" {
		if found, ok := refs.committees[committee]; !ok || found.streetCode != street {
			fail("committeeCode", "committee_not_in_street", "所选居（村）委不属于所选街道（镇），请重新选择。")
		}
		row.CommitteeCode = sql.NullString{String: committee, Valid: true}
	}

	roadRange := strings.TrimSpace(input.RoadRange)
	compound := strings.TrimSpace(input.Compound)
	parity, err := address.ParseParity(input.Parity)
	if err != nil {
		fail("parity", address.CodeInvalidParity, apierror.As(err).Message)
	}
	row.Parity = parity.String()

	switch input.Mode {
	case matching.ModeCommittee:
		if street == "" {
			fail("streetCode", "missing_street", "街道居委模式的规则须选择街道（镇）。")
		}
		refs.rejectUnused(roadRange, compound, fail)
	case matching.ModeRoadRange:
		if roadRange == "" {
			fail("roadRange", "missing_road_range", "详细地址模式的规则须填写门牌范围，例如“漕溪北路100-120号”。")
			break
		}
		parsed, err := address.ParseRange(roadRange, parity)
		if err != nil {
			fail("roadRange", apierror.As(err).Code, apierror.As(err).Message)
			break
		}
		row.Road = sql.NullString{String: parsed.Road, Valid: true}
		row.RoadRange = sql.NullString{String: parsed.String(), Valid: true}
		if compound != "" {
			fail("compound", "compound_not_used", "只有街道居委小区模式的规则填写小区。")
		}
	case matching.ModeCompound:
		if street == "" {
			fail("streetCode", "missing_street", "街道居委小区模式的规则须选择街道（镇）。")
		}
		if committee == "" {
			fail("committeeCode", "missing_committee", "街道居委小区模式的规则须选择居（村）委。")
		}
		switch width := matching.CompoundWidth(compound); {
		case compound == "":
			fail("compound", "missing_compound", "街道居委小区模式的规则须填写小区名称。")
		case width > matching.MaxCompoundWidth:
			fail("compound", "compound_too_wide", fmt.Sprintf(
				"小区名称“%s”过长，手机端一行显示不下：最多 %d 个汉字（字母、数字按半个汉字计）。", compound, matching.MaxCompoundWidth/2))
		case strings.ContainsAny(compound, "<>&\"`\\{}"):
			fail("compound", "invalid_compound_characters", "小区名称不能包含 < > & \" 等符号。")
		}
		row.Compound = sql.NullString{String: compound, Valid: true}
		if roadRange != "" {
			fail("roadRange", "road_range_not_used", "只有详细地址模式的规则填写门牌范围。")
		}
	case matching.ModeOpenList:
		refs.rejectUnused(roadRange, compound, fail)
	}

	if row.Offer == matching.OfferCampus {
		if _, ok := refs.campuses[input.CampusID]; !ok {
			fail("campusId", "campus_not_in_district", "请选择本区的办园点。")
		}
		row.CampusID = sql.NullInt64{Int64: input.CampusID, Valid: true}
	} else if input.CampusID != 0 {
		fail("campusId", "campus_not_used", "提供全部公办园或民办园的规则不能再指定办园点。")
	}
	return row, problems
}

func (refs *references) rejectUnused(roadRange, compound string, fail func(field, code, message string)) {
	if roadRange != "" {
		fail("roadRange", "road_range_not_used", "只有详细地址模式的规则填写门牌范围。")
	}
	if compound != "" {
		fail("compound", "compound_not_used", "只有街道居委小区模式的规则填写小区。")
	}
}
