package dictionary

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// Summary is a dictionary with its number of city items and of the district
// overrides within the staff member's scope.
type Summary struct {
	Dictionary
	CityItems int `db:"city_items" json:"cityItems"`
	Overrides int `db:"overrides" json:"overrides"`
}

func listDictionaries(ctx context.Context, db *sqlx.DB, scope access.Scope) ([]Summary, error) {
	condition := scope.Filter(ItemColumns, 1)
	q := `
		SELECT d.code, d.name, d.description,
		       count(i.id) FILTER (WHERE i.district_code IS NULL) AS city_items,
		       count(i.id) FILTER (WHERE i.district_code IS NOT NULL AND ` + condition.SQL + `) AS overrides
		FROM dictionary d
		LEFT JOIN dictionary_item i ON i.dictionary_code = d.code
		GROUP BY d.code, d.name, d.description
		ORDER BY d.code`
	summaries := []Summary{}
	if err := db.SelectContext(ctx, &summaries, q, condition.Args...); err != nil {
		return nil, err
	}
	return summaries, nil
}

// storedItem is an item with whether the staff member's scope covers it.
type storedItem struct {
	Item
	InScope bool
}

const itemColumns = `i.id, i.dictionary_code, i.district_code, i.value, i.label, i.sort_order, i.enabled, i.updated_at`

func scanItem(scanner interface{ Scan(...any) error }, extra ...any) (Item, error) {
	var item Item
	var district sql.NullString
	targets := append([]any{&item.ID, &item.DictionaryCode, &district, &item.Value, &item.Label, &item.SortOrder,
		&item.Enabled, &item.UpdatedAt}, extra...)
	if err := scanner.Scan(targets...); err != nil {
		return item, err
	}
	item.DistrictCode = district.String
	return item, nil
}

// listItems returns the city items of a dictionary and, when districtCode is
// not empty, that district's overrides, each in display order and marked
// with whether the scope covers it.
func listItems(ctx context.Context, db *sqlx.DB, scope access.Scope, code, districtCode string) (city, overrides []storedItem, err error) {
	condition := scope.Filter(ItemColumns, 3)
	args := append([]any{code, sql.NullString{String: districtCode, Valid: districtCode != ""}}, condition.Args...)
	q := `
		SELECT ` + itemColumns + `, (` + condition.SQL + `) IS TRUE AS in_scope
		FROM dictionary_item i
		WHERE i.dictionary_code = $1 AND (i.district_code IS NULL OR i.district_code = $2)
		ORDER BY i.sort_order, i.id`
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	city, overrides = []storedItem{}, []storedItem{}
	for rows.Next() {
		var stored storedItem
		if stored.Item, err = scanItem(rows, &stored.InScope); err != nil {
			return nil, nil, err
		}
		if stored.DistrictCode == "" {
			city = append(city, stored)
		} else {
			overrides = append(overrides, stored)
		}
	}
	return city, overrides, rows.Err()
}

// defaultSortOrder returns the sort order of a new item that gives none: the
// city item's when the new item overrides one, so it keeps its place, else
// 10 past the last item of the district's list.
func defaultSortOrder(ctx context.Context, tx *sqlx.Tx, code, districtCode, value string) (int, error) {
	const q = `
		SELECT COALESCE(
		    (SELECT sort_order FROM dictionary_item WHERE dictionary_code = $1 AND district_code IS NULL AND value = $3),
		    (SELECT max(sort_order) + 10 FROM dictionary_item
		     WHERE dictionary_code = $1 AND (district_code IS NULL OR district_code = $2)),
		    10)`
	var sortOrder int
	err := tx.GetContext(ctx, &sortOrder, q, code, sql.NullString{String: districtCode, Valid: districtCode != ""}, value)
	return min(sortOrder, MaxSortOrder), err
}

// errOutOfScope is returned by the write queries when the scope filter
// leaves out the row, and the handlers turn it into access.ErrOutOfScope.
var errOutOfScope = errors.New("dictionary item outside the scope")

// insertItem inserts item with the scope filter applied to the new row's
// district. It returns errOutOfScope when the scope does not cover that
// district, and inserts nothing then.
func insertItem(ctx context.Context, tx *sqlx.Tx, scope access.Scope, item Item) (Item, error) {
	condition := scope.Filter(ItemColumns, 7)
	args := append([]any{item.DictionaryCode, sql.NullString{String: item.DistrictCode, Valid: item.DistrictCode != ""},
		item.Value, item.Label, item.SortOrder, item.Enabled}, condition.Args...)
	q := `
		INSERT INTO dictionary_item (dictionary_code, district_code, value, label, sort_order, enabled)
		SELECT $1, i.district_code, $3, $4, $5, $6
		FROM (SELECT $2::char(6) AS district_code) i
		WHERE ` + condition.SQL + `
		RETURNING id, updated_at`
	err := tx.QueryRowContext(ctx, q, args...).Scan(&item.ID, &item.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return item, errOutOfScope
	}
	if err != nil {
		return item, duplicateOr(err, item.Value)
	}
	return item, nil
}

// lockItem reads an item of a dictionary for update, with whether the scope
// covers it. It returns ErrItemNotFound when the dictionary has no item with
// that ID.
func lockItem(ctx context.Context, tx *sqlx.Tx, scope access.Scope, code string, id int64) (Item, bool, error) {
	condition := scope.Filter(ItemColumns, 3)
	args := append([]any{id, code}, condition.Args...)
	q := `
		SELECT ` + itemColumns + `, (` + condition.SQL + `) IS TRUE AS in_scope
		FROM dictionary_item i
		WHERE i.id = $1 AND i.dictionary_code = $2
		FOR UPDATE`
	var inScope bool
	item, err := scanItem(tx.QueryRowContext(ctx, q, args...), &inScope)
	if errors.Is(err, sql.ErrNoRows) {
		return item, false, ErrItemNotFound
	}
	return item, inScope, err
}

// updateItem stores item's label, sort order and enabled flag.
func updateItem(ctx context.Context, tx *sqlx.Tx, scope access.Scope, item Item) (Item, error) {
	condition := scope.Filter(ItemColumns, 5)
	args := append([]any{item.ID, item.Label, item.SortOrder, item.Enabled}, condition.Args...)
	q := `
		UPDATE dictionary_item i SET label = $2, sort_order = $3, enabled = $4, updated_at = now()
		WHERE i.id = $1 AND ` + condition.SQL + `
		RETURNING i.updated_at`
	err := tx.QueryRowContext(ctx, q, args...).Scan(&item.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return item, errOutOfScope
	}
	return item, err
}

// deleteItem deletes an item.
func deleteItem(ctx context.Context, tx *sqlx.Tx, scope access.Scope, id int64) error {
	condition := scope.Filter(ItemColumns, 2)
	args := append([]any{id}, condition.Args...)
	result, err := tx.ExecContext(ctx, `DELETE FROM dictionary_item i WHERE i.id = $1 AND `+condition.SQL, args...)
	if err != nil {
		return err
	}
	if n, err := result.RowsAffected(); err != nil || n != 1 {
		return errors.Join(err, errOutOfScope)
	}
	return nil
}

// duplicateOr turns a unique violation into a 409 naming the value.
func duplicateOr(err error, value string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return apierror.New(http.StatusConflict, "duplicate_value", "该字典中已有值为“"+value+"”的字典项，请勿重复添加。").
			WithField("value").WithDetail("value", value)
	}
	return err
}

func parseID(text string) (int64, error) {
	id, err := strconv.ParseInt(text, 10, 64)
	if err != nil || id < 1 {
		return 0, ErrItemNotFound
	}
	return id, nil
}
