// Package snapshot defines the configuration the back office publishes to
// Redis and the edge serves from memory: enrolment years, entries, divisions,
// campuses, matching rules, form schemas and code lists (dictionaries).
package snapshot

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// Snapshot is one published version of the edge configuration.
type Snapshot struct {
	Version      int64        `json:"version"`
	PublishedAt  time.Time    `json:"publishedAt"`
	Years        []Year       `json:"years"`
	Districts    []District   `json:"districts"`
	Streets      []Street     `json:"streets"`
	Committees   []Committee  `json:"committees"`
	Categories   []Category   `json:"categories"`
	Entries      []Entry      `json:"entries"`
	Campuses     []Campus     `json:"campuses"`
	Rules        []Rule       `json:"rules"`
	Forms        []Form       `json:"forms"`
	Dictionaries []Dictionary `json:"dictionaries"`
}

// Year is an enrolment year with its windows. Birth dates are inclusive
// calendar dates (YYYY-MM-DD) in Shanghai time.
type Year struct {
	Year                 int       `json:"year"`
	BirthFrom            string    `json:"birthFrom"`
	BirthTo              string    `json:"birthTo"`
	RegistrationOpensAt  time.Time `json:"registrationOpensAt"`
	RegistrationClosesAt time.Time `json:"registrationClosesAt"`
	ApplicationOpensAt   time.Time `json:"applicationOpensAt"`
	ApplicationClosesAt  time.Time `json:"applicationClosesAt"`
}

// District is one of Shanghai's 16 districts.
type District struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Street is a subdistrict (街道) or town (镇).
type Street struct {
	Code         string `json:"code"`
	DistrictCode string `json:"districtCode"`
	Name         string `json:"name"`
}

// Committee is a residents' or villagers' committee.
type Committee struct {
	Code       string `json:"code"`
	StreetCode string `json:"streetCode"`
	Name       string `json:"name"`
}

// Category is a household category; Group and GroupName name its group.
type Category struct {
	Code       string `json:"code"`
	Group      string `json:"group"`
	GroupName  string `json:"groupName"`
	Name       string `json:"name"`
	ParentCode string `json:"parentCode,omitempty"`
}

// Entry is how one household category applies in one district. OpensAt and
// ClosesAt are its application window.
type Entry struct {
	ID           int64     `json:"id"`
	Year         int       `json:"year"`
	DistrictCode string    `json:"districtCode"`
	CategoryCode string    `json:"categoryCode"`
	MatchingMode int       `json:"matchingMode"`
	MaxChoices   int       `json:"maxChoices"`
	OpensAt      time.Time `json:"opensAt"`
	ClosesAt     time.Time `json:"closesAt"`
}

// Campus is a campus (办园点) a family may choose, with its kindergarten's
// facts.
type Campus struct {
	ID               int64  `json:"id"`
	KindergartenName string `json:"kindergartenName"`
	CampusName       string `json:"campusName"`
	DistrictCode     string `json:"districtCode"`
	StreetCode       string `json:"streetCode"`
	Address          string `json:"address"`
	Ownership        string `json:"ownership"`
	Inclusive        bool   `json:"inclusive"`
	Level            string `json:"level"`
}

// Rule maps an address to a campus. In mode 1 an empty CommitteeCode covers
// the whole street. Mode 2 matches RoadRange (a house-number range such as
// "漕溪北路100-120号") with Parity, mode 3 the street, committee and
// Compound, and mode 4 every address of the district.
//
// An empty Audience means local entries, and an empty Offer a named campus.
// Rules of the "other_province" audience may instead offer every "public" or
// "private" campus of the district, and then CampusID is 0.
type Rule struct {
	Year          int    `json:"year"`
	DistrictCode  string `json:"districtCode"`
	Mode          int    `json:"mode"`
	StreetCode    string `json:"streetCode"`
	CommitteeCode string `json:"committeeCode,omitempty"`
	CampusID      int64  `json:"campusId"`
	Audience      string `json:"audience,omitempty"`
	Offer         string `json:"offer,omitempty"`
	RoadRange     string `json:"roadRange,omitempty"`
	Parity        string `json:"parity,omitempty"`
	Compound      string `json:"compound,omitempty"`
}

// Form is a published form schema. An empty DistrictCode marks the city-wide
// default.
type Form struct {
	Kind         string          `json:"kind"`
	DistrictCode string          `json:"districtCode,omitempty"`
	CategoryCode string          `json:"categoryCode,omitempty"`
	Version      int             `json:"version"`
	Body         json.RawMessage `json:"body"`
}

// Dictionary is a city-managed code list. Items are the enabled city items
// in display order. Overrides holds, by district code, the district's own
// items: one with a city item's value replaces that item in the district
// (and hides it when Disabled), one with a new value adds to the list.
type Dictionary struct {
	Code      string                      `json:"code"`
	Name      string                      `json:"name"`
	Items     []DictionaryItem            `json:"items"`
	Overrides map[string][]DictionaryItem `json:"overrides,omitempty"`
}

// DictionaryItem is one entry of a code list: the stored value and the
// Chinese label shown to people.
type DictionaryItem struct {
	Value     string `json:"value"`
	Label     string `json:"label"`
	SortOrder int    `json:"sortOrder,omitempty"`
	Disabled  bool   `json:"disabled,omitempty"`
}

// EffectiveItems returns the items of a district's forms: the city items with the
// district's overrides applied, without disabled items, ordered by
// SortOrder. Items with equal SortOrder keep their order, city items first.
// An empty or unknown district code returns the city items.
func (d *Dictionary) EffectiveItems(districtCode string) []DictionaryItem {
	overrides := d.Overrides[districtCode]
	byValue := make(map[string]DictionaryItem, len(overrides))
	for _, item := range overrides {
		byValue[item.Value] = item
	}
	effective := make([]DictionaryItem, 0, len(d.Items)+len(overrides))
	for _, item := range d.Items {
		if replacement, ok := byValue[item.Value]; ok {
			item = replacement
		}
		if !item.Disabled {
			effective = append(effective, item)
		}
	}
	cityValues := make(map[string]bool, len(d.Items))
	for _, item := range d.Items {
		cityValues[item.Value] = true
	}
	for _, item := range overrides {
		if !cityValues[item.Value] && !item.Disabled {
			effective = append(effective, item)
		}
	}
	slices.SortStableFunc(effective, func(a, b DictionaryItem) int { return cmp.Compare(a.SortOrder, b.SortOrder) })
	return effective
}

// Encode returns the gzip-compressed JSON form of s.
func Encode(s *Snapshot) ([]byte, error) {
	var buffer bytes.Buffer
	writer := gzip.NewWriter(&buffer)
	if err := json.NewEncoder(writer).Encode(s); err != nil {
		return nil, fmt.Errorf("encode snapshot: %w", err)
	}
	if err := writer.Close(); err != nil {
		return nil, err
	}
	return buffer.Bytes(), nil
}

// Decode parses data written by Encode.
func Decode(data []byte) (*Snapshot, error) {
	reader, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	var s Snapshot
	if err := json.NewDecoder(io.LimitReader(reader, 256<<20)).Decode(&s); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	return &s, nil
}
