package dashboard

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
)

// Where is the WHERE clause of one query under construction: conditions
// and their arguments, with placeholders numbered in the order added.
type Where struct {
	parts []string
	Args  []any
}

// Next returns the number of the next placeholder.
func (w *Where) Next() int { return len(w.Args) + 1 }

// Add appends a condition built with placeholders from Next.
func (w *Where) Add(condition access.Condition) {
	w.parts = append(w.parts, condition.SQL)
	w.Args = append(w.Args, condition.Args...)
}

// AddValue appends a condition with one argument, written as format with
// %s standing for its placeholder.
func (w *Where) AddValue(format string, value any) {
	w.parts = append(w.parts, fmt.Sprintf(format, "$"+strconv.Itoa(w.Next())))
	w.Args = append(w.Args, value)
}

// SQL returns the conditions joined by AND.
func (w *Where) SQL() string {
	if len(w.parts) == 0 {
		return "TRUE"
	}
	return strings.Join(w.parts, " AND ")
}

// Names looks up the Chinese names of districts, streets and
// kindergartens. It reads districts and streets once, and kindergartens
// on each request.
type Names struct {
	DB *sqlx.DB

	once      sync.Once
	err       error
	districts map[string]string
	streets   map[string]street
}

type street struct {
	name, district string
}

func (n *Names) load(ctx context.Context) error {
	n.once.Do(func() {
		var districts []struct{ Code, Name string }
		if err := n.DB.SelectContext(ctx, &districts, `SELECT code, name FROM district`); err != nil {
			n.err = fmt.Errorf("read districts: %w", err)
			return
		}
		var streets []struct {
			Code     string
			Name     string
			District string `db:"district_code"`
		}
		if err := n.DB.SelectContext(ctx, &streets, `SELECT code, name, district_code FROM street`); err != nil {
			n.err = fmt.Errorf("read streets: %w", err)
			return
		}
		n.districts = make(map[string]string, len(districts))
		for _, d := range districts {
			n.districts[d.Code] = d.Name
		}
		n.streets = make(map[string]street, len(streets))
		for _, s := range streets {
			n.streets[s.Code] = street{name: s.Name, district: s.District}
		}
	})
	return n.err
}

// StreetDistrict returns the district of a street, for ParseArea.
func (n *Names) StreetDistrict(ctx context.Context) func(string) (string, bool) {
	if err := n.load(ctx); err != nil {
		return func(string) (string, bool) { return "", false }
	}
	return func(code string) (string, bool) {
		s, ok := n.streets[code]
		return s.district, ok
	}
}

// District returns a district's name, or its code when unknown.
func (n *Names) District(ctx context.Context, code string) string {
	if n.load(ctx) == nil {
		if name, ok := n.districts[code]; ok {
			return name
		}
	}
	return code
}

// Street returns a street's name, or its code when unknown.
func (n *Names) Street(ctx context.Context, code string) string {
	if n.load(ctx) == nil {
		if s, ok := n.streets[code]; ok {
			return s.name
		}
	}
	return code
}

// Kindergartens returns the names of kindergartens by ID.
func (n *Names) Kindergartens(ctx context.Context, ids []int64) (map[int64]string, error) {
	var rows []struct {
		ID   int64
		Name string
	}
	if err := n.DB.SelectContext(ctx, &rows, `SELECT id, name FROM kindergarten WHERE id = ANY($1)`, ids); err != nil {
		return nil, fmt.Errorf("read kindergarten names: %w", err)
	}
	names := make(map[int64]string, len(rows))
	for _, row := range rows {
		names[row.ID] = row.Name
	}
	return names, nil
}

// Label returns the name of an area code of level, which is a district or
// street code, or a kindergarten ID in decimal.
func (n *Names) Label(ctx context.Context, level, code string, kindergartens map[int64]string) string {
	switch level {
	case LevelDistrict:
		return n.District(ctx, code)
	case LevelStreet:
		if code == "" {
			return "未知街镇"
		}
		return n.Street(ctx, code)
	}
	id, _ := strconv.ParseInt(code, 10, 64)
	if name, ok := kindergartens[id]; ok {
		return name
	}
	if id == 0 {
		return "未选择园所"
	}
	return code
}
