package admission

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// Rule is a district's admission rules for one enrolment year.
type Rule struct {
	Year         int    `json:"year"`
	DistrictCode string `json:"districtCode"`
	// CategoryOrder lists the household categories whose entries take part
	// in admission, highest priority first. The edge takes no applications
	// through the other entries once the rules are published.
	CategoryOrder []string `json:"categoryOrder"`
	// VerifiedCertificates are the certificate codes (form_certificate.code)
	// that a reviewer checks before marking an application documents
	// verified (验证通过), in the order the review page lists them.
	VerifiedCertificates []string `json:"verifiedCertificates"`
	// RequireDocumentsVerified admits only applications with the status
	// documents_verified whose every certificate in VerifiedCertificates
	// has a verified check. It needs at least one such certificate.
	RequireDocumentsVerified bool `json:"requireDocumentsVerified"`
	// PriorityCriteria order the children within a campus, most important
	// first.
	PriorityCriteria []string `json:"priorityCriteria"`
	SeatGrade        string   `json:"seatGrade"`
	// Saved is false for the default rules of a district that has saved
	// none.
	Saved         bool       `json:"saved"`
	UpdatedByName string     `json:"updatedBy,omitempty"`
	UpdatedAt     *time.Time `json:"updatedAt,omitempty"`
}

// ruleInput is the body of PUT /api/v1/admission/rules.
type ruleInput struct {
	Year                     int      `json:"year"`
	DistrictCode             string   `json:"districtCode"`
	CategoryOrder            []string `json:"categoryOrder"`
	VerifiedCertificates     []string `json:"verifiedCertificates"`
	RequireDocumentsVerified bool     `json:"requireDocumentsVerified"`
	PriorityCriteria         []string `json:"priorityCriteria"`
	SeatGrade                string   `json:"seatGrade"`
}

// seatGrades are the seat_plan grades admission may fill, with their names.
var seatGrades = map[string]string{
	"nursery": "托班", "junior": "小班", "middle": "中班", "senior": "大班", "mixed": "混龄班",
}

// defaultCriteria is the order a district gets before it saves its own.
var defaultCriteria = []string{CriterionCategory, CriterionHukouInDistrict, CriterionHukouAtResidence,
	CriterionResidenceDuration, CriterionChoiceOrder}

// errRulesConfirmed is returned for a change of the rules after the
// district confirmed its admission list.
var errRulesConfirmed = apierror.New(http.StatusConflict, "admission_confirmed",
	"本区本年度录取名单已确认，录取规则不能再修改。")

// districtEntries returns the household categories of a district's
// published entries in a year, in the dictionary's order.
func districtEntries(ctx context.Context, q sqlx.QueryerContext, year int, district string) ([]string, error) {
	var categories []string
	err := sqlx.SelectContext(ctx, q, &categories, `
		SELECT e.category_code FROM entry e JOIN household_category c ON c.code = e.category_code
		WHERE e.enrolment_year = $1 AND e.district_code = $2 AND e.published
		ORDER BY c.sort_order`, year, district)
	return categories, err
}

// loadRule returns the district's saved rules, or the default rules when
// it has saved none: every entry's category in the dictionary's order, all
// criteria, the junior grade, and no verification required.
func loadRule(ctx context.Context, q sqlx.QueryerContext, year int, district string) (Rule, error) {
	typeMap := pgtype.NewMap()
	rule := Rule{Year: year, DistrictCode: district}
	var updatedAt time.Time
	err := q.QueryRowxContext(ctx, `
		SELECT category_order, verified_certificates, require_documents_verified, priority_criteria, seat_grade,
		       updated_by_name, updated_at
		FROM admission_rule WHERE enrolment_year = $1 AND district_code = $2`, year, district).
		Scan(typeMap.SQLScanner(&rule.CategoryOrder), typeMap.SQLScanner(&rule.VerifiedCertificates),
			&rule.RequireDocumentsVerified, typeMap.SQLScanner(&rule.PriorityCriteria), &rule.SeatGrade,
			&rule.UpdatedByName, &updatedAt)
	if err == nil {
		rule.Saved, rule.UpdatedAt = true, &updatedAt
		return rule, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return rule, fmt.Errorf("read the admission rules of %s %d: %w", district, year, err)
	}
	if rule.CategoryOrder, err = districtEntries(ctx, q, year, district); err != nil {
		return rule, err
	}
	rule.VerifiedCertificates = []string{}
	rule.PriorityCriteria = slices.Clone(defaultCriteria)
	rule.SeatGrade = "junior"
	return rule, nil
}

// checkRule validates an input against the district's entries and
// certificates and returns the rule to store.
// categoryName returns a household category's Chinese name for a message,
// or the code itself when the category is unknown.
func categoryName(ctx context.Context, q sqlx.QueryerContext, code string) string {
	var name string
	if err := sqlx.GetContext(ctx, q, &name, `SELECT name FROM household_category WHERE code = $1`, code); err != nil {
		return code
	}
	return name
}

func checkRule(ctx context.Context, q sqlx.QueryerContext, input ruleInput) (Rule, error) {
	rule := Rule{
		Year: input.Year, DistrictCode: input.DistrictCode, RequireDocumentsVerified: input.RequireDocumentsVerified,
		SeatGrade: strings.TrimSpace(input.SeatGrade),
	}
	entries, err := districtEntries(ctx, q, input.Year, input.DistrictCode)
	if err != nil {
		return rule, err
	}
	if len(input.CategoryOrder) == 0 {
		return rule, apierror.Invalid("categoryOrder", "categories_required", "请至少选择一个参加录取的报名入口（户籍类别）。")
	}
	for _, category := range input.CategoryOrder {
		if !slices.Contains(entries, category) {
			return rule, apierror.Invalid("categoryOrder", "category_without_entry",
				"本区本年度没有“"+categoryName(ctx, q, category)+"”的报名入口，请从已发布的入口中选择。")
		}
		if slices.Contains(rule.CategoryOrder, category) {
			return rule, apierror.Invalid("categoryOrder", "duplicate_category", "户籍类别“"+categoryName(ctx, q, category)+"”重复，请每类只选一次。")
		}
		rule.CategoryOrder = append(rule.CategoryOrder, category)
	}

	rule.PriorityCriteria = []string{}
	for _, criterion := range input.PriorityCriteria {
		if _, ok := criterionName(criterion); !ok {
			return rule, apierror.Invalid("priorityCriteria", "unknown_criterion", "优先条件“"+criterion+"”无效。")
		}
		if slices.Contains(rule.PriorityCriteria, criterion) {
			return rule, apierror.Invalid("priorityCriteria", "duplicate_criterion", "优先条件不能重复。")
		}
		rule.PriorityCriteria = append(rule.PriorityCriteria, criterion)
	}

	if rule.SeatGrade == "" {
		rule.SeatGrade = "junior"
	}
	if _, ok := seatGrades[rule.SeatGrade]; !ok {
		return rule, apierror.Invalid("seatGrade", "invalid_seat_grade", "招生年级应为托班、小班、中班、大班或混龄班。")
	}

	rule.VerifiedCertificates = []string{}
	if len(input.VerifiedCertificates) > maxVerifiedCertificates {
		return rule, apierror.Invalid("verifiedCertificates", "too_many_certificates",
			fmt.Sprintf("需验证的证件材料最多选择 %d 种。", maxVerifiedCertificates))
	}
	for _, code := range input.VerifiedCertificates {
		var exists bool
		err := sqlx.GetContext(ctx, q, &exists, `
			SELECT EXISTS (SELECT 1 FROM form_certificate WHERE code = $1 AND (district_code IS NULL OR district_code = $2))`,
			code, input.DistrictCode)
		if err != nil {
			return rule, err
		}
		if !exists {
			return rule, apierror.Invalid("verifiedCertificates", "unknown_certificate", "证件材料“"+code+"”不存在，请从材料库中选择。")
		}
		if !slices.Contains(rule.VerifiedCertificates, code) {
			rule.VerifiedCertificates = append(rule.VerifiedCertificates, code)
		}
	}
	if rule.RequireDocumentsVerified && len(rule.VerifiedCertificates) == 0 {
		return rule, apierror.Invalid("verifiedCertificates", "verified_certificates_required",
			"启用“仅录取材料验证通过的报名”时，请至少选择一种需验证的证件材料。")
	}
	return rule, nil
}

// maxVerifiedCertificates bounds the certificate types one rule verifies,
// so the review page stays one screen.
const maxVerifiedCertificates = 10

// CertificatesToVerify returns the certificates a district's rules for
// the year list for verification, with their names in the district's
// certificate library, in the rules' order. It returns none when the
// district saved no rules.
func CertificatesToVerify(ctx context.Context, q sqlx.QueryerContext, year int, district string) ([]Option, error) {
	rule, err := loadRule(ctx, q, year, district)
	if err != nil {
		return nil, err
	}
	library, err := libraryCertificates(ctx, q, district)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(library))
	for _, certificate := range library {
		names[certificate.Value] = certificate.Label
	}
	certificates := make([]Option, 0, len(rule.VerifiedCertificates))
	for _, code := range rule.VerifiedCertificates {
		certificates = append(certificates, Option{Value: code, Label: cmp.Or(names[code], code)})
	}
	return certificates, nil
}

// libraryCertificates returns the certificate library in a district, by
// code: the district's override where it has one, else the city's row.
func libraryCertificates(ctx context.Context, q sqlx.QueryerContext, district string) ([]Option, error) {
	certificates := []Option{}
	err := sqlx.SelectContext(ctx, q, &certificates, `
		SELECT DISTINCT ON (code) code AS value, name AS label FROM form_certificate
		WHERE district_code IS NULL OR district_code = $1
		ORDER BY code, district_code NULLS LAST`, district)
	return certificates, err
}

// saveRule stores the rule inside tx, replacing the district's rule for
// the year.
func saveRule(ctx context.Context, tx *sqlx.Tx, rule Rule, staffID int64, staffName string) error {
	const q = `
		INSERT INTO admission_rule (enrolment_year, district_code, category_order, verified_certificates,
		                            require_documents_verified, priority_criteria, seat_grade, updated_by, updated_by_name)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (enrolment_year, district_code) DO UPDATE SET
			category_order = EXCLUDED.category_order, verified_certificates = EXCLUDED.verified_certificates,
			require_documents_verified = EXCLUDED.require_documents_verified,
			priority_criteria = EXCLUDED.priority_criteria, seat_grade = EXCLUDED.seat_grade,
			updated_by = EXCLUDED.updated_by, updated_by_name = EXCLUDED.updated_by_name, updated_at = now()`
	_, err := tx.ExecContext(ctx, q, rule.Year, rule.DistrictCode, rule.CategoryOrder, rule.VerifiedCertificates,
		rule.RequireDocumentsVerified, rule.PriorityCriteria, rule.SeatGrade, staffID, staffName)
	return err
}

// RuleOptions are the choices the rule page offers for a district and year.
type RuleOptions struct {
	Categories   []Option `json:"categories"`
	Certificates []Option `json:"certificates"`
	Criteria     []Option `json:"criteria"`
	SeatGrades   []Option `json:"seatGrades"`
}

// Option is a code with its Chinese name.
type Option struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

func loadOptions(ctx context.Context, q sqlx.QueryerContext, year int, district string) (RuleOptions, error) {
	options := RuleOptions{Categories: []Option{}, Certificates: []Option{}, Criteria: []Option{}, SeatGrades: []Option{}}
	err := sqlx.SelectContext(ctx, q, &options.Categories, `
		SELECT e.category_code AS value, c.name AS label FROM entry e JOIN household_category c ON c.code = e.category_code
		WHERE e.enrolment_year = $1 AND e.district_code = $2 AND e.published
		ORDER BY c.sort_order`, year, district)
	if err != nil {
		return options, err
	}
	if options.Certificates, err = libraryCertificates(ctx, q, district); err != nil {
		return options, err
	}
	for _, criterion := range criterionNames {
		options.Criteria = append(options.Criteria, Option{Value: criterion.Code, Label: criterion.Name})
	}
	for _, grade := range []string{"nursery", "junior", "middle", "senior", "mixed"} {
		options.SeatGrades = append(options.SeatGrades, Option{Value: grade, Label: seatGrades[grade]})
	}
	return options, nil
}
