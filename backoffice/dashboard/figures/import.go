package figures

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/xuri/excelize/v2"
)

// Table is an importable table: its columns, its key, and the columns an
// empty cell leaves NULL.
type Table struct {
	Name     string
	Columns  []string
	Key      []string
	Nullable []string
}

// Tables are the tables Import accepts. A file's header row names the
// columns, in any order.
var Tables = map[string]Table{
	"resident_population": {
		Name:    "resident_population",
		Columns: []string{"census_year", "district_code", "street_code", "age", "population"},
		Key:     []string{"census_year", "street_code", "age"},
	},
	"kindergarten_class_census": {
		Name: "kindergarten_class_census",
		Columns: []string{"census_year", "kindergarten_id", "grade", "planned_classes", "classes", "boys", "girls",
			"oversized_classes", "oversized_children"},
		Key: []string{"census_year", "kindergarten_id", "grade"},
	},
	"kindergarten_child_census": {
		Name:    "kindergarten_child_census",
		Columns: []string{"census_year", "kindergarten_id", "grade", "sex", "nationality", "hukou", "age", "children"},
		Key:     []string{"census_year", "kindergarten_id", "grade", "sex", "nationality", "hukou", "age"},
	},
	"kindergarten_staff_census": {
		Name:    "kindergarten_staff_census",
		Columns: []string{"census_year", "kindergarten_id", "role", "education", "title", "staff"},
		Key:     []string{"census_year", "kindergarten_id", "role", "education", "title"},
	},
	"opinion_record": {
		Name:     "opinion_record",
		Columns:  []string{"source", "external_id", "received_at", "district_code", "problem_type", "status", "channel"},
		Key:      []string{"source", "external_id"},
		Nullable: []string{"channel"},
	},
	"nursery_place": {
		Name:    "nursery_place",
		Columns: []string{"census_year", "kindergarten_id", "places", "enrolled"},
		Key:     []string{"census_year", "kindergarten_id"},
	},
}

// maxImportRows bounds one file, so a wrong file cannot hold a transaction
// open for long.
const maxImportRows = 500_000

// RowError is a row of the file the database or the parser rejected.
type RowError struct {
	Row int
	Err error
}

func (e *RowError) Error() string { return fmt.Sprintf("row %d: %v", e.Row, e.Err) }
func (e *RowError) Unwrap() error { return e.Err }

// Import reads rows of table from a CSV file (format "csv") or the first
// sheet of an xlsx workbook (format "xlsx") and upserts them in one
// transaction: every row is stored, or none. The first row is the header.
// It returns the number of rows stored, and a *RowError naming the first
// rejected row.
func Import(ctx context.Context, db *sqlx.DB, tableName, format string, file io.Reader) (int, error) {
	table, ok := Tables[tableName]
	if !ok {
		return 0, fmt.Errorf("unknown table %q: use one of resident_population, kindergarten_class_census, kindergarten_child_census, kindergarten_staff_census, nursery_place, opinion_record", tableName)
	}
	rows, err := readRows(format, file)
	if err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, errors.New("the file is empty: its first row must name the columns")
	}
	if len(rows) > maxImportRows+1 {
		return 0, fmt.Errorf("the file has %d rows, more than the %d one import takes: split it", len(rows)-1, maxImportRows)
	}
	order, err := columnOrder(table, rows[0])
	if err != nil {
		return 0, err
	}

	placeholders := make([]string, len(table.Columns))
	updates := []string{}
	for i, column := range table.Columns {
		placeholders[i] = fmt.Sprintf("$%d", i+1)
		if !slices.Contains(table.Key, column) {
			updates = append(updates, column+" = EXCLUDED."+column)
		}
	}
	statement := `INSERT INTO ` + table.Name + ` (` + strings.Join(table.Columns, ", ") + `) VALUES (` +
		strings.Join(placeholders, ", ") + `) ON CONFLICT (` + strings.Join(table.Key, ", ") + `) DO UPDATE SET ` +
		strings.Join(updates, ", ")

	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	prepared, err := tx.PreparexContext(ctx, statement)
	if err != nil {
		return 0, err
	}
	stored := 0
	for i, row := range rows[1:] {
		if isBlank(row) {
			continue
		}
		values := make([]any, len(table.Columns))
		for j, index := range order {
			empty := index >= len(row) || strings.TrimSpace(row[index]) == ""
			switch {
			case empty && slices.Contains(table.Nullable, table.Columns[j]):
				values[j] = nil
				continue
			case empty:
				return 0, &RowError{Row: i + 2, Err: fmt.Errorf("column %s is missing", table.Columns[j])}
			}
			values[j] = strings.TrimSpace(row[index])
		}
		if _, err := prepared.ExecContext(ctx, values...); err != nil {
			return 0, &RowError{Row: i + 2, Err: err}
		}
		stored++
	}
	return stored, tx.Commit()
}

func readRows(format string, file io.Reader) ([][]string, error) {
	switch format {
	case "csv":
		reader := csv.NewReader(file)
		reader.FieldsPerRecord = -1
		rows, err := reader.ReadAll()
		if err != nil {
			return nil, fmt.Errorf("invalid CSV: %w", err)
		}
		if len(rows) > 0 && len(rows[0]) > 0 {
			rows[0][0] = strings.TrimPrefix(rows[0][0], "\ufeff")
		}
		return rows, nil
	case "xlsx":
		workbook, err := excelize.OpenReader(file)
		if err != nil {
			return nil, fmt.Errorf("invalid xlsx workbook: %w", err)
		}
		defer workbook.Close()
		sheets := workbook.GetSheetList()
		if len(sheets) == 0 {
			return nil, errors.New("the xlsx workbook has no sheet")
		}
		return workbook.GetRows(sheets[0])
	}
	return nil, fmt.Errorf("unknown file format %q: use csv or xlsx", format)
}

// columnOrder maps each column of table to its index in header.
func columnOrder(table Table, header []string) ([]int, error) {
	order := make([]int, len(table.Columns))
	for i, column := range table.Columns {
		index := slices.IndexFunc(header, func(name string) bool { return strings.TrimSpace(name) == column })
		if index < 0 {
			return nil, fmt.Errorf("the header row has no column %s: it needs %s", column, strings.Join(table.Columns, ", "))
		}
		order[i] = index
	}
	return order, nil
}

func isBlank(row []string) bool {
	for _, value := range row {
		if strings.TrimSpace(value) != "" {
			return false
		}
	}
	return true
}
