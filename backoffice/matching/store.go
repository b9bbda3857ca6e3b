package matching

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// key identifies what a rule does, so that two rules with the same key are
// duplicates.
func (r ruleRow) key() string {
	return strings.Join([]string{
		strconv.Itoa(r.Year), r.DistrictCode, strconv.Itoa(r.Mode), r.Audience, r.Offer, r.StreetCode.String,
		r.CommitteeCode.String, r.RoadRange.String, r.Parity, r.Compound.String, strconv.FormatInt(r.CampusID.Int64, 10),
	}, "|")
}

// existingKeys returns the keys of the stored rules of a district and year,
// with their IDs.
func existingKeys(ctx context.Context, db sqlx.QueryerContext, districtCode string, year int) (map[string]int64, error) {
	const q = `
		SELECT id, enrolment_year, district_code, mode, audience, offer, street_code, committee_code, road_range, parity,
		       compound, campus_id
		FROM matching_rule WHERE district_code = $1 AND enrolment_year = $2`
	rows, err := db.QueryContext(ctx, q, districtCode, year)
	if err != nil {
		return nil, fmt.Errorf("read the matching rules of %s: %w", districtCode, err)
	}
	defer rows.Close()
	keys := map[string]int64{}
	for rows.Next() {
		var id int64
		var row ruleRow
		if err := rows.Scan(&id, &row.Year, &row.DistrictCode, &row.Mode, &row.Audience, &row.Offer, &row.StreetCode,
			&row.CommitteeCode, &row.RoadRange, &row.Parity, &row.Compound, &row.CampusID); err != nil {
			return nil, fmt.Errorf("read the matching rules of %s: %w", districtCode, err)
		}
		keys[row.key()] = id
	}
	return keys, rows.Err()
}

// errDuplicateRule is returned for a rule that repeats a stored one.
func errDuplicateRule(id int64) error {
	return apierror.New(409, "duplicate_matching_rule", fmt.Sprintf("已有相同的匹配规则（编号 %d），无需重复添加。", id))
}

// errRuleNotFound is returned for a rule that does not exist.
var errRuleNotFound = apierror.New(404, "matching_rule_not_found", "未找到该匹配规则，可能已被删除，请刷新列表。")

// ruleColumns ties a rule to a data scope by its district.
var ruleColumns = access.Columns{Districts: []string{"r.district_code"}}

const selectRules = `
	SELECT r.id, r.enrolment_year, r.district_code, r.mode, r.audience, r.offer,
	       COALESCE(r.street_code, '') AS street_code, COALESCE(s.name, '') AS street_name,
	       COALESCE(r.committee_code, '') AS committee_code, COALESCE(m.name, '') AS committee_name,
	       COALESCE(r.road, '') AS road, COALESCE(r.road_range, '') AS road_range, r.parity,
	       COALESCE(r.compound, '') AS compound, COALESCE(r.campus_id, 0) AS campus_id,
	       COALESCE(k.name, '') AS kindergarten_name, COALESCE(c.name, '') AS campus_name, r.updated_at
	FROM matching_rule r
	LEFT JOIN street s ON s.code = r.street_code
	LEFT JOIN committee m ON m.code = r.committee_code
	LEFT JOIN campus c ON c.id = r.campus_id
	LEFT JOIN kindergarten k ON k.id = c.kindergarten_id`

// ListFilter narrows the rule list. Zero values do not filter. Search looks
// in the road range, compound and kindergarten name.
type ListFilter struct {
	Year         int
	DistrictCode string
	Mode         int
	Audience     string
	StreetCode   string
	Search       string
}

// listRules returns one page of the rules in scope that pass the filter,
// newest first, with the total count.
func listRules(ctx context.Context, db *sqlx.DB, scope access.Scope, filter ListFilter, limit, offset int) ([]Rule, int, error) {
	condition := scope.Filter(ruleColumns, 1)
	where := []string{condition.SQL}
	args := append([]any{}, condition.Args...)
	add := func(sqlFormat string, value any) {
		args = append(args, value)
		where = append(where, fmt.Sprintf(sqlFormat, "$"+strconv.Itoa(len(args))))
	}
	if filter.Year != 0 {
		add("r.enrolment_year = %s", filter.Year)
	}
	if filter.DistrictCode != "" {
		add("r.district_code = %s", filter.DistrictCode)
	}
	if filter.Mode != 0 {
		add("r.mode = %s", filter.Mode)
	}
	if filter.Audience != "" {
		add("r.audience = %s", filter.Audience)
	}
	if filter.StreetCode != "" {
		add("r.street_code = %s", filter.StreetCode)
	}
	if filter.Search != "" {
		pattern := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(filter.Search) + "%"
		add("(r.road_range LIKE %[1]s OR r.compound LIKE %[1]s OR k.name LIKE %[1]s)", pattern)
	}
	whereSQL := " WHERE " + strings.Join(where, " AND ")

	var total int
	countQuery := `SELECT count(*) FROM matching_rule r LEFT JOIN campus c ON c.id = r.campus_id
		LEFT JOIN kindergarten k ON k.id = c.kindergarten_id` + whereSQL
	if err := db.GetContext(ctx, &total, countQuery, args...); err != nil {
		return nil, 0, fmt.Errorf("count matching rules: %w", err)
	}
	rules := []Rule{}
	args = append(args, limit, offset)
	query := selectRules + whereSQL + fmt.Sprintf(" ORDER BY r.id DESC LIMIT $%d OFFSET $%d", len(args)-1, len(args))
	if err := db.SelectContext(ctx, &rules, query, args...); err != nil {
		return nil, 0, fmt.Errorf("list matching rules: %w", err)
	}
	return rules, total, nil
}

// getRule returns a rule in scope. It returns errRuleNotFound when there
// is no such rule and access.ErrOutOfScope for another district's rule, so
// the handler returns a 403 and the audit trail records the denial.
func getRule(ctx context.Context, q sqlx.QueryerContext, scope access.Scope, id int64, lock bool) (Rule, error) {
	condition := scope.Filter(ruleColumns, 2)
	query := selectRules + " WHERE r.id = $1 AND " + condition.SQL
	if lock {
		query += " FOR UPDATE OF r"
	}
	var rule Rule
	err := sqlx.GetContext(ctx, q, &rule, query, append([]any{id}, condition.Args...)...)
	if !errors.Is(err, sql.ErrNoRows) {
		return rule, err
	}
	var exists bool
	if err := sqlx.GetContext(ctx, q, &exists, `SELECT EXISTS (SELECT 1 FROM matching_rule WHERE id = $1)`, id); err != nil {
		return Rule{}, err
	}
	if exists {
		return Rule{}, access.ErrOutOfScope
	}
	return Rule{}, errRuleNotFound
}

func insertRule(ctx context.Context, tx *sqlx.Tx, row ruleRow) (int64, error) {
	const q = `
		INSERT INTO matching_rule (enrolment_year, district_code, mode, audience, offer, street_code, committee_code,
		                           road, road_range, parity, compound, campus_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		RETURNING id`
	var id int64
	err := tx.GetContext(ctx, &id, q, row.Year, row.DistrictCode, row.Mode, row.Audience, row.Offer, row.StreetCode,
		row.CommitteeCode, row.Road, row.RoadRange, row.Parity, row.Compound, row.CampusID)
	return id, err
}

func updateRule(ctx context.Context, tx *sqlx.Tx, id int64, row ruleRow) error {
	const q = `
		UPDATE matching_rule SET enrolment_year = $2, mode = $3, audience = $4, offer = $5, street_code = $6,
		       committee_code = $7, road = $8, road_range = $9, parity = $10, compound = $11, campus_id = $12,
		       updated_at = now()
		WHERE id = $1`
	_, err := tx.ExecContext(ctx, q, id, row.Year, row.Mode, row.Audience, row.Offer, row.StreetCode,
		row.CommitteeCode, row.Road, row.RoadRange, row.Parity, row.Compound, row.CampusID)
	return err
}

func deleteRule(ctx context.Context, tx *sqlx.Tx, id int64) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM matching_rule WHERE id = $1`, id)
	return err
}

// currentYear returns the latest enrolment year.
func currentYear(ctx context.Context, db sqlx.QueryerContext) (int, error) {
	var year sql.NullInt64
	if err := sqlx.GetContext(ctx, db, &year, `SELECT max(year) FROM enrolment_year`); err != nil {
		return 0, fmt.Errorf("read the current enrolment year: %w", err)
	}
	if !year.Valid {
		return 0, apierror.New(409, "no_enrolment_year", "尚未设置招生年度，请先由市级管理员设置。")
	}
	return int(year.Int64), nil
}
