package attendance

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/monitoring"
)

// names resolves the keys of units to their Chinese names, and drill-down
// parameters to their place. Districts and streets are loaded once an
// hour, because the divisions change only with a migration. Kindergartens
// are looked up by ID and kept for kindergartenMaxAge, so a panel request
// that names one costs no round trip to the database while the entry is
// fresh.
type names struct {
	db              *sqlx.DB
	mu              sync.Mutex
	loadedAt        time.Time
	districts       map[string]string
	streets         map[string]string
	streetDistricts map[string]string
	kindergartens   map[int64]kindergartenEntry
}

// kindergartenEntry is a kindergarten's name and place as read at loadedAt.
type kindergartenEntry struct {
	name         string
	districtCode string
	streetCode   string
	loadedAt     time.Time
}

// kindergartenMaxAge bounds how stale a kindergarten's name and place may
// be. A kindergarten whose district or street changes is checked against
// scopes at its old place for at most this long.
const kindergartenMaxAge = time.Minute

func (n *names) divisions(ctx context.Context) (map[string]string, map[string]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.loadDivisions(ctx); err != nil {
		return nil, nil, err
	}
	return n.districts, n.streets, nil
}

// loadDivisions reads the districts and streets when they are missing or
// an hour old. The caller holds n.mu.
func (n *names) loadDivisions(ctx context.Context) error {
	if n.districts != nil && time.Since(n.loadedAt) < time.Hour {
		return nil
	}
	type division struct {
		Code         string `db:"code"`
		Name         string `db:"name"`
		DistrictCode string `db:"district_code"`
	}
	var districts, streets []division
	if err := n.db.SelectContext(ctx, &districts, `SELECT code, name, '' AS district_code FROM district`); err != nil {
		return fmt.Errorf("read district names: %w", err)
	}
	if err := n.db.SelectContext(ctx, &streets, `SELECT code, name, district_code FROM street`); err != nil {
		return fmt.Errorf("read street names: %w", err)
	}
	n.districts, n.streets, n.streetDistricts = map[string]string{}, map[string]string{}, map[string]string{}
	for _, d := range districts {
		n.districts[d.Code] = d.Name
	}
	for _, s := range streets {
		n.streets[s.Code] = s.Name
		n.streetDistricts[s.Code] = s.DistrictCode
	}
	n.loadedAt = time.Now()
	return nil
}

// district returns a district's name, and false when the code is unknown.
func (n *names) district(ctx context.Context, code string) (string, bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.loadDivisions(ctx); err != nil {
		return "", false, err
	}
	name, ok := n.districts[code]
	return name, ok, nil
}

// street returns a street's name and district code, and false when the
// code is unknown.
func (n *names) street(ctx context.Context, code string) (name, districtCode string, ok bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.loadDivisions(ctx); err != nil {
		return "", "", false, err
	}
	name, ok = n.streets[code]
	return name, n.streetDistricts[code], ok, nil
}

// kindergartenEntries returns the entries of ids that exist, reading from
// the database only those missing or older than kindergartenMaxAge.
func (n *names) kindergartenEntries(ctx context.Context, ids []int64) (map[int64]kindergartenEntry, error) {
	result := make(map[int64]kindergartenEntry, len(ids))
	var missing []int64
	n.mu.Lock()
	for _, id := range ids {
		entry, ok := n.kindergartens[id]
		if ok && time.Since(entry.loadedAt) < kindergartenMaxAge {
			result[id] = entry
		} else {
			missing = append(missing, id)
		}
	}
	n.mu.Unlock()
	if len(missing) == 0 {
		return result, nil
	}

	rows, err := n.db.QueryContext(ctx, `SELECT id, name, district_code, street_code FROM kindergarten WHERE id = ANY ($1)`, missing)
	if err != nil {
		return nil, fmt.Errorf("read kindergarten names: %w", err)
	}
	defer rows.Close()
	now := time.Now()
	var loaded []int64
	for rows.Next() {
		var id int64
		entry := kindergartenEntry{loadedAt: now}
		if err := rows.Scan(&id, &entry.name, &entry.districtCode, &entry.streetCode); err != nil {
			return nil, err
		}
		result[id] = entry
		loaded = append(loaded, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	n.mu.Lock()
	defer n.mu.Unlock()
	if n.kindergartens == nil || len(n.kindergartens) > maxCachedKindergartens {
		n.kindergartens = map[int64]kindergartenEntry{}
	}
	for _, id := range loaded {
		n.kindergartens[id] = result[id]
	}
	return result, nil
}

// maxCachedKindergartens bounds the kindergarten entries kept. Only
// kindergartens that exist are stored, and the bench's 1,600 fit many
// times over, so the map is emptied only in a far larger system.
const maxCachedKindergartens = 20_000

// resolve returns the names of keys of one level: district or street
// codes, kindergarten IDs or grade codes.
func (n *names) resolve(ctx context.Context, level string, keys []string) (map[string]string, error) {
	result := make(map[string]string, len(keys))
	switch level {
	case access.LevelDistrict, access.LevelStreet:
		districts, streets, err := n.divisions(ctx)
		if err != nil {
			return nil, err
		}
		source := districts
		if level == access.LevelStreet {
			source = streets
		}
		for _, key := range keys {
			result[key] = source[key]
		}
	case access.LevelKindergarten:
		ids := make([]int64, 0, len(keys))
		for _, key := range keys {
			if id, err := strconv.ParseInt(key, 10, 64); err == nil {
				ids = append(ids, id)
			}
		}
		entries, err := n.kindergartenEntries(ctx, ids)
		if err != nil {
			return nil, err
		}
		for id, entry := range entries {
			result[strconv.FormatInt(id, 10)] = entry.name
		}
	case groupGrade:
		for _, key := range keys {
			if grade, err := strconv.Atoi(key); err == nil && grade > 0 && grade < len(monitoring.GradeLabels) {
				result[key] = monitoring.GradeLabels[grade]
			}
		}
	}
	return result, nil
}
