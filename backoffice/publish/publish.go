// Package publish builds the edge's configuration snapshot from the
// database and publishes it to Redis, where every edge picks it up without
// a restart.
package publish

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/redis/rueidis"

	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// Publisher builds and publishes snapshots.
type Publisher struct {
	DB    *sqlx.DB
	Redis rueidis.Client
	Keys  enrol.Keys
	Now   func() time.Time
}

// Build reads the snapshot's content from the database.
func (p *Publisher) Build(ctx context.Context) (*snapshot.Snapshot, error) {
	now := p.Now()
	s := &snapshot.Snapshot{Version: now.UnixMilli(), PublishedAt: now.UTC()}
	steps := []struct {
		name string
		load func(context.Context, *snapshot.Snapshot) error
	}{
		{"years", p.loadYears},
		{"divisions", p.loadDivisions},
		{"categories", p.loadCategories},
		{"entries", p.loadEntries},
		{"campuses", p.loadCampuses},
		{"rules", p.loadRules},
		{"forms", p.loadForms},
		{"dictionaries", p.loadDictionaries},
	}
	for _, step := range steps {
		if err := step.load(ctx, s); err != nil {
			return nil, fmt.Errorf("build snapshot: %s: %w", step.name, err)
		}
	}
	return s, nil
}

// Publish builds a snapshot and stores it in Redis with its version, then
// announces the version to subscribed edges.
func (p *Publisher) Publish(ctx context.Context) (*snapshot.Snapshot, error) {
	s, err := p.Build(ctx)
	if err != nil {
		return nil, err
	}
	encoded, err := snapshot.Encode(s)
	if err != nil {
		return nil, err
	}
	version := strconv.FormatInt(s.Version, 10)
	results := p.Redis.DoMulti(ctx,
		p.Redis.B().Set().Key(p.Keys.Snapshot()).Value(rueidis.BinaryString(encoded)).Build(),
		p.Redis.B().Set().Key(p.Keys.SnapshotVersion()).Value(version).Build(),
		p.Redis.B().Publish().Channel(p.Keys.SnapshotChannel()).Message(version).Build())
	for _, result := range results {
		if err := result.Error(); err != nil {
			return nil, fmt.Errorf("publish snapshot: %w", err)
		}
	}
	slog.Info("configuration snapshot published", "version", s.Version, "bytes", len(encoded),
		"entries", len(s.Entries), "campuses", len(s.Campuses), "rules", len(s.Rules))
	return s, nil
}

func (p *Publisher) loadYears(ctx context.Context, s *snapshot.Snapshot) error {
	const q = `
		SELECT year, birth_from, birth_to, registration_opens_at, registration_closes_at,
		       application_opens_at, application_closes_at
		FROM enrolment_year ORDER BY year`
	rows, err := p.DB.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var year snapshot.Year
		var birthFrom, birthTo time.Time
		if err := rows.Scan(&year.Year, &birthFrom, &birthTo, &year.RegistrationOpensAt, &year.RegistrationClosesAt,
			&year.ApplicationOpensAt, &year.ApplicationClosesAt); err != nil {
			return err
		}
		year.BirthFrom, year.BirthTo = birthFrom.Format(time.DateOnly), birthTo.Format(time.DateOnly)
		s.Years = append(s.Years, year)
	}
	return rows.Err()
}

func (p *Publisher) loadDivisions(ctx context.Context, s *snapshot.Snapshot) error {
	if err := p.DB.SelectContext(ctx, &s.Districts, `SELECT code, name FROM district ORDER BY sort_order, code`); err != nil {
		return err
	}
	if err := p.DB.SelectContext(ctx, &s.Streets, `SELECT code, district_code AS "districtcode", name FROM street ORDER BY code`); err != nil {
		return err
	}
	return p.DB.SelectContext(ctx, &s.Committees, `SELECT code, street_code AS "streetcode", name FROM committee ORDER BY code`)
}

func (p *Publisher) loadCategories(ctx context.Context, s *snapshot.Snapshot) error {
	const q = `
		SELECT code, group_code AS "group", group_name AS "groupname", name, COALESCE(parent_code, '') AS "parentcode"
		FROM household_category ORDER BY sort_order`
	return p.DB.SelectContext(ctx, &s.Categories, q)
}

// loadEntries reads the published entries. An entry whose category the
// district's admission rules of the year leave out takes no applications,
// so the edge does not get it and rejects such applications with
// no_entry_for_category. NOTE: an entry published after the district
// saved its rules stays off the edge until the rules list its category.
func (p *Publisher) loadEntries(ctx context.Context, s *snapshot.Snapshot) error {
	const q = `
		SELECT e.id, e.enrolment_year, e.district_code, e.category_code, e.matching_mode, e.max_choices, e.opens_at, e.closes_at
		FROM entry e
		LEFT JOIN admission_rule r ON r.enrolment_year = e.enrolment_year AND r.district_code = e.district_code
		WHERE e.published AND (r.district_code IS NULL OR e.category_code = ANY (r.category_order))
		ORDER BY e.enrolment_year, e.district_code, e.id`
	rows, err := p.DB.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var entry snapshot.Entry
		var opens, closes sql.NullTime
		if err := rows.Scan(&entry.ID, &entry.Year, &entry.DistrictCode, &entry.CategoryCode, &entry.MatchingMode,
			&entry.MaxChoices, &opens, &closes); err != nil {
			return err
		}
		entry.OpensAt, entry.ClosesAt = opens.Time, closes.Time
		s.Entries = append(s.Entries, entry)
	}
	return rows.Err()
}

func (p *Publisher) loadCampuses(ctx context.Context, s *snapshot.Snapshot) error {
	const q = `
		SELECT c.id, k.name AS "kindergartenname", c.name AS "campusname", c.district_code AS "districtcode",
		       c.street_code AS "streetcode", c.address, k.ownership, k.inclusive, k.level
		FROM campus c JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE k.operating_status = 'normal'
		ORDER BY c.id`
	return p.DB.SelectContext(ctx, &s.Campuses, q)
}

// loadRules reads the rules of every mode, leaving the default audience,
// offer and parity empty to keep the snapshot small. A rule naming a campus
// whose kindergarten does not operate normally is left out. A rule offering
// all public or private campuses expands on the edge to the campuses
// published.
func (p *Publisher) loadRules(ctx context.Context, s *snapshot.Snapshot) error {
	const q = `
		SELECT r.enrolment_year, r.district_code, r.mode, COALESCE(r.street_code, ''), COALESCE(r.committee_code, ''),
		       COALESCE(r.campus_id, 0), COALESCE(NULLIF(r.audience, 'local'), ''), COALESCE(NULLIF(r.offer, 'campus'), ''),
		       COALESCE(r.road_range, ''), COALESCE(NULLIF(r.parity, 'all'), ''), COALESCE(r.compound, '')
		FROM matching_rule r
		LEFT JOIN campus c ON c.id = r.campus_id
		LEFT JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE r.campus_id IS NULL OR k.operating_status = 'normal'
		ORDER BY r.enrolment_year, r.district_code, r.id`
	rows, err := p.DB.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var rule snapshot.Rule
		if err := rows.Scan(&rule.Year, &rule.DistrictCode, &rule.Mode, &rule.StreetCode, &rule.CommitteeCode, &rule.CampusID,
			&rule.Audience, &rule.Offer, &rule.RoadRange, &rule.Parity, &rule.Compound); err != nil {
			return err
		}
		s.Rules = append(s.Rules, rule)
	}
	return rows.Err()
}

func (p *Publisher) loadForms(ctx context.Context, s *snapshot.Snapshot) error {
	const q = `
		SELECT DISTINCT ON (kind, district_code, category_code)
		       kind, COALESCE(district_code, ''), COALESCE(category_code, ''), version, body
		FROM form_schema
		ORDER BY kind, district_code, category_code, version DESC`
	rows, err := p.DB.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var form snapshot.Form
		var body []byte
		if err := rows.Scan(&form.Kind, &form.DistrictCode, &form.CategoryCode, &form.Version, &body); err != nil {
			return err
		}
		form.Body = json.RawMessage(body)
		s.Forms = append(s.Forms, form)
	}
	return rows.Err()
}

// loadDictionaries reads every dictionary with its enabled city items and
// all district overrides. A disabled override stays in, because it hides the
// city item in its district.
func (p *Publisher) loadDictionaries(ctx context.Context, s *snapshot.Snapshot) error {
	const q = `
		SELECT d.code, d.name, i.district_code, i.value, i.label, i.sort_order, i.enabled
		FROM dictionary d
		LEFT JOIN dictionary_item i ON i.dictionary_code = d.code AND (i.enabled OR i.district_code IS NOT NULL)
		ORDER BY d.code, i.district_code NULLS FIRST, i.sort_order, i.id`
	rows, err := p.DB.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	s.Dictionaries = []snapshot.Dictionary{}
	var current *snapshot.Dictionary
	for rows.Next() {
		var code, name string
		var district, value, label sql.NullString
		var sortOrder sql.NullInt64
		var enabled sql.NullBool
		if err := rows.Scan(&code, &name, &district, &value, &label, &sortOrder, &enabled); err != nil {
			return err
		}
		if current == nil || current.Code != code {
			s.Dictionaries = append(s.Dictionaries, snapshot.Dictionary{Code: code, Name: name, Items: []snapshot.DictionaryItem{}})
			current = &s.Dictionaries[len(s.Dictionaries)-1]
		}
		if !value.Valid {
			continue // a dictionary without items
		}
		item := snapshot.DictionaryItem{Value: value.String, Label: label.String, SortOrder: int(sortOrder.Int64), Disabled: !enabled.Bool}
		if !district.Valid {
			current.Items = append(current.Items, item)
			continue
		}
		if current.Overrides == nil {
			current.Overrides = map[string][]snapshot.DictionaryItem{}
		}
		current.Overrides[district.String] = append(current.Overrides[district.String], item)
	}
	return rows.Err()
}
