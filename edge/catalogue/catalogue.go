// Package catalogue holds the published edge configuration in memory,
// indexed for the parent's path: divisions, enrolment years, entries,
// campuses, matching rules, form schemas and dictionaries. Nothing here calls
// the database.
package catalogue

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/matching"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// Catalogue is an immutable, indexed snapshot. Build one with New and swap
// it whole when a new snapshot arrives.
type Catalogue struct {
	Snapshot *snapshot.Snapshot

	districts         map[string]snapshot.District
	streets           map[string]snapshot.Street
	committees        map[string]snapshot.Committee
	streetsJSON       map[string][]byte // district code → JSON list of its streets
	committeesJSON    map[string][]byte // street code → JSON list of its committees
	categories        map[string]snapshot.Category
	years             map[int]snapshot.Year
	currentYear       int
	entriesByID       map[int64]snapshot.Entry
	entriesByCategory map[entryKey]snapshot.Entry
	entriesByDistrict map[string][]snapshot.Entry // sorted by category order
	campuses          map[string]*snapshot.Campus
	campusesByID      map[int64]snapshot.Campus
	rules             *matching.Index
	forms             map[string]*Form // the city-wide forms by kind
	entryForms        map[formKey]*Form
	dictionaries      map[string]*dictionaryIndex
}

type entryKey struct {
	year     int
	district string
	category string
}

// New indexes s. It returns an error when s references codes it does not
// contain, so a broken snapshot never replaces a working one.
func New(s *snapshot.Snapshot) (*Catalogue, error) {
	c := &Catalogue{
		Snapshot:          s,
		districts:         make(map[string]snapshot.District, len(s.Districts)),
		streets:           make(map[string]snapshot.Street, len(s.Streets)),
		committees:        make(map[string]snapshot.Committee, len(s.Committees)),
		streetsJSON:       map[string][]byte{},
		committeesJSON:    map[string][]byte{},
		categories:        map[string]snapshot.Category{},
		years:             map[int]snapshot.Year{},
		entriesByID:       map[int64]snapshot.Entry{},
		entriesByCategory: map[entryKey]snapshot.Entry{},
		entriesByDistrict: map[string][]snapshot.Entry{},
		campusesByID:      make(map[int64]snapshot.Campus, len(s.Campuses)),
		forms:             map[string]*Form{},
		entryForms:        map[formKey]*Form{},
		dictionaries:      map[string]*dictionaryIndex{},
	}
	if err := c.indexDivisions(); err != nil {
		return nil, err
	}
	if err := c.indexEnrolment(); err != nil {
		return nil, err
	}
	if err := c.indexForms(); err != nil {
		return nil, err
	}
	if err := c.indexDictionaries(); err != nil {
		return nil, err
	}
	return c, nil
}

type codeName struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

func (c *Catalogue) indexDivisions() error {
	for _, district := range c.Snapshot.Districts {
		c.districts[district.Code] = district
	}
	streetsByDistrict := map[string][]codeName{}
	for _, street := range c.Snapshot.Streets {
		if _, ok := c.districts[street.DistrictCode]; !ok {
			return fmt.Errorf("catalogue: street %s names unknown district %s", street.Code, street.DistrictCode)
		}
		c.streets[street.Code] = street
		streetsByDistrict[street.DistrictCode] = append(streetsByDistrict[street.DistrictCode], codeName{street.Code, street.Name})
	}
	committeesByStreet := map[string][]codeName{}
	for _, committee := range c.Snapshot.Committees {
		if _, ok := c.streets[committee.StreetCode]; !ok {
			return fmt.Errorf("catalogue: committee %s names unknown street %s", committee.Code, committee.StreetCode)
		}
		c.committees[committee.Code] = committee
		committeesByStreet[committee.StreetCode] = append(committeesByStreet[committee.StreetCode], codeName{committee.Code, committee.Name})
	}
	for district := range c.districts {
		c.streetsJSON[district] = mustJSON(nonNil(streetsByDistrict[district]))
	}
	for street := range c.streets {
		c.committeesJSON[street] = mustJSON(nonNil(committeesByStreet[street]))
	}
	for _, category := range c.Snapshot.Categories {
		c.categories[category.Code] = category
	}
	return nil
}

func (c *Catalogue) indexEnrolment() error {
	for _, year := range c.Snapshot.Years {
		c.years[year.Year] = year
		if year.Year > c.currentYear {
			c.currentYear = year.Year
		}
	}
	for _, entry := range c.Snapshot.Entries {
		if _, ok := c.districts[entry.DistrictCode]; !ok {
			return fmt.Errorf("catalogue: entry %d names unknown district %s", entry.ID, entry.DistrictCode)
		}
		if _, ok := c.categories[entry.CategoryCode]; !ok {
			return fmt.Errorf("catalogue: entry %d names unknown category %s", entry.ID, entry.CategoryCode)
		}
		c.entriesByID[entry.ID] = entry
		c.entriesByCategory[entryKey{entry.Year, entry.DistrictCode, entry.CategoryCode}] = entry
		if entry.Year == c.currentYear {
			c.entriesByDistrict[entry.DistrictCode] = append(c.entriesByDistrict[entry.DistrictCode], entry)
		}
	}
	order := map[string]int{}
	for i, category := range c.Snapshot.Categories {
		order[category.Code] = i
	}
	for _, entries := range c.entriesByDistrict {
		sort.Slice(entries, func(i, j int) bool { return order[entries[i].CategoryCode] < order[entries[j].CategoryCode] })
	}

	for _, campus := range c.Snapshot.Campuses {
		c.campusesByID[campus.ID] = campus
	}
	for _, rule := range c.Snapshot.Rules {
		if rule.Offer != "" && rule.Offer != matching.OfferCampus {
			continue
		}
		if _, ok := c.campusesByID[rule.CampusID]; !ok {
			return fmt.Errorf("catalogue: rule names unknown campus %d", rule.CampusID)
		}
	}
	rules, err := matching.New(c.Snapshot.Rules, c.Snapshot.Campuses)
	if err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	c.rules = rules
	return nil
}

func mustJSON(value any) []byte {
	data, err := json.Marshal(value)
	if err != nil {
		panic(err) // only plain structs and slices are marshalled here
	}
	return data
}

func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}

// Version returns the snapshot's version.
func (c *Catalogue) Version() int64 { return c.Snapshot.Version }

// District returns the district with code.
func (c *Catalogue) District(code string) (snapshot.District, bool) {
	district, ok := c.districts[code]
	return district, ok
}

// Street returns the street with code.
func (c *Catalogue) Street(code string) (snapshot.Street, bool) {
	street, ok := c.streets[code]
	return street, ok
}

// Committee returns the committee with code.
func (c *Catalogue) Committee(code string) (snapshot.Committee, bool) {
	committee, ok := c.committees[code]
	return committee, ok
}

// StreetHasCommittees reports whether the street has any committee; a few
// industrial parks and farms have none.
func (c *Catalogue) StreetHasCommittees(code string) bool {
	return len(c.committeesJSON[code]) > 2
}

// StreetsJSON returns the JSON list of a district's streets, or nil for an
// unknown district.
func (c *Catalogue) StreetsJSON(districtCode string) []byte { return c.streetsJSON[districtCode] }

// CommitteesJSON returns the JSON list of a street's committees, or nil for
// an unknown street.
func (c *Catalogue) CommitteesJSON(streetCode string) []byte { return c.committeesJSON[streetCode] }

// Category returns the household category with code.
func (c *Catalogue) Category(code string) (snapshot.Category, bool) {
	category, ok := c.categories[code]
	return category, ok
}

// CurrentYear returns the latest enrolment year, and false when the
// snapshot has none.
func (c *Catalogue) CurrentYear() (snapshot.Year, bool) {
	year, ok := c.years[c.currentYear]
	return year, ok
}

// Year returns an enrolment year.
func (c *Catalogue) Year(year int) (snapshot.Year, bool) {
	found, ok := c.years[year]
	return found, ok
}

// Entry returns the entry of a household category in a district and year.
func (c *Catalogue) Entry(year int, districtCode, categoryCode string) (snapshot.Entry, bool) {
	entry, ok := c.entriesByCategory[entryKey{year, districtCode, categoryCode}]
	return entry, ok
}

// EntryByID returns an entry by its ID.
func (c *Catalogue) EntryByID(id int64) (snapshot.Entry, bool) {
	entry, ok := c.entriesByID[id]
	return entry, ok
}

// DistrictEntries returns the current year's entries of a district, in
// category order.
func (c *Catalogue) DistrictEntries(districtCode string) []snapshot.Entry {
	return c.entriesByDistrict[districtCode]
}

// EntryWindow returns the application window of an entry: its own when set,
// else its year's.
func (c *Catalogue) EntryWindow(entry snapshot.Entry) (opens, closes time.Time) {
	year := c.years[entry.Year]
	opens, closes = year.ApplicationOpensAt, year.ApplicationClosesAt
	if !entry.OpensAt.IsZero() {
		opens = entry.OpensAt
	}
	if !entry.ClosesAt.IsZero() {
		closes = entry.ClosesAt
	}
	return opens, closes
}

// Campus returns a campus by ID.
func (c *Catalogue) Campus(id int64) (snapshot.Campus, bool) {
	campus, ok := c.campusesByID[id]
	return campus, ok
}

// MatchCampuses returns the IDs of the campuses that mode-1 rules (street and
// committee) match to an address in a district and year: the committee's
// rules and the whole street's rules, without repeats, in rule order.
func (c *Catalogue) MatchCampuses(year int, districtCode, streetCode, committeeCode string) []int64 {
	return c.rules.Match(&matching.Query{
		Year: year, DistrictCode: districtCode, StreetCode: streetCode, CommitteeCode: committeeCode,
		Mode: matching.ModeCommittee,
	}, nil)
}

// Match appends to matched the IDs of the campuses the rules match to q, in
// the mode and audience q names, and returns the result.
func (c *Catalogue) Match(q *matching.Query, matched []int64) []int64 {
	return c.rules.Match(q, matched)
}

// EntryAudience returns the audience of an entry's matching rules: the
// out-of-province rules for a category of the out-of-province group, else
// the local ones.
func (c *Catalogue) EntryAudience(entry snapshot.Entry) string {
	if c.categories[entry.CategoryCode].Group == enrolment.GroupOtherProvince {
		return matching.AudienceOtherProvince
	}
	return matching.AudienceLocal
}

// Compounds returns the compound names of a committee's mode-3 rules, for
// the parent to choose from.
func (c *Catalogue) Compounds(year int, districtCode, audience, streetCode, committeeCode string) []string {
	return c.rules.Compounds(year, districtCode, audience, streetCode, committeeCode)
}

// Form returns the city-wide form schema of a kind ("registration" or
// "application").
func (c *Catalogue) Form(kind string) (*Form, bool) {
	form, ok := c.forms[kind]
	return form, ok
}
