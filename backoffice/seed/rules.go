package seed

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Matching rules of mode 1 map a committee (or a whole street without
// committees) to the campuses its families may choose.
const (
	maxLocalCampuses    = 3 // public campuses in the same street per committee
	fallbackCampusCount = 2 // public campuses elsewhere in the district when the street has none
)

type matchingRule struct {
	districtCode  string
	streetCode    string
	committeeCode string // "" for a rule that covers the whole street
	campusID      int64
}

type ruleCampus struct {
	id           int64
	districtCode string
	streetCode   string
	location     point
	public       bool // of a public kindergarten that is operating normally
}

// insertMatchingRules generates the mode-1 rules of every year that has none
// yet. A year that already has mode-1 rules is skipped rather than replaced,
// because the table does not record which rules seed made, and deleting them
// would also delete rules that the back office edited.
func insertMatchingRules(ctx context.Context, tx *sqlx.Tx, years []int) error {
	var pending []int
	for _, year := range years {
		var exists bool
		err := tx.GetContext(ctx, &exists,
			`SELECT EXISTS (SELECT 1 FROM matching_rule WHERE enrolment_year = $1 AND mode = 1)`, year)
		if err != nil {
			return fmt.Errorf("seed: look up matching rules of %d: %w", year, err)
		}
		if exists {
			slog.Info("matching rules kept, because the year already has mode-1 rules", "year", year)
			continue
		}
		pending = append(pending, year)
	}
	if len(pending) == 0 {
		return nil
	}

	rules, err := planMatchingRules(ctx, tx)
	if err != nil {
		return err
	}
	var (
		yearColumn                                 []int32
		districtCodes, streetCodes, committeeCodes []string
		campusIDs                                  []int64
	)
	for _, year := range pending {
		for _, rule := range rules {
			yearColumn = append(yearColumn, int32(year))
			districtCodes = append(districtCodes, rule.districtCode)
			streetCodes = append(streetCodes, rule.streetCode)
			committeeCodes = append(committeeCodes, rule.committeeCode)
			campusIDs = append(campusIDs, rule.campusID)
		}
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO matching_rule (enrolment_year, district_code, mode, street_code, committee_code, campus_id)
		SELECT year, district_code, 1, street_code, NULLIF(committee_code, ''), campus_id
		FROM unnest($1::int4[], $2::text[], $3::text[], $4::text[], $5::int8[])
			AS r(year, district_code, street_code, committee_code, campus_id)`,
		yearColumn, districtCodes, streetCodes, committeeCodes, campusIDs)
	if err != nil {
		return fmt.Errorf("seed: insert matching rules for %v: %w", pending, err)
	}
	return nil
}

// planMatchingRules reads the divisions and campuses in the database and
// gives every committee the public campuses of its street. A street with at
// most three gives all of them. A street with more gives three to each
// committee in turn, so that its committees share the campuses evenly.
// A street without public campuses gets two public campuses of its district
// from nearestPublicCampuses. A street without committees gets the same
// choice as one street-wide rule.
func planMatchingRules(ctx context.Context, tx *sqlx.Tx) ([]matchingRule, error) {
	campuses, err := readRuleCampuses(ctx, tx)
	if err != nil {
		return nil, err
	}
	publicByStreet := map[string][]ruleCampus{}
	publicByDistrict := map[string][]ruleCampus{}
	allByStreet := map[string][]ruleCampus{}
	for _, c := range campuses {
		allByStreet[c.streetCode] = append(allByStreet[c.streetCode], c)
		if c.public {
			publicByStreet[c.streetCode] = append(publicByStreet[c.streetCode], c)
			publicByDistrict[c.districtCode] = append(publicByDistrict[c.districtCode], c)
		}
	}

	var streets []struct {
		Code         string `db:"code"`
		DistrictCode string `db:"district_code"`
	}
	if err := tx.SelectContext(ctx, &streets, `SELECT code, district_code FROM street ORDER BY code`); err != nil {
		return nil, fmt.Errorf("seed: read streets: %w", err)
	}
	var committees []struct {
		Code       string `db:"code"`
		StreetCode string `db:"street_code"`
	}
	if err := tx.SelectContext(ctx, &committees, `SELECT code, street_code FROM committee ORDER BY code`); err != nil {
		return nil, fmt.Errorf("seed: read committees: %w", err)
	}
	committeesByStreet := map[string][]string{}
	for _, c := range committees {
		committeesByStreet[c.StreetCode] = append(committeesByStreet[c.StreetCode], c.Code)
	}

	var rules []matchingRule
	for _, row := range streets {
		streetCode, districtCode := row.Code, row.DistrictCode
		local := publicByStreet[streetCode]
		var fallback []ruleCampus
		if len(local) == 0 {
			fallback = nearestPublicCampuses(streetCode, allByStreet[streetCode], publicByDistrict[districtCode])
			if len(fallback) == 0 {
				return nil, fmt.Errorf("seed: district %s has no campus of a public kindergarten, so street %s gets no matching rule",
					districtCode, streetCode)
			}
		}
		choose := func(committeeIndex int) []ruleCampus {
			switch {
			case len(local) == 0:
				return fallback
			case len(local) <= maxLocalCampuses:
				return local
			}
			chosen := make([]ruleCampus, maxLocalCampuses)
			for k := range chosen {
				chosen[k] = local[(committeeIndex*maxLocalCampuses+k)%len(local)]
			}
			return chosen
		}

		streetCommittees := committeesByStreet[streetCode]
		if len(streetCommittees) == 0 {
			for _, c := range choose(0) {
				rules = append(rules, matchingRule{districtCode: districtCode, streetCode: streetCode, campusID: c.id})
			}
			continue
		}
		for i, committeeCode := range streetCommittees {
			for _, c := range choose(i) {
				rules = append(rules, matchingRule{
					districtCode: districtCode, streetCode: streetCode, committeeCode: committeeCode, campusID: c.id,
				})
			}
		}
	}
	return rules, nil
}

// nearestPublicCampuses returns up to fallbackCampusCount of the district's
// public campuses: the nearest to the mean position of the street's campuses,
// or, for a street with no campus, the lowest by a hash of street code and
// campus id. Ties go to the lower campus id.
func nearestPublicCampuses(streetCode string, streetCampuses, districtPublic []ruleCampus) []ruleCampus {
	type ranked struct {
		campus ruleCampus
		key    float64
	}
	candidates := make([]ranked, len(districtPublic))
	if len(streetCampuses) > 0 {
		var centre point
		for _, c := range streetCampuses {
			centre.lon += c.location.lon
			centre.lat += c.location.lat
		}
		centre.lon /= float64(len(streetCampuses))
		centre.lat /= float64(len(streetCampuses))
		for i, c := range districtPublic {
			candidates[i] = ranked{campus: c, key: squaredDistance(centre, c.location)}
		}
	} else {
		for i, c := range districtPublic {
			hash := fnv.New64a()
			hash.Write([]byte(streetCode + ":" + strconv.FormatInt(c.id, 10)))
			// 53 bits convert to float64 exactly.
			candidates[i] = ranked{campus: c, key: float64(hash.Sum64() >> 11)}
		}
	}
	slices.SortFunc(candidates, func(a, b ranked) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.campus.id, b.campus.id))
	})
	var chosen []ruleCampus
	for _, candidate := range candidates[:min(fallbackCampusCount, len(candidates))] {
		chosen = append(chosen, candidate.campus)
	}
	return chosen
}

// readRuleCampuses reads every campus in id order. Only campuses of public
// kindergartens that operate normally are offered in rules.
func readRuleCampuses(ctx context.Context, tx *sqlx.Tx) ([]ruleCampus, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT c.id, c.district_code, c.street_code, c.longitude::float8, c.latitude::float8,
			k.ownership = 'public' AND k.operating_status = 'normal'
		FROM campus AS c
		JOIN kindergarten AS k ON k.id = c.kindergarten_id
		ORDER BY c.id`)
	if err != nil {
		return nil, fmt.Errorf("seed: read campuses: %w", err)
	}
	defer rows.Close()
	var campuses []ruleCampus
	for rows.Next() {
		var c ruleCampus
		if err := rows.Scan(&c.id, &c.districtCode, &c.streetCode, &c.location.lon, &c.location.lat, &c.public); err != nil {
			return nil, fmt.Errorf("seed: read campuses: %w", err)
		}
		c.districtCode = strings.TrimSpace(c.districtCode)
		c.streetCode = strings.TrimSpace(c.streetCode)
		campuses = append(campuses, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("seed: read campuses: %w", err)
	}
	return campuses, nil
}
