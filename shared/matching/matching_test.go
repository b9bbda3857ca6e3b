package matching_test

import (
	"slices"
	"testing"

	"github.com/sh-preschool/preschool/shared/address"
	"github.com/sh-preschool/preschool/shared/matching"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

const (
	xuhui     = "310104"
	street    = "310104003"
	committee = "310104003001"
)

func rules() []snapshot.Rule {
	return []snapshot.Rule{
		{Year: 2027, DistrictCode: xuhui, Mode: 1, StreetCode: street, CommitteeCode: committee, CampusID: 11},
		{Year: 2027, DistrictCode: xuhui, Mode: 1, StreetCode: street, CampusID: 10},
		{Year: 2027, DistrictCode: xuhui, Mode: 2, RoadRange: "漕溪北路100-120号", Parity: "even", CampusID: 20},
		{Year: 2027, DistrictCode: xuhui, Mode: 2, RoadRange: "漕溪北路101-121号", Parity: "odd", CampusID: 21},
		{Year: 2027, DistrictCode: xuhui, Mode: 2, RoadRange: "大木桥路88弄2支弄", CampusID: 22},
		{Year: 2027, DistrictCode: xuhui, Mode: 3, StreetCode: street, CommitteeCode: committee, Compound: "田林十二村", CampusID: 30},
		{Year: 2027, DistrictCode: xuhui, Mode: 3, StreetCode: street, CommitteeCode: committee, Compound: "华富小区", CampusID: 31},
		{Year: 2027, DistrictCode: xuhui, Mode: 4, CampusID: 40},
		{Year: 2027, DistrictCode: xuhui, Mode: 4, CampusID: 41},
		{Year: 2027, DistrictCode: xuhui, Mode: 4, Audience: "other_province", Offer: "public"},
		{Year: 2027, DistrictCode: xuhui, Mode: 4, Audience: "other_province", Offer: "campus", CampusID: 51},
		{Year: 2027, DistrictCode: "310105", Mode: 1, StreetCode: "310105001", CampusID: 60},
	}
}

func campuses() []snapshot.Campus {
	return []snapshot.Campus{
		{ID: 50, DistrictCode: xuhui, Ownership: "public"},
		{ID: 51, DistrictCode: xuhui, Ownership: "private"},
		{ID: 52, DistrictCode: xuhui, Ownership: "public"},
		{ID: 60, DistrictCode: "310105", Ownership: "public"},
	}
}

func parsed(t *testing.T, text string) *address.Address {
	t.Helper()
	a, err := address.Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	return &a
}

func TestIndexMatch(t *testing.T) {
	index, err := matching.New(rules(), campuses())
	if err != nil {
		t.Fatalf("New returned %v", err)
	}
	tests := []struct {
		name  string
		query matching.Query
		want  []int64
	}{
		{"committee and street", matching.Query{Mode: 1, StreetCode: street, CommitteeCode: committee}, []int64{11, 10}},
		{"street only", matching.Query{Mode: 1, StreetCode: street}, []int64{10}},
		{"even side", matching.Query{Mode: 2, Address: parsed(t, "漕溪北路118号")}, []int64{20}},
		{"odd side", matching.Query{Mode: 2, Address: parsed(t, "漕溪北路１１９号")}, []int64{21}},
		{"lane on even side", matching.Query{Mode: 2, Address: parsed(t, "漕溪北路100弄3号")}, []int64{20}},
		{"beyond the range", matching.Query{Mode: 2, Address: parsed(t, "漕溪北路122号")}, nil},
		{"sub-lane", matching.Query{Mode: 2, Address: parsed(t, "大木桥路88弄2支弄15号")}, []int64{22}},
		{"no address", matching.Query{Mode: 2}, nil},
		{"chosen compound", matching.Query{Mode: 3, StreetCode: street, CommitteeCode: committee, Compound: "华富小区"}, []int64{31}},
		{"compound in the address", matching.Query{Mode: 3, StreetCode: street, CommitteeCode: committee, AddressText: "田林路200弄田林十二村3号"}, []int64{30}},
		{"compound of another committee", matching.Query{Mode: 3, StreetCode: street, CommitteeCode: "310104003002", Compound: "华富小区"}, nil},
		{"open list", matching.Query{Mode: 4}, []int64{40, 41}},
		{"every mode", matching.Query{StreetCode: street, CommitteeCode: committee, Address: parsed(t, "漕溪北路118号")}, []int64{11, 10, 20, 40, 41}},
		{"out of province", matching.Query{Mode: 4, Audience: "other_province"}, []int64{50, 52, 51}},
		{"another year", matching.Query{Year: 2026, Mode: 4}, nil},
		{"out of province without its rules", matching.Query{DistrictCode: "310105", Mode: 1, StreetCode: "310105001", Audience: "other_province"}, []int64{60}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			query := test.query
			if query.DistrictCode == "" {
				query.DistrictCode = xuhui
			}
			if query.Year == 0 {
				query.Year = 2027
			}
			got := index.Match(&query, nil)
			if !slices.Equal(got, test.want) {
				t.Errorf("Match = %v, want %v", got, test.want)
			}
		})
	}
}

// outOfProvinceRules returns rules and campuses of three districts: Huangpu
// with local rules only, Xuhui with out-of-province rules in mode 4 only,
// and Changning with out-of-province rules only (a private offer and no
// private campus).
func outOfProvinceRules() ([]snapshot.Rule, []snapshot.Campus) {
	const huangpu, changning = "310101", "310105"
	rules := []snapshot.Rule{
		{Year: 2027, DistrictCode: huangpu, Mode: 1, StreetCode: "310101002", CampusID: 101},
		{Year: 2027, DistrictCode: huangpu, Mode: 2, RoadRange: "南京东路100-120号", Parity: "even", CampusID: 102},
		{Year: 2027, DistrictCode: huangpu, Mode: 3, StreetCode: "310101002", CommitteeCode: "310101002001", Compound: "金陵小区", CampusID: 103},
		{Year: 2027, DistrictCode: huangpu, Mode: 4, CampusID: 104},
		{Year: 2027, DistrictCode: xuhui, Mode: 1, StreetCode: street, CampusID: 201},
		{Year: 2027, DistrictCode: xuhui, Mode: 3, StreetCode: street, CommitteeCode: committee, Compound: "田林十二村", CampusID: 203},
		{Year: 2027, DistrictCode: xuhui, Mode: 4, CampusID: 204},
		{Year: 2027, DistrictCode: xuhui, Mode: 4, Audience: "other_province", Offer: "public"},
		{Year: 2027, DistrictCode: xuhui, Mode: 4, Audience: "other_province", Offer: "campus", CampusID: 212},
		{Year: 2027, DistrictCode: changning, Mode: 4, Audience: "other_province", Offer: "private"},
	}
	campuses := []snapshot.Campus{
		{ID: 211, DistrictCode: xuhui, Ownership: "public"},
		{ID: 212, DistrictCode: xuhui, Ownership: "private"},
		{ID: 301, DistrictCode: changning, Ownership: "public"},
	}
	return rules, campuses
}

func TestIndexMatchOutOfProvinceFallback(t *testing.T) {
	index, err := matching.New(outOfProvinceRules())
	if err != nil {
		t.Fatalf("New returned %v", err)
	}
	tests := []struct {
		name  string
		query matching.Query
		want  []int64
	}{
		{"no rules of its own, mode 1", matching.Query{DistrictCode: "310101", Mode: 1, StreetCode: "310101002"}, []int64{101}},
		{"no rules of its own, mode 2", matching.Query{DistrictCode: "310101", Mode: 2, Address: parsed(t, "南京东路110号")}, []int64{102}},
		{"no rules of its own, mode 3", matching.Query{DistrictCode: "310101", Mode: 3, StreetCode: "310101002", CommitteeCode: "310101002001", Compound: "金陵小区"}, []int64{103}},
		{"no rules of its own, mode 4", matching.Query{DistrictCode: "310101", Mode: 4}, []int64{104}},
		{"own rules in the entry's mode", matching.Query{DistrictCode: xuhui, Mode: 4}, []int64{211, 212}},
		{"own rules in another mode only", matching.Query{DistrictCode: xuhui, Mode: 1, StreetCode: street}, []int64{201}},
		{"own rules in another mode, compound", matching.Query{DistrictCode: xuhui, Mode: 3, StreetCode: street, CommitteeCode: committee, AddressText: "田林十二村5号"}, []int64{203}},
		{"every mode mixes both", matching.Query{DistrictCode: xuhui, StreetCode: street, CommitteeCode: committee, AddressText: "田林十二村5号"}, []int64{201, 203, 211, 212}},
		{"own offer with no campus", matching.Query{DistrictCode: "310105", Mode: 4}, nil},
		{"no rules at all", matching.Query{DistrictCode: "310106", Mode: 1, StreetCode: "310106001"}, nil},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			query := test.query
			query.Year, query.Audience = 2027, matching.AudienceOtherProvince
			if got := index.Match(&query, nil); !slices.Equal(got, test.want) {
				t.Errorf("Match = %v, want %v", got, test.want)
			}
		})
	}
}

func TestIndexMatchLocalIgnoresOutOfProvince(t *testing.T) {
	index, err := matching.New(outOfProvinceRules())
	if err != nil {
		t.Fatalf("New returned %v", err)
	}
	tests := []struct {
		name  string
		query matching.Query
		want  []int64
	}{
		{"local open list", matching.Query{DistrictCode: xuhui, Mode: 4}, []int64{204}},
		{"district with out-of-province rules only", matching.Query{DistrictCode: "310105", Mode: 4}, nil},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			query := test.query
			query.Year = 2027
			if got := index.Match(&query, nil); !slices.Equal(got, test.want) {
				t.Errorf("Match = %v, want %v", got, test.want)
			}
		})
	}
}

func TestIndexCompoundsOutOfProvinceFallback(t *testing.T) {
	index, err := matching.New(outOfProvinceRules())
	if err != nil {
		t.Fatalf("New returned %v", err)
	}
	tests := []struct {
		district, street, committee string
		want                        []string
	}{
		{"310101", "310101002", "310101002001", []string{"金陵小区"}},
		{xuhui, street, committee, []string{"田林十二村"}},
		{"310105", "310105001", "310105001001", []string{}},
	}
	for _, test := range tests {
		got := index.Compounds(2027, test.district, matching.AudienceOtherProvince, test.street, test.committee)
		if len(got) != len(test.want) || !slices.Equal(got, test.want) {
			t.Errorf("Compounds(%s) = %v, want %v", test.district, got, test.want)
		}
	}
}

func TestIndexCompounds(t *testing.T) {
	index, err := matching.New(rules(), campuses())
	if err != nil {
		t.Fatalf("New returned %v", err)
	}
	got := index.Compounds(2027, xuhui, "", street, committee)
	if want := []string{"田林十二村", "华富小区"}; !slices.Equal(got, want) {
		t.Errorf("Compounds = %v, want %v", got, want)
	}
}

func TestNewRejectsBrokenRule(t *testing.T) {
	tests := map[string]snapshot.Rule{
		"unknown mode":     {Year: 2027, DistrictCode: xuhui, Mode: 5, CampusID: 1},
		"unknown offer":    {Year: 2027, DistrictCode: xuhui, Mode: 4, Offer: "any"},
		"unknown audience": {Year: 2027, DistrictCode: xuhui, Mode: 4, Audience: "foreign", CampusID: 1},
		"bad range":        {Year: 2027, DistrictCode: xuhui, Mode: 2, RoadRange: "100-120号", CampusID: 1},
		"bad parity":       {Year: 2027, DistrictCode: xuhui, Mode: 2, RoadRange: "漕溪北路100-120号", Parity: "both", CampusID: 1},
	}
	for name, rule := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := matching.New([]snapshot.Rule{rule}, campuses()); err == nil {
				t.Errorf("New accepted %+v", rule)
			}
		})
	}
}

func TestCompoundWidth(t *testing.T) {
	for name, want := range map[string]int{"田林十二村": 10, "A区": 3, "ＡＢ": 4, "": 0} {
		if got := matching.CompoundWidth(name); got != want {
			t.Errorf("CompoundWidth(%q) = %d, want %d", name, got, want)
		}
	}
}

// BenchmarkParseAndMatch parses a detailed address and matches it in every
// mode, as GET /api/v1/matching does, and reports allocations.
func BenchmarkParseAndMatch(b *testing.B) {
	index, err := matching.New(rules(), campuses())
	if err != nil {
		b.Fatal(err)
	}
	matched := make([]int64, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		text := address.Normalise("徐汇区漕溪北路１１８号３０１室")
		parsed, err := address.Parse(text)
		if err != nil {
			b.Fatal(err)
		}
		query := matching.Query{Year: 2027, DistrictCode: xuhui, StreetCode: street, CommitteeCode: committee, Address: &parsed, AddressText: text}
		matched = index.Match(&query, matched[:0])
	}
	if len(matched) == 0 {
		b.Fatal("nothing matched")
	}
}
