package seed

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/migrations"
)

type district struct {
	code      string
	name      string
	sortOrder int // 1-based position in districts.csv
}

type street struct {
	code         string
	districtCode string
	name         string
}

type committee struct {
	code         string
	streetCode   string
	districtCode string
	name         string
}

// shanghaiProvinceCode is the GB/T 2260 prefix of every Shanghai division.
const shanghaiProvinceCode = "31"

// divisions are the rows of the embedded CSVs, in file order.
type divisions struct {
	districts  []district
	streets    []street
	committees []committee
}

// LoadDivisions inserts the districts, streets and committees from the CSVs
// embedded in package migrations. Rows whose code exists are left unchanged,
// so it is idempotent.
func LoadDivisions(ctx context.Context, db *sqlx.DB) error {
	loaded, err := readDivisions()
	if err != nil {
		return err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("seed: begin transaction: %w", err)
	}
	defer tx.Rollback()
	if err := insertDivisions(ctx, tx, loaded); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("seed: commit divisions: %w", err)
	}
	return nil
}

func insertDivisions(ctx context.Context, tx *sqlx.Tx, loaded *divisions) error {
	var districtCodes, districtNames []string
	var sortOrders []int32
	for _, d := range loaded.districts {
		districtCodes = append(districtCodes, d.code)
		districtNames = append(districtNames, d.name)
		sortOrders = append(sortOrders, int32(d.sortOrder))
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO district (code, name, sort_order)
		SELECT * FROM unnest($1::text[], $2::text[], $3::int4[])
		ON CONFLICT DO NOTHING`, districtCodes, districtNames, sortOrders)
	if err != nil {
		return fmt.Errorf("seed: insert districts: %w", err)
	}

	var streetCodes, streetDistricts, streetNames []string
	for _, s := range loaded.streets {
		streetCodes = append(streetCodes, s.code)
		streetDistricts = append(streetDistricts, s.districtCode)
		streetNames = append(streetNames, s.name)
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO street (code, district_code, name)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
		ON CONFLICT DO NOTHING`, streetCodes, streetDistricts, streetNames)
	if err != nil {
		return fmt.Errorf("seed: insert streets: %w", err)
	}

	var committeeCodes, committeeStreets, committeeDistricts, committeeNames []string
	for _, c := range loaded.committees {
		committeeCodes = append(committeeCodes, c.code)
		committeeStreets = append(committeeStreets, c.streetCode)
		committeeDistricts = append(committeeDistricts, c.districtCode)
		committeeNames = append(committeeNames, c.name)
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO committee (code, street_code, district_code, name)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
		ON CONFLICT DO NOTHING`, committeeCodes, committeeStreets, committeeDistricts, committeeNames)
	if err != nil {
		return fmt.Errorf("seed: insert committees: %w", err)
	}
	return nil
}

// readDivisions parses the embedded CSVs and checks that every code has the
// right length and starts with the code of the division that contains it.
func readDivisions() (*divisions, error) {
	loaded := &divisions{}
	districtCodes := map[string]bool{}
	streetDistricts := map[string]string{}

	const districtsFile = "seed/shanghai/districts.csv"
	err := readCSV(districtsFile, []string{"code", "name"}, func(record []string) error {
		code, name := record[0], record[1]
		if err := checkCode(code, 6, shanghaiProvinceCode); err != nil {
			return err
		}
		if districtCodes[code] {
			return fmt.Errorf("duplicate district code %s", code)
		}
		districtCodes[code] = true
		loaded.districts = append(loaded.districts, district{code: code, name: name, sortOrder: len(loaded.districts) + 1})
		return nil
	})
	if err != nil {
		return nil, err
	}

	const streetsFile = "seed/shanghai/streets.csv"
	err = readCSV(streetsFile, []string{"code", "name", "district_code"}, func(record []string) error {
		code, name, districtCode := record[0], record[1], record[2]
		if !districtCodes[districtCode] {
			return fmt.Errorf("street %s names unknown district %s", code, districtCode)
		}
		if err := checkCode(code, 9, districtCode); err != nil {
			return err
		}
		if _, exists := streetDistricts[code]; exists {
			return fmt.Errorf("duplicate street code %s", code)
		}
		streetDistricts[code] = districtCode
		loaded.streets = append(loaded.streets, street{code: code, districtCode: districtCode, name: name})
		return nil
	})
	if err != nil {
		return nil, err
	}

	const committeesFile = "seed/shanghai/committees.csv"
	committeeCodes := map[string]bool{}
	err = readCSV(committeesFile, []string{"code", "name", "street_code", "district_code"}, func(record []string) error {
		code, name, streetCode, districtCode := record[0], record[1], record[2], record[3]
		streetDistrict, known := streetDistricts[streetCode]
		if !known {
			return fmt.Errorf("committee %s names unknown street %s", code, streetCode)
		}
		if streetDistrict != districtCode {
			return fmt.Errorf("committee %s names district %s, but its street %s is in district %s",
				code, districtCode, streetCode, streetDistrict)
		}
		if err := checkCode(code, 12, streetCode); err != nil {
			return err
		}
		if committeeCodes[code] {
			return fmt.Errorf("duplicate committee code %s", code)
		}
		committeeCodes[code] = true
		loaded.committees = append(loaded.committees, committee{code: code, streetCode: streetCode, districtCode: districtCode, name: name})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loaded, nil
}

// readCSV calls handle for every record of an embedded CSV file after
// checking the header and that no field is empty.
func readCSV(path string, header []string, handle func(record []string) error) error {
	file, err := migrations.Seed.Open(path)
	if err != nil {
		return fmt.Errorf("seed: open %s: %w", path, err)
	}
	defer file.Close()

	reader := csv.NewReader(file)
	reader.FieldsPerRecord = len(header)
	first, err := reader.Read()
	if err != nil {
		return fmt.Errorf("seed: read header of %s: %w", path, err)
	}
	if !slices.Equal(first, header) {
		return fmt.Errorf("seed: %s has header %q, expected %q", path, first, header)
	}
	for {
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("seed: read %s: %w", path, err)
		}
		line, _ := reader.FieldPos(0)
		for i := range record {
			record[i] = strings.TrimSpace(record[i])
			if record[i] == "" {
				return fmt.Errorf("seed: %s line %d: field %s is empty", path, line, header[i])
			}
		}
		if err := handle(record); err != nil {
			return fmt.Errorf("seed: %s line %d: %w", path, line, err)
		}
	}
}

// checkCode checks that code has length digits and starts with parent.
func checkCode(code string, length int, parent string) error {
	if len(code) != length || strings.Trim(code, "0123456789") != "" {
		return fmt.Errorf("invalid code %q: expected %d digits", code, length)
	}
	if !strings.HasPrefix(code, parent) {
		return fmt.Errorf("invalid code %s: expected it to start with %s", code, parent)
	}
	return nil
}
