package catalogue_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

func TestMain(m *testing.M) { os.Exit(edgetest.Run(m)) }

// small is a snapshot with one district, two streets (one without
// committees), two committees, three campuses, and rules for committees and
// for whole streets.
func small() *snapshot.Snapshot {
	opens := time.Date(2027, 5, 8, 1, 0, 0, 0, time.UTC)
	return &snapshot.Snapshot{
		Version: 7,
		Years: []snapshot.Year{
			{Year: 2026, BirthFrom: "2022-09-01", BirthTo: "2023-08-31"},
			{Year: 2027, BirthFrom: "2023-09-01", BirthTo: "2024-08-31", ApplicationOpensAt: opens, ApplicationClosesAt: opens.AddDate(0, 1, 0)},
		},
		Districts:  []snapshot.District{{Code: "310104", Name: "徐汇区"}},
		Streets:    []snapshot.Street{{Code: "310104003", DistrictCode: "310104", Name: "天平路街道"}, {Code: "310104501", DistrictCode: "310104", Name: "漕河泾开发区"}},
		Committees: []snapshot.Committee{{Code: "310104003001", StreetCode: "310104003", Name: "甲居委会"}, {Code: "310104003002", StreetCode: "310104003", Name: "乙居委会"}},
		Categories: []snapshot.Category{
			{Code: enrolment.CategoryDistrictHukou, Name: "本区户籍"},
			{Code: enrolment.CategoryDistrictHukouResident, Name: "本区人户一致", ParentCode: enrolment.CategoryDistrictHukou},
			{Code: enrolment.CategoryForeign, Name: "外籍"},
		},
		Entries: []snapshot.Entry{
			{ID: 3, Year: 2027, DistrictCode: "310104", CategoryCode: enrolment.CategoryForeign, MaxChoices: 3},
			{ID: 1, Year: 2027, DistrictCode: "310104", CategoryCode: enrolment.CategoryDistrictHukouResident, MaxChoices: 3,
				OpensAt: opens.Add(time.Hour), ClosesAt: opens.Add(2 * time.Hour)},
			{ID: 2, Year: 2026, DistrictCode: "310104", CategoryCode: enrolment.CategoryForeign, MaxChoices: 2},
		},
		Campuses: []snapshot.Campus{{ID: 10, KindergartenName: "甲幼儿园"}, {ID: 11, KindergartenName: "乙幼儿园"}, {ID: 12, KindergartenName: "丙幼儿园"}},
		Rules: []snapshot.Rule{
			{Year: 2027, DistrictCode: "310104", Mode: 1, StreetCode: "310104003", CommitteeCode: "310104003001", CampusID: 11},
			{Year: 2027, DistrictCode: "310104", Mode: 1, StreetCode: "310104003", CampusID: 10},
			{Year: 2027, DistrictCode: "310104", Mode: 1, StreetCode: "310104003", CampusID: 11},
			{Year: 2027, DistrictCode: "310104", Mode: 1, StreetCode: "310104501", CampusID: 12},
			{Year: 2026, DistrictCode: "310104", Mode: 1, StreetCode: "310104003", CommitteeCode: "310104003001", CampusID: 12},
		},
		Forms: []snapshot.Form{
			{Kind: "registration", Version: 1, Body: json.RawMessage(`{"sections": [{"fields": [{"key": "extra.a", "type": "text"}]}]}`)},
			{Kind: "registration", Version: 3, Body: json.RawMessage(`{"sections": [{"fields": [{"key": "extra.b", "type": "number", "min": 1}, {"key": "child.name", "type": "name"}]}]}`)},
			{Kind: "registration", Version: 2, Body: json.RawMessage(`{"sections": []}`)},
			{Kind: "registration", Version: 9, DistrictCode: "310104", Body: json.RawMessage(`{"sections": []}`)},
		},
	}
}

func newCatalogue(t *testing.T, s *snapshot.Snapshot) *catalogue.Catalogue {
	t.Helper()
	c, err := catalogue.New(s)
	if err != nil {
		t.Fatalf("New returned %v", err)
	}
	return c
}

func TestNewRejectsBrokenSnapshot(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *snapshot.Snapshot)
		want string
	}{
		{"street of unknown district", func(s *snapshot.Snapshot) { s.Streets[0].DistrictCode = "310199" }, "unknown district 310199"},
		{"committee of unknown street", func(s *snapshot.Snapshot) { s.Committees[0].StreetCode = "310104999" }, "unknown street 310104999"},
		{"entry of unknown district", func(s *snapshot.Snapshot) { s.Entries[0].DistrictCode = "310199" }, "unknown district 310199"},
		{"entry of unknown category", func(s *snapshot.Snapshot) { s.Entries[0].CategoryCode = "vip" }, "unknown category vip"},
		{"rule of unknown campus", func(s *snapshot.Snapshot) { s.Rules[0].CampusID = 99 }, "unknown campus 99"},
		{"form that is not JSON", func(s *snapshot.Snapshot) { s.Forms[0].Body = json.RawMessage(`{`) }, "registration form version 1"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			s := small()
			test.edit(s)
			c, err := catalogue.New(s)
			if err == nil {
				t.Fatalf("New accepted the snapshot: %+v", c)
			}
			if !strings.Contains(err.Error(), test.want) {
				t.Errorf("error %q does not contain %q", err, test.want)
			}
		})
	}
}

func TestMatchCampuses(t *testing.T) {
	c := newCatalogue(t, small())
	tests := []struct {
		name      string
		year      int
		street    string
		committee string
		want      []int64
	}{
		{"committee then street without repeats", 2027, "310104003", "310104003001", []int64{11, 10}},
		{"committee without own rules", 2027, "310104003", "310104003002", []int64{10, 11}},
		{"whole street", 2027, "310104003", "", []int64{10, 11}},
		{"street without committees", 2027, "310104501", "", []int64{12}},
		{"other year", 2026, "310104003", "310104003001", []int64{12}},
		{"year without rules", 2025, "310104003", "310104003001", nil},
		{"unknown street", 2027, "310104999", "", nil},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got := c.MatchCampuses(test.year, "310104", test.street, test.committee)
			if !slices.Equal(got, test.want) {
				t.Errorf("MatchCampuses = %v, want %v", got, test.want)
			}
		})
	}
}

func TestCatalogueLookups(t *testing.T) {
	c := newCatalogue(t, small())

	if year, ok := c.CurrentYear(); !ok || year.Year != 2027 {
		t.Errorf("CurrentYear = %+v, %t, want 2027", year, ok)
	}
	if !c.StreetHasCommittees("310104003") {
		t.Error("StreetHasCommittees(310104003) = false, want true")
	}
	if c.StreetHasCommittees("310104501") {
		t.Error("StreetHasCommittees(310104501) = true for a street without committees")
	}
	if got := string(c.CommitteesJSON("310104501")); got != "[]" {
		t.Errorf("CommitteesJSON of a street without committees = %s, want []", got)
	}
	if c.StreetsJSON("310199") != nil {
		t.Error("StreetsJSON of an unknown district is not nil")
	}
	var entries []int64
	for _, entry := range c.DistrictEntries("310104") {
		entries = append(entries, entry.ID)
	}
	if !slices.Equal(entries, []int64{1, 3}) {
		t.Errorf("DistrictEntries = %v, want the current year's in category order [1 3]", entries)
	}
	if entry, ok := c.Entry(2026, "310104", enrolment.CategoryForeign); !ok || entry.ID != 2 {
		t.Errorf("Entry(2026, foreign) = %+v, %t, want entry 2", entry, ok)
	}
	if entry, ok := c.EntryByID(3); !ok || entry.CategoryCode != enrolment.CategoryForeign {
		t.Errorf("EntryByID(3) = %+v, %t", entry, ok)
	}
}

func TestEntryWindow(t *testing.T) {
	s := small()
	c := newCatalogue(t, s)

	own, _ := c.EntryByID(1)
	opens, closes := c.EntryWindow(own)
	if !opens.Equal(s.Entries[1].OpensAt) || !closes.Equal(s.Entries[1].ClosesAt) {
		t.Errorf("entry 1 window = %s to %s, want its own", opens, closes)
	}
	inherited, _ := c.EntryByID(3)
	opens, closes = c.EntryWindow(inherited)
	if !opens.Equal(s.Years[1].ApplicationOpensAt) || !closes.Equal(s.Years[1].ApplicationClosesAt) {
		t.Errorf("entry 3 window = %s to %s, want the year's", opens, closes)
	}
}

func TestFormsNewestCityWide(t *testing.T) {
	c := newCatalogue(t, small())

	form, ok := c.Form("registration")
	if !ok {
		t.Fatal("no registration form")
	}
	if form.Version != 3 {
		t.Errorf("Version = %d, want the newest city-wide 3, not the district's 9", form.Version)
	}
	if _, ok := form.Extra["b"]; !ok || len(form.Extra) != 1 {
		t.Errorf("Extra = %v, want only b", form.Extra)
	}
	if min := form.Extra["b"].Min; min == nil || *min != 1 {
		t.Errorf("b.min = %v, want 1", min)
	}
	if _, ok := c.Form("application"); ok {
		t.Error("a form of a kind the snapshot lacks was found")
	}
}

// TestSeededCatalogue checks the fixture's catalogue against facts of the
// seeded data that the edge relies on.
func TestSeededCatalogue(t *testing.T) {
	f := edgetest.Shared(t)
	c := f.Catalogue

	if len(f.Snapshot.Districts) != 16 {
		t.Errorf("%d districts, want 16", len(f.Snapshot.Districts))
	}
	for _, district := range f.Snapshot.Districts {
		entries := c.DistrictEntries(district.Code)
		if len(entries) != 12 {
			t.Errorf("district %s has %d current entries, want 12 (every category but district_hukou)", district.Code, len(entries))
		}
	}
	for _, committee := range f.Snapshot.Committees {
		street, _ := c.Street(committee.StreetCode)
		if len(c.MatchCampuses(f.Year.Year, street.DistrictCode, street.Code, committee.Code)) == 0 {
			t.Errorf("committee %s is matched to no campus", committee.Code)
			break
		}
	}
	for _, kind := range []string{"registration", "application"} {
		if form, ok := c.Form(kind); !ok || form.Version != 1 {
			t.Errorf("form %s = %+v, want version 1", kind, form)
		}
	}
}
