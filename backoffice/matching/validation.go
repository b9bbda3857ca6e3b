package matching

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/shared/address"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/matching"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// Validator runs a district's matching rules over the year's registration
// addresses.
type Validator struct {
	DB      *sqlx.DB
	Keyring *crypto.Keyring
	// Workers is the number of goroutines that open and match addresses;
	// 0 means GOMAXPROCS.
	Workers int
}

// CampusCount is the number of registrations the rules match to one campus.
type CampusCount struct {
	CampusID         int64  `json:"campusId"`
	KindergartenName string `json:"kindergartenName"`
	CampusName       string `json:"campusName"`
	Registrations    int    `json:"registrations"`
}

// Unmatched is a registration address that no rule matches, with the
// reason in Chinese.
type Unmatched struct {
	RegistrationNumber string `json:"registrationNumber"`
	StreetCode         string `json:"streetCode"`
	StreetName         string `json:"streetName"`
	CommitteeCode      string `json:"committeeCode"`
	CommitteeName      string `json:"committeeName"`
	Address            string `json:"address"`
	Reason             string `json:"reason"`
}

// Result is the outcome of a validation. MatchRate is Matched divided by
// Registrations, 0 when there are none. Campuses are ordered by count, most
// first, and Unmatched by registration number.
type Result struct {
	Year          int           `json:"year"`
	DistrictCode  string        `json:"districtCode"`
	Rules         int           `json:"rules"`
	Registrations int           `json:"registrations"`
	Matched       int           `json:"matched"`
	MatchRate     float64       `json:"matchRate"`
	Campuses      []CampusCount `json:"campuses"`
	Unmatched     []Unmatched   `json:"-"`
	Elapsed       time.Duration `json:"-"`
}

// Reasons an address is unmatched.
const (
	reasonNoRule     = "没有匹配的规则"
	reasonUnreadable = "地址无法解密，请联系系统管理员"
)

// validationBatch is the number of registrations a worker takes at a time.
const validationBatch = 1024

type registrationAddress struct {
	number    string
	street    string
	committee string
	sealed    []byte
	group     string
	// byHukou marks a child matched by the hukou address: the hukou is in
	// the district but the family lives elsewhere.
	byHukou bool
}

// workerResult is the tally of one validation worker.
type workerResult struct {
	matched   int
	campuses  map[int64]int
	unmatched []Unmatched
	failures  int
}

// Validate matches the address of every registration of year that may
// apply in district (and is in scope) against the district's rules, as the
// edge would with no entry chosen: every mode, and the out-of-province
// rules for out-of-province children. A child living in the district is
// matched by the residence address, a child with a hukou in the district
// who lives elsewhere by the hukou address, as the application pre-check
// does. Addresses are opened in batches by parallel workers while the rows
// stream in.
func (v *Validator) Validate(ctx context.Context, scope access.Scope, districtCode string, year int) (*Result, error) {
	started := time.Now()
	rules, campuses, err := loadDistrictRules(ctx, v.DB, districtCode, year)
	if err != nil {
		return nil, err
	}
	index, err := matching.New(rules, campuses)
	if err != nil {
		return nil, fmt.Errorf("matching validation of %s: %w", districtCode, err)
	}
	names, err := loadDivisionNames(ctx, v.DB, districtCode)
	if err != nil {
		return nil, err
	}

	workers := v.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	batches := make(chan []registrationAddress, workers)
	results := make([]workerResult, workers)
	var group sync.WaitGroup
	for i := range workers {
		group.Add(1)
		go func() {
			defer group.Done()
			results[i] = v.matchBatches(batches, index, names, districtCode, year)
		}()
	}
	total, readErr := streamAddresses(ctx, v.DB, scope, districtCode, year, batches)
	close(batches)
	group.Wait()
	if readErr != nil {
		return nil, readErr
	}

	result := &Result{Year: year, DistrictCode: districtCode, Rules: len(rules), Registrations: total, Unmatched: []Unmatched{}}
	counts := map[int64]int{}
	failures := 0
	for _, worker := range results {
		result.Matched += worker.matched
		result.Unmatched = append(result.Unmatched, worker.unmatched...)
		for id, count := range worker.campuses {
			counts[id] += count
		}
		failures += worker.failures
	}
	if failures > 0 {
		slog.Error("matching validation could not open some registration addresses", "district", districtCode,
			"year", year, "addresses", failures)
	}
	if total > 0 {
		result.MatchRate = float64(result.Matched) / float64(total)
	}
	slices.SortFunc(result.Unmatched, func(a, b Unmatched) int { return cmp.Compare(a.RegistrationNumber, b.RegistrationNumber) })
	result.Campuses = campusCounts(counts, campuses)
	result.Elapsed = time.Since(started)
	return result, nil
}

func (v *Validator) matchBatches(batches <-chan []registrationAddress, index *matching.Index, names *divisionNames,
	districtCode string, year int) workerResult {
	result := workerResult{campuses: map[int64]int{}}
	matched := make([]int64, 0, 16)
	for batch := range batches {
		for i := range batch {
			registration := &batch[i]
			context := enrol.ContextResidenceAddress
			if registration.byHukou {
				context = enrol.ContextHukouAddress
			}
			var plain []byte
			if len(registration.sealed) > 0 {
				var err error
				if plain, err = v.Keyring.Open(registration.sealed, context); err != nil {
					result.failures++
					result.unmatched = append(result.unmatched, names.unmatched(registration, "", reasonUnreadable))
					continue
				}
			}
			text := address.Normalise(string(plain))
			query := matching.Query{
				Year: year, DistrictCode: districtCode, StreetCode: registration.street,
				CommitteeCode: registration.committee, AddressText: text,
			}
			parsed, parseErr := address.Parse(text)
			if parseErr == nil {
				query.Address = &parsed
			}
			if registration.group == enrol.GroupOtherProvince {
				query.Audience = matching.AudienceOtherProvince
			}
			matched = index.Match(&query, matched[:0])
			if len(matched) == 0 {
				reason := reasonNoRule
				if parseErr != nil {
					reason = reasonNoRule + "；" + apierror.As(parseErr).Message
				}
				result.unmatched = append(result.unmatched, names.unmatched(registration, string(plain), reason))
				continue
			}
			result.matched++
			for _, id := range matched {
				result.campuses[id]++
			}
		}
	}
	return result
}

// streamAddresses sends the registrations in batches and returns how many
// it read.
func streamAddresses(ctx context.Context, db *sqlx.DB, scope access.Scope, districtCode string, year int,
	batches chan<- []registrationAddress) (int, error) {
	condition := scope.Filter(access.Columns{Districts: []string{"residence_district_code", "hukou_district_code"}}, 3)
	q := `
		SELECT registration_number, category_group, residence_district_code <> $2 AS by_hukou,
		       CASE WHEN residence_district_code = $2 THEN residence_street_code ELSE COALESCE(hukou_street_code, '') END,
		       CASE WHEN residence_district_code = $2 THEN COALESCE(residence_committee_code, '') ELSE COALESCE(hukou_committee_code, '') END,
		       CASE WHEN residence_district_code = $2 THEN residence_address ELSE hukou_address END
		FROM registration
		WHERE enrolment_year = $1 AND (residence_district_code = $2 OR hukou_district_code = $2) AND ` + condition.SQL
	rows, err := db.QueryContext(ctx, q, append([]any{year, districtCode}, condition.Args...)...)
	if err != nil {
		return 0, fmt.Errorf("read registration addresses of %s: %w", districtCode, err)
	}
	defer rows.Close()
	total := 0
	batch := make([]registrationAddress, 0, validationBatch)
	for rows.Next() {
		var registration registrationAddress
		if err := rows.Scan(&registration.number, &registration.group, &registration.byHukou, &registration.street,
			&registration.committee, &registration.sealed); err != nil {
			return total, fmt.Errorf("read registration addresses of %s: %w", districtCode, err)
		}
		batch = append(batch, registration)
		total++
		if len(batch) == validationBatch {
			batches <- batch
			batch = make([]registrationAddress, 0, validationBatch)
		}
	}
	if len(batch) > 0 {
		batches <- batch
	}
	if err := rows.Err(); err != nil {
		return total, fmt.Errorf("read registration addresses of %s: %w", districtCode, err)
	}
	return total, nil
}

// loadDistrictRules reads the rules of one district and year, and the
// district's operating campuses, in the snapshot's form.
func loadDistrictRules(ctx context.Context, db *sqlx.DB, districtCode string, year int) ([]snapshot.Rule, []snapshot.Campus, error) {
	const rulesQuery = `
		SELECT r.enrolment_year AS year, r.district_code AS districtcode, r.mode,
		       COALESCE(r.street_code, '') AS streetcode, COALESCE(r.committee_code, '') AS committeecode,
		       COALESCE(r.campus_id, 0) AS campusid, r.audience, r.offer,
		       COALESCE(r.road_range, '') AS roadrange, r.parity, COALESCE(r.compound, '') AS compound
		FROM matching_rule r
		LEFT JOIN campus c ON c.id = r.campus_id
		LEFT JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE r.district_code = $1 AND r.enrolment_year = $2 AND (r.campus_id IS NULL OR k.operating_status = 'normal')
		ORDER BY r.id`
	var rules []snapshot.Rule
	if err := db.SelectContext(ctx, &rules, rulesQuery, districtCode, year); err != nil {
		return nil, nil, fmt.Errorf("read matching rules of %s: %w", districtCode, err)
	}
	const campusesQuery = `
		SELECT c.id, k.name AS kindergartenname, c.name AS campusname, c.district_code AS districtcode,
		       c.street_code AS streetcode, c.address, k.ownership, k.inclusive, k.level
		FROM campus c JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE c.district_code = $1 AND k.operating_status = 'normal'
		ORDER BY c.id`
	var campuses []snapshot.Campus
	if err := db.SelectContext(ctx, &campuses, campusesQuery, districtCode); err != nil {
		return nil, nil, fmt.Errorf("read campuses of %s: %w", districtCode, err)
	}
	return rules, campuses, nil
}

func campusCounts(counts map[int64]int, campuses []snapshot.Campus) []CampusCount {
	list := make([]CampusCount, 0, len(counts))
	for _, campus := range campuses {
		if count := counts[campus.ID]; count > 0 {
			list = append(list, CampusCount{
				CampusID: campus.ID, KindergartenName: campus.KindergartenName, CampusName: campus.CampusName, Registrations: count,
			})
		}
	}
	slices.SortStableFunc(list, func(a, b CampusCount) int { return cmp.Compare(b.Registrations, a.Registrations) })
	return list
}

// divisionNames are the street and committee names of one district.
type divisionNames struct {
	streets    map[string]string
	committees map[string]string
}

func loadDivisionNames(ctx context.Context, db *sqlx.DB, districtCode string) (*divisionNames, error) {
	refs, err := loadReferences(ctx, db, districtCode)
	if err != nil {
		return nil, err
	}
	names := &divisionNames{streets: refs.streets, committees: make(map[string]string, len(refs.committees))}
	for code, committee := range refs.committees {
		names.committees[code] = committee.name
	}
	return names, nil
}

func (n *divisionNames) unmatched(registration *registrationAddress, text, reason string) Unmatched {
	return Unmatched{
		RegistrationNumber: registration.number, StreetCode: registration.street, StreetName: n.streets[registration.street],
		CommitteeCode: registration.committee, CommitteeName: n.committees[registration.committee], Address: text, Reason: reason,
	}
}

// ValidationCommand runs a validation for the command line. It prints the
// registration numbers and reasons of the unmatched addresses (not the
// addresses, which are personal data), then the summary as one line of
// name=value figures.
func ValidationCommand(ctx context.Context, db *sqlx.DB, keyring *crypto.Keyring, districtCode string, year int,
	printf func(format string, args ...any)) error {
	if year == 0 {
		var err error
		if year, err = currentYear(ctx, db); err != nil {
			return err
		}
	}
	var known bool
	if err := db.GetContext(ctx, &known, `SELECT EXISTS (SELECT 1 FROM district WHERE code = $1)`, districtCode); err != nil {
		return err
	}
	if !known {
		return fmt.Errorf("unknown district %q: give a district code of Shanghai, such as 310104", districtCode)
	}
	validator := &Validator{DB: db, Keyring: keyring}
	result, err := validator.Validate(ctx, access.Scope{Level: access.LevelCity}, districtCode, year)
	if err != nil {
		return err
	}
	for _, unmatched := range result.Unmatched {
		printf("unmatched %s %s %s: %s\n", unmatched.RegistrationNumber, unmatched.StreetName, unmatched.CommitteeName, unmatched.Reason)
	}
	printf("district=%s year=%d rules=%d registrations=%d matched=%d match_rate=%.4f elapsed_ms=%d\n",
		districtCode, year, result.Rules, result.Registrations, result.Matched, result.MatchRate, result.Elapsed.Milliseconds())
	return nil
}
