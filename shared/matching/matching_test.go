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
