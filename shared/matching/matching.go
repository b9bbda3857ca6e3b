// Package matching indexes a district's kindergarten matching rules and
// matches an address to the campuses a family may choose, in all four
// modes: street and committee (1), house-number ranges on a road (2),
// street, committee and compound (3), and an open list (4). The edge matches
// parents' addresses with it, and the back office validates the rules over
// the year's registration addresses with the same code.
package matching

import (
	"fmt"
	"strings"

	"github.com/sh-preschool/preschool/shared/address"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// Audiences and offers of a rule, as stored.
const (
	AudienceLocal         = "local"
	AudienceOtherProvince = "other_province"

	OfferCampus  = "campus"
	OfferPublic  = "public"
	OfferPrivate = "private"
)

// Matching modes.
const (
	ModeCommittee = 1
	ModeRoadRange = 2
	ModeCompound  = 3
	ModeOpenList  = 4
)

// MaxCompoundWidth is the largest display width of a compound name: a
// Chinese or other wide character counts 2, any other character 1.
//
// NOTE: 24 (twelve Chinese characters) is an estimate of one line of the
// compound list on a 375-px-wide phone; no device test checks it.
const MaxCompoundWidth = 24

// CompoundWidth returns the display width of a compound name.
func CompoundWidth(name string) int {
	width := 0
	for _, r := range name {
		if r < 0x1100 {
			width++
		} else {
			width += 2
		}
	}
	return width
}

// Query is an address to match. Address is the parsed detailed address, or
// nil when there is none or it did not parse. AddressText is the normalised
// detailed address, searched for compound names in mode 3 when Compound is
// empty. Mode 0 tries the rules of every mode.
type Query struct {
	Year          int
	DistrictCode  string
	StreetCode    string
	CommitteeCode string
	Address       *address.Address
	AddressText   string
	Compound      string
	Mode          int
	Audience      string
}

// Index is an immutable index of matching rules. Build it with New.
type Index struct {
	districts map[districtKey]*districtRules
}

type districtKey struct {
	year     int
	district string
	audience string
}

type streetKey struct {
	street    string
	committee string
}

type rangeRule struct {
	road     address.Range
	campuses []int64
}

type compoundRule struct {
	name     string
	campuses []int64
}

// districtRules are the rules of one district, year and audience, by mode.
type districtRules struct {
	committees map[streetKey][]int64
	roads      map[string][]rangeRule
	compounds  map[streetKey][]compoundRule
	open       []int64
	// ruleCount counts the rules of each mode (index 1 to 4), including
	// public or private offers that expand to no campus, so a district
	// that wrote rules for a mode keeps them even when they match nothing.
	ruleCount [ModeOpenList + 1]int
}

// New indexes rules. Offers of all public or private campuses expand to the
// operating campuses of the rule's district in campuses. It returns an error
// for a rule with an unknown mode, audience or offer, or with a road range
// that does not parse.
func New(rules []snapshot.Rule, campuses []snapshot.Campus) (*Index, error) {
	byOwnership := map[[2]string][]int64{}
	for _, campus := range campuses {
		key := [2]string{campus.DistrictCode, campus.Ownership}
		byOwnership[key] = append(byOwnership[key], campus.ID)
	}

	index := &Index{districts: map[districtKey]*districtRules{}}
	for i := range rules {
		rule := &rules[i]
		offered, err := offeredCampuses(rule, byOwnership)
		if err != nil {
			return nil, err
		}
		audience := rule.Audience
		if audience == "" {
			audience = AudienceLocal
		}
		if audience != AudienceLocal && audience != AudienceOtherProvince {
			return nil, fmt.Errorf("matching: rule of district %s has unknown audience %q", rule.DistrictCode, rule.Audience)
		}
		key := districtKey{rule.Year, rule.DistrictCode, audience}
		district := index.districts[key]
		if district == nil {
			district = &districtRules{
				committees: map[streetKey][]int64{},
				roads:      map[string][]rangeRule{},
				compounds:  map[streetKey][]compoundRule{},
			}
			index.districts[key] = district
		}
		if err := district.add(rule, offered); err != nil {
			return nil, err
		}
	}
	return index, nil
}

func offeredCampuses(rule *snapshot.Rule, byOwnership map[[2]string][]int64) ([]int64, error) {
	switch rule.Offer {
	case "", OfferCampus:
		return []int64{rule.CampusID}, nil
	case OfferPublic, OfferPrivate:
		return byOwnership[[2]string{rule.DistrictCode, rule.Offer}], nil
	}
	return nil, fmt.Errorf("matching: rule of district %s has unknown offer %q", rule.DistrictCode, rule.Offer)
}

func (d *districtRules) add(rule *snapshot.Rule, offered []int64) error {
	switch rule.Mode {
	case ModeCommittee:
		key := streetKey{rule.StreetCode, rule.CommitteeCode}
		d.committees[key] = appendNew(d.committees[key], offered...)
	case ModeRoadRange:
		parity, err := address.ParseParity(rule.Parity)
		if err != nil {
			return fmt.Errorf("matching: rule %q of district %s: %w", rule.RoadRange, rule.DistrictCode, err)
		}
		road, err := address.ParseRange(rule.RoadRange, parity)
		if err != nil {
			return fmt.Errorf("matching: rule %q of district %s: %w", rule.RoadRange, rule.DistrictCode, err)
		}
		d.roads[road.Road] = append(d.roads[road.Road], rangeRule{road: road, campuses: offered})
	case ModeCompound:
		key := streetKey{rule.StreetCode, rule.CommitteeCode}
		compounds := d.compounds[key]
		for i := range compounds {
			if compounds[i].name == rule.Compound {
				compounds[i].campuses = appendNew(compounds[i].campuses, offered...)
				return nil
			}
		}
		d.compounds[key] = append(compounds, compoundRule{name: rule.Compound, campuses: offered})
	case ModeOpenList:
		d.open = appendNew(d.open, offered...)
	default:
		return fmt.Errorf("matching: rule of district %s has unknown mode %d", rule.DistrictCode, rule.Mode)
	}
	d.ruleCount[rule.Mode]++
	return nil
}

// Match appends to matched the IDs of the campuses that the rules match to
// the query, without repeats, in rule order, and returns the result. An
// empty Audience means local entries. For an out-of-province query, each
// mode uses the district's out-of-province rules of that mode, or its local
// rules of that mode when it has no out-of-province ones.
func (x *Index) Match(q *Query, matched []int64) []int64 {
	if q.Mode == 0 || q.Mode == ModeCommittee {
		if d := x.rulesOf(q.Year, q.DistrictCode, q.Audience, ModeCommittee); d != nil {
			matched = appendNew(matched, d.committees[streetKey{q.StreetCode, q.CommitteeCode}]...)
			if q.CommitteeCode != "" {
				matched = appendNew(matched, d.committees[streetKey{q.StreetCode, ""}]...)
			}
		}
	}
	if (q.Mode == 0 || q.Mode == ModeRoadRange) && q.Address != nil {
		if d := x.rulesOf(q.Year, q.DistrictCode, q.Audience, ModeRoadRange); d != nil {
			for i := range d.roads[q.Address.Road] {
				rule := &d.roads[q.Address.Road][i]
				if rule.road.Contains(q.Address) {
					matched = appendNew(matched, rule.campuses...)
				}
			}
		}
	}
	if q.Mode == 0 || q.Mode == ModeCompound {
		if d := x.rulesOf(q.Year, q.DistrictCode, q.Audience, ModeCompound); d != nil {
			for _, compound := range d.compounds[streetKey{q.StreetCode, q.CommitteeCode}] {
				if compound.name == q.Compound || q.Compound == "" && q.AddressText != "" && strings.Contains(q.AddressText, compound.name) {
					matched = appendNew(matched, compound.campuses...)
				}
			}
		}
	}
	if q.Mode == 0 || q.Mode == ModeOpenList {
		if d := x.rulesOf(q.Year, q.DistrictCode, q.Audience, ModeOpenList); d != nil {
			matched = appendNew(matched, d.open...)
		}
	}
	return matched
}

// Compounds returns the compound names of mode-3 rules for a committee, in
// rule order, for the parent to choose from. The audience falls back as in
// Match.
func (x *Index) Compounds(year int, districtCode, audience, streetCode, committeeCode string) []string {
	d := x.rulesOf(year, districtCode, audience, ModeCompound)
	if d == nil {
		return nil
	}
	compounds := d.compounds[streetKey{streetCode, committeeCode}]
	names := make([]string, len(compounds))
	for i, compound := range compounds {
		names[i] = compound.name
	}
	return names
}

// rulesOf returns the rules that apply to an entry of audience in one mode:
// the out-of-province rules when the district has some in that mode, else
// the local rules, or nil when the district has neither.
func (x *Index) rulesOf(year int, districtCode, audience string, mode int) *districtRules {
	if audience == AudienceOtherProvince {
		if d := x.districts[districtKey{year, districtCode, audience}]; d != nil && d.ruleCount[mode] > 0 {
			return d
		}
	}
	return x.districts[districtKey{year, districtCode, AudienceLocal}]
}

// appendNew appends the IDs not yet in list, searching it linearly because
// a match lists a handful of campuses. The index's own lists contain no
// repeats, so they are copied whole into an empty list.
func appendNew(list []int64, ids ...int64) []int64 {
	if len(list) == 0 {
		return append(list, ids...)
	}
	for _, id := range ids {
		found := false
		for _, existing := range list {
			if existing == id {
				found = true
				break
			}
		}
		if !found {
			list = append(list, id)
		}
	}
	return list
}
