package dictionary

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"slices"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/migrations"
)

// seedDirectory holds dictionaries.csv (code, name, description) and one
// CODE.csv (value, label) per dictionary, in package migrations' Seed FS.
const seedDirectory = "seed/dictionaries"

// seedLockKey is the advisory lock that serialises concurrent Seed calls on
// one database. database.Migrate uses 7_140_001 and seed.Run 7_140_002.
const seedLockKey = 7_140_003

// seedDictionary is a dictionary with its city items, as the CSVs list them.
type seedDictionary struct {
	Dictionary
	items []Item
}

// Seed loads the city dictionaries and their items from the CSVs embedded
// in package migrations, in one transaction. Rows that exist (a dictionary by
// code, an item by dictionary and value) are left unchanged, so it is
// idempotent and keeps the edits staff made since.
func Seed(ctx context.Context, db *sqlx.DB) error {
	dictionaries, err := readSeed(migrations.Seed)
	if err != nil {
		return err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("dictionary seed: begin transaction: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, seedLockKey); err != nil {
		return fmt.Errorf("dictionary seed: take advisory lock: %w", err)
	}

	var codes, names, descriptions []string
	var itemCodes, values, labels []string
	var sortOrders []int32
	for _, dictionary := range dictionaries {
		codes = append(codes, dictionary.Code)
		names = append(names, dictionary.Name)
		descriptions = append(descriptions, dictionary.Description)
		for _, item := range dictionary.items {
			itemCodes = append(itemCodes, item.DictionaryCode)
			values = append(values, item.Value)
			labels = append(labels, item.Label)
			sortOrders = append(sortOrders, int32(item.SortOrder))
		}
	}
	insertedDictionaries, err := tx.ExecContext(ctx, `
		INSERT INTO dictionary (code, name, description)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
		ON CONFLICT DO NOTHING`, codes, names, descriptions)
	if err != nil {
		return fmt.Errorf("dictionary seed: insert dictionaries: %w", err)
	}
	// The unique index on (dictionary_code, district_code or '', value)
	// skips the items that exist.
	insertedItems, err := tx.ExecContext(ctx, `
		INSERT INTO dictionary_item (dictionary_code, value, label, sort_order)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[])
		ON CONFLICT DO NOTHING`, itemCodes, values, labels, sortOrders)
	if err != nil {
		return fmt.Errorf("dictionary seed: insert items: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("dictionary seed: commit: %w", err)
	}
	newDictionaries, _ := insertedDictionaries.RowsAffected()
	newItems, _ := insertedItems.RowsAffected()
	slog.Info("dictionaries seeded", "dictionaries", len(dictionaries), "items", len(values),
		"new_dictionaries", newDictionaries, "new_items", newItems)
	return nil
}

// readSeed parses the dictionary CSVs and checks every row with the rules
// the API applies.
func readSeed(fsys fs.FS) ([]seedDictionary, error) {
	index, err := readCSV(fsys, seedDirectory+"/dictionaries.csv", []string{"code", "name", "description"})
	if err != nil {
		return nil, err
	}
	var dictionaries []seedDictionary
	seen := map[string]bool{}
	for line, record := range index {
		code, name, description := record[0], record[1], record[2]
		if !codePattern.MatchString(code) || seen[code] || name == "" {
			return nil, fmt.Errorf("dictionary seed: dictionaries.csv line %d: invalid or repeated code %q or empty name", line+2, code)
		}
		seen[code] = true
		dictionary := seedDictionary{Dictionary: Dictionary{Code: code, Name: name, Description: description}}
		if dictionary.items, err = readItems(fsys, code); err != nil {
			return nil, err
		}
		dictionaries = append(dictionaries, dictionary)
	}
	return dictionaries, nil
}

func readItems(fsys fs.FS, code string) ([]Item, error) {
	path := seedDirectory + "/" + code + ".csv"
	records, err := readCSV(fsys, path, []string{"value", "label"})
	if err != nil {
		return nil, err
	}
	if len(records) == 0 {
		return nil, fmt.Errorf("dictionary seed: %s has no items", path)
	}
	items := make([]Item, 0, len(records))
	values := map[string]bool{}
	for i, record := range records {
		value, label := record[0], record[1]
		if err := errors.Join(ValidateValue(value), ValidateLabel(label)); err != nil {
			return nil, fmt.Errorf("dictionary seed: %s line %d: %w", path, i+2, err)
		}
		if values[value] {
			return nil, fmt.Errorf("dictionary seed: %s line %d: value %q repeats an earlier line", path, i+2, value)
		}
		values[value] = true
		items = append(items, Item{DictionaryCode: code, Value: value, Label: label, SortOrder: (i + 1) * 10, Enabled: true})
	}
	return items, nil
}

// readCSV returns the records of a CSV after checking its header.
func readCSV(fsys fs.FS, path string, header []string) ([][]string, error) {
	file, err := fsys.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dictionary seed: %w", err)
	}
	defer file.Close()
	reader := csv.NewReader(file)
	reader.FieldsPerRecord = len(header)
	first, err := reader.Read()
	if err != nil {
		return nil, fmt.Errorf("dictionary seed: %s: read header: %w", path, err)
	}
	if !slices.Equal(first, header) {
		return nil, fmt.Errorf("dictionary seed: %s: header is %v, want %v", path, first, header)
	}
	var records [][]string
	for {
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return records, nil
		}
		if err != nil {
			return nil, fmt.Errorf("dictionary seed: %s: %w", path, err)
		}
		records = append(records, record)
	}
}
