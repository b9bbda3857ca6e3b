package figures_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/dashboard/figures"
)

func TestGenerateIsDeterministic(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	checksum := func() string {
		var sum string
		err := env.DB.DB.Get(&sum, `SELECT md5(string_agg(t, ',' ORDER BY t)) FROM (
			SELECT CAST(p.* AS text) AS t FROM resident_population p
			UNION ALL SELECT CAST(c.* AS text) FROM kindergarten_class_census c
			UNION ALL SELECT CAST(k.* AS text) FROM kindergarten_child_census k
			UNION ALL SELECT CAST(s.* AS text) FROM kindergarten_staff_census s
			UNION ALL SELECT CAST(n.* AS text) FROM nursery_place n) rows`)
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	if err := figures.Generate(ctx, env.DB.DB, env.Year.Year); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	first := checksum()
	if err := figures.Generate(ctx, env.DB.DB, env.Year.Year); err != nil {
		t.Fatalf("Generate again: %v", err)
	}
	if second := checksum(); second != first {
		t.Errorf("second Generate changed the figures: %s, want %s", second, first)
	}
	for _, table := range []string{"resident_population", "kindergarten_class_census", "kindergarten_child_census", "kindergarten_staff_census", "nursery_place"} {
		if rows := env.Count(t, `SELECT count(*) FROM `+table); rows == 0 {
			t.Errorf("%s is empty after Generate", table)
		}
	}

	// The child census splits the class census's boys and girls.
	mismatched := env.Count(t, `SELECT count(*) FROM kindergarten_class_census c
		FULL JOIN (SELECT census_year, kindergarten_id, grade,
		                  sum(children) FILTER (WHERE sex = 'male') AS boys, sum(children) FILTER (WHERE sex = 'female') AS girls
		           FROM kindergarten_child_census GROUP BY 1, 2, 3) k USING (census_year, kindergarten_id, grade)
		WHERE c.boys IS DISTINCT FROM k.boys OR c.girls IS DISTINCT FROM k.girls`)
	if mismatched != 0 {
		t.Errorf("%d kindergarten grades whose child census differs from the class census", mismatched)
	}
	for _, column := range []string{"nationality", "hukou", "age"} {
		if values := env.Count(t, `SELECT count(DISTINCT `+column+`) FROM kindergarten_child_census`); values < 3 {
			t.Errorf("the child census has %d values of %s, want at least 3", values, column)
		}
	}
}

func TestImportCSVAndXLSX(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	var kindergartens []int64
	if err := env.DB.DB.Select(&kindergartens, `SELECT id FROM kindergarten ORDER BY id LIMIT 2`); err != nil {
		t.Fatal(err)
	}
	first, second := kindergartens[0], kindergartens[1]

	csv := "\ufeffkindergarten_id,census_year,places,enrolled\n" +
		itoa(first) + ",2030,20,15\n" + itoa(second) + ",2030,40,38\n\n"
	stored, err := figures.Import(ctx, env.DB.DB, "nursery_place", "csv", strings.NewReader(csv))
	if err != nil {
		t.Fatalf("Import CSV: %v", err)
	}
	if stored != 2 {
		t.Errorf("stored %d rows, want 2", stored)
	}
	if places := env.Count(t, `SELECT sum(places) FROM nursery_place WHERE census_year = 2030`); places != 60 {
		t.Errorf("places = %d, want 60", places)
	}

	// The same key again updates the row; a bad row stores nothing.
	bad := "census_year,kindergarten_id,places,enrolled\n2030," + itoa(first) + ",25,20\n2030," + itoa(second) + ",-1,0\n"
	_, err = figures.Import(ctx, env.DB.DB, "nursery_place", "csv", strings.NewReader(bad))
	var rowErr *figures.RowError
	if !errors.As(err, &rowErr) || rowErr.Row != 3 {
		t.Fatalf("Import with a negative place count = %v, want a RowError on row 3", err)
	}
	if places := env.Count(t, `SELECT places FROM nursery_place WHERE census_year = 2030 AND kindergarten_id = $1`, first); places != 20 {
		t.Errorf("places of the first kindergarten = %d after a rejected file, want 20", places)
	}

	book := excelize.NewFile()
	rows := [][]any{
		{"census_year", "street_code", "district_code", "age", "population"},
		{2030, "310104003", "310104", 3, 812},
	}
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := book.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	var file bytes.Buffer
	if err := book.Write(&file); err != nil {
		t.Fatal(err)
	}
	if _, err := figures.Import(ctx, env.DB.DB, "resident_population", "xlsx", &file); err != nil {
		t.Fatalf("Import xlsx: %v", err)
	}
	if population := env.Count(t, `SELECT population FROM resident_population WHERE census_year = 2030 AND street_code = '310104003' AND age = 3`); population != 812 {
		t.Errorf("population = %d, want 812", population)
	}

	opinions := "source,external_id,received_at,district_code,problem_type,status,channel\n" +
		"helpdesk,Q-1,2030-04-23T12:05:00+08:00,310104,platform,unresolved,\n" +
		"hotline,C-1,2030-04-23T12:06:00+08:00,310105,policy,resolved,human\n"
	if _, err := figures.Import(ctx, env.DB.DB, "opinion_record", "csv", strings.NewReader(opinions)); err != nil {
		t.Fatalf("Import opinion records: %v", err)
	}
	if nulls := env.Count(t, `SELECT count(*) FROM opinion_record WHERE external_id = 'Q-1' AND channel IS NULL`); nulls != 1 {
		t.Errorf("help-desk record with an empty channel stored %d times with NULL, want 1", nulls)
	}

	for name, call := range map[string]func() error{
		"unknown table": func() error {
			_, err := figures.Import(ctx, env.DB.DB, "salaries", "csv", strings.NewReader("a\n"))
			return err
		},
		"missing column": func() error {
			_, err := figures.Import(ctx, env.DB.DB, "nursery_place", "csv", strings.NewReader("census_year,places\n"))
			return err
		},
		"unknown format": func() error {
			_, err := figures.Import(ctx, env.DB.DB, "nursery_place", "ods", strings.NewReader(""))
			return err
		},
	} {
		if err := call(); err == nil {
			t.Errorf("%s: Import returned no error", name)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
