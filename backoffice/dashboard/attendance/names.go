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

// names resolves the keys of units to their Chinese names. Districts and
// streets are loaded once, because the divisions change only with a
// migration; kindergartens are looked up per request.
type names struct {
	db        *sqlx.DB
	mu        sync.Mutex
	loadedAt  time.Time
	districts map[string]string
	streets   map[string]string
}

func (n *names) divisions(ctx context.Context) (map[string]string, map[string]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.districts != nil && time.Since(n.loadedAt) < time.Hour {
		return n.districts, n.streets, nil
	}
	type division struct {
		Code string `db:"code"`
		Name string `db:"name"`
	}
	var districts, streets []division
	if err := n.db.SelectContext(ctx, &districts, `SELECT code, name FROM district`); err != nil {
		return nil, nil, fmt.Errorf("read district names: %w", err)
	}
	if err := n.db.SelectContext(ctx, &streets, `SELECT code, name FROM street`); err != nil {
		return nil, nil, fmt.Errorf("read street names: %w", err)
	}
	n.districts, n.streets = map[string]string{}, map[string]string{}
	for _, d := range districts {
		n.districts[d.Code] = d.Name
	}
	for _, s := range streets {
		n.streets[s.Code] = s.Name
	}
	n.loadedAt = time.Now()
	return n.districts, n.streets, nil
}

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
		rows, err := n.db.QueryContext(ctx, `SELECT id::text, name FROM kindergarten WHERE id = ANY ($1)`, ids)
		if err != nil {
			return nil, fmt.Errorf("read kindergarten names: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				return nil, err
			}
			result[id] = name
		}
		return result, rows.Err()
	case groupGrade:
		for _, key := range keys {
			if grade, err := strconv.Atoi(key); err == nil && grade > 0 && grade < len(monitoring.GradeLabels) {
				result[key] = monitoring.GradeLabels[grade]
			}
		}
	}
	return result, nil
}
