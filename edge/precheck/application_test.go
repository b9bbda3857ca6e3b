package precheck_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// factsOf returns the facts the edge keeps of an accepted registration.
func factsOf(t *testing.T, request *precheck.RegistrationRequest) *precheck.RegistrationFacts {
	t.Helper()
	f := edgetest.Shared(t)
	registration, err := precheck.CheckRegistration(request, f.Catalogue, time.Now())
	if err != nil {
		t.Fatalf("CheckRegistration returned %v", err)
	}
	return &precheck.RegistrationFacts{
		Number:             enrolment.FormatRegistrationNumber(registration.Year, 42),
		Year:               registration.Year,
		Status:             enrolment.StatusAccepted,
		ChildIndex:         []byte{1, 2, 3},
		Household:          registration.Facts,
		HukouStreet:        registration.Hukou.Street,
		HukouCommittee:     registration.Hukou.Committee,
		ResidenceStreet:    registration.Residence.Street,
		ResidenceCommittee: registration.Residence.Committee,
	}
}

// withoutEntry returns a catalogue without the current year's entry of a
// category in a district, and optionally with an entry of another category
// in its place.
func withoutEntry(t *testing.T, district, category, replacement string) *catalogue.Catalogue {
	t.Helper()
	f := edgetest.Shared(t)
	return f.CatalogueWith(t, func(s *snapshot.Snapshot) {
		s.Entries = slices.DeleteFunc(s.Entries, func(entry snapshot.Entry) bool {
			return entry.Year == f.Year.Year && entry.DistrictCode == district && entry.CategoryCode == category
		})
		if replacement != "" {
			s.Entries = append(s.Entries, snapshot.Entry{ID: 900001, Year: f.Year.Year, DistrictCode: district,
				CategoryCode: replacement, MatchingMode: 1, MaxChoices: 2})
		}
	})
}

func TestApplicationOptions(t *testing.T) {
	f := edgetest.Shared(t)
	home := f.Address(t, edgetest.HomeDistrict, 1)
	other := f.Address(t, edgetest.OtherDistrict, 1)
	livesInOther := func(t *testing.T) *precheck.RegistrationFacts {
		request := f.Registration(t)
		request.Residence.DistrictCode, request.Residence.StreetCode, request.Residence.CommitteeCode = other.District, other.Street, other.Committee
		request.Residence.AtHukouAddress = false
		return factsOf(t, request)
	}

	tests := []struct {
		name     string
		facts    func(t *testing.T) *precheck.RegistrationFacts
		district string
		category string
		campuses []int64
	}{
		{"child at hukou address", func(t *testing.T) *precheck.RegistrationFacts { return factsOf(t, f.Registration(t)) },
			edgetest.HomeDistrict, enrolment.CategoryDistrictHukouResident, home.Campuses},
		{"hukou district matched by hukou address", livesInOther,
			edgetest.HomeDistrict, enrolment.CategoryDistrictHukouLivesElsewhere, home.Campuses},
		{"home district matched by home address", livesInOther,
			edgetest.OtherDistrict, enrolment.CategoryDistrictResidentHukouElsewhere, other.Campuses},
		{"other province child", func(t *testing.T) *precheck.RegistrationFacts { return factsOf(t, f.OtherProvinceRegistration(t)) },
			edgetest.HomeDistrict, enrolment.CategoryResidencePermit, home.Campuses},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			options, err := precheck.ApplicationOptions(test.facts(t), test.district, f.Catalogue, time.Now())
			if err != nil {
				t.Fatalf("ApplicationOptions returned %v", err)
			}
			if options.Category.Code != test.category {
				t.Errorf("category = %q, want %q", options.Category.Code, test.category)
			}
			if options.Entry.DistrictCode != test.district || options.Entry.CategoryCode != test.category {
				t.Errorf("entry = %+v, want the %s entry of %s", options.Entry, test.category, test.district)
			}
			if !options.Open {
				t.Errorf("Open = false, want true within %s to %s", options.OpensAt, options.ClosesAt)
			}
			if diff := cmp.Diff(test.campuses, options.Campuses); diff != "" {
				t.Errorf("campuses differ (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplicationOptionsBroaderEntry(t *testing.T) {
	f := edgetest.Shared(t)
	c := withoutEntry(t, edgetest.HomeDistrict, enrolment.CategoryDistrictHukouResident, enrolment.CategoryDistrictHukou)

	options, err := precheck.ApplicationOptions(factsOf(t, f.Registration(t)), edgetest.HomeDistrict, c, time.Now())
	if err != nil {
		t.Fatalf("ApplicationOptions returned %v", err)
	}
	if options.Entry.CategoryCode != enrolment.CategoryDistrictHukou {
		t.Errorf("entry category = %q, want the broader %q", options.Entry.CategoryCode, enrolment.CategoryDistrictHukou)
	}
	if options.Entry.MaxChoices != 2 {
		t.Errorf("MaxChoices = %d, want the replacement entry's 2", options.Entry.MaxChoices)
	}
}

func TestApplicationOptionsEntryWindow(t *testing.T) {
	f := edgetest.Shared(t)
	opens := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	closes := opens.Add(48 * time.Hour)
	c := f.CatalogueWith(t, func(s *snapshot.Snapshot) {
		for i, entry := range s.Entries {
			if entry.Year == f.Year.Year && entry.DistrictCode == edgetest.HomeDistrict && entry.CategoryCode == enrolment.CategoryDistrictHukouResident {
				s.Entries[i].OpensAt, s.Entries[i].ClosesAt = opens, closes
			}
		}
	})
	facts := factsOf(t, f.Registration(t))

	options, err := precheck.ApplicationOptions(facts, edgetest.HomeDistrict, c, time.Now())
	if err != nil {
		t.Fatalf("ApplicationOptions returned %v", err)
	}
	if options.Open {
		t.Error("Open = true before the entry's own window")
	}
	if !options.OpensAt.Equal(opens) {
		t.Errorf("OpensAt = %s, want %s", options.OpensAt, opens)
	}
	if !options.ClosesAt.Equal(closes) {
		t.Errorf("ClosesAt = %s, want %s", options.ClosesAt, closes)
	}

	inside, err := precheck.ApplicationOptions(facts, edgetest.HomeDistrict, c, opens)
	if err != nil {
		t.Fatalf("ApplicationOptions at opening returned %v", err)
	}
	if !inside.Open {
		t.Error("Open = false at the entry's opening time")
	}
}

func TestApplicationOptionsRejected(t *testing.T) {
	f := edgetest.Shared(t)
	status := func(status string) func(t *testing.T) *precheck.RegistrationFacts {
		return func(t *testing.T) *precheck.RegistrationFacts {
			facts := factsOf(t, f.Registration(t))
			facts.Status = status
			return facts
		}
	}
	tests := []struct {
		name      string
		facts     func(t *testing.T) *precheck.RegistrationFacts
		district  string
		catalogue *catalogue.Catalogue
		code      string
		field     string
	}{
		{"unknown district", status(enrolment.StatusAccepted), "310199", f.Catalogue, "unknown_division", "districtCode"},
		{"empty district", status(enrolment.StatusAccepted), "", f.Catalogue, "missing_field", "districtCode"},
		{"rejected duplicate", status(enrolment.StatusRejectedDuplicate), edgetest.HomeDistrict, f.Catalogue,
			"registration_not_valid", "registrationNumber"},
		{"failed registration", status(enrolment.StatusFailed), edgetest.HomeDistrict, f.Catalogue,
			"registration_not_valid", "registrationNumber"},
		{"deleted registration", status(enrolment.StatusDeleted), edgetest.HomeDistrict, f.Catalogue,
			"registration_deleted", "registrationNumber"},
		{"neither hukou nor home", status(enrolment.StatusAccepted), edgetest.OtherDistrict, f.Catalogue,
			"district_not_eligible", "districtCode"},
		{"no entry for category", status(enrolment.StatusAccepted), edgetest.HomeDistrict,
			withoutEntry(t, edgetest.HomeDistrict, enrolment.CategoryDistrictHukouResident, ""), "no_entry_for_category", "districtCode"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			options, err := precheck.ApplicationOptions(test.facts(t), test.district, test.catalogue, time.Now())
			if options != nil {
				t.Errorf("ApplicationOptions returned %+v with its error", options)
			}
			edgetest.CheckError(t, err, http.StatusBadRequest, test.code, test.field)
		})
	}
}

func TestCheckApplicationValid(t *testing.T) {
	f := edgetest.Shared(t)
	home := f.Address(t, edgetest.HomeDistrict, 2)
	facts := factsOf(t, f.Registration(t))
	request := edgetest.Application(facts.Number, home, enrolment.CategoryDistrictHukouResident)
	request.CampusChoices = []int64{home.Campuses[1], home.Campuses[0]}
	request.Extra = map[string]any{"note": " 对花生过敏 "}

	got, err := precheck.CheckApplication(request, facts, f.Catalogue, time.Now())
	if err != nil {
		t.Fatalf("CheckApplication returned %v", err)
	}

	entry, ok := f.Catalogue.Entry(f.Year.Year, edgetest.HomeDistrict, enrolment.CategoryDistrictHukouResident)
	if !ok {
		t.Fatal("the fixture has no district_hukou_resident entry in the home district")
	}
	want := &precheck.Application{
		Year:          f.Year.Year,
		DistrictCode:  edgetest.HomeDistrict,
		EntryID:       entry.ID,
		CategoryCode:  enrolment.CategoryDistrictHukouResident,
		CampusChoices: []int64{home.Campuses[1], home.Campuses[0]},
		SchemaVersion: 1,
		Extra:         map[string]any{"note": "对花生过敏"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("application differs (-want +got):\n%s", diff)
	}
}

func TestCheckApplicationInvalid(t *testing.T) {
	f := edgetest.Shared(t)
	home := f.Address(t, edgetest.HomeDistrict, 1)
	other := f.Address(t, edgetest.OtherDistrict, 1)
	type edit func(r *precheck.ApplicationRequest)
	tests := []struct {
		name   string
		edit   edit
		now    time.Time
		status int
		code   string
		field  string
	}{
		{"missing district", func(r *precheck.ApplicationRequest) { r.DistrictCode = "" },
			time.Now(), http.StatusBadRequest, "missing_field", "districtCode"},
		{"category of another household", func(r *precheck.ApplicationRequest) { r.CategoryCode = enrolment.CategoryForeign },
			time.Now(), http.StatusBadRequest, "category_inconsistent", "categoryCode"},
		{"broader category", func(r *precheck.ApplicationRequest) { r.CategoryCode = enrolment.CategoryDistrictHukou },
			time.Now(), http.StatusBadRequest, "category_inconsistent", "categoryCode"},
		{"unknown category", func(r *precheck.ApplicationRequest) { r.CategoryCode = "zzz" },
			time.Now(), http.StatusBadRequest, "unknown_category", "categoryCode"},
		{"missing category", func(r *precheck.ApplicationRequest) { r.CategoryCode = "" },
			time.Now(), http.StatusBadRequest, "category_inconsistent", "categoryCode"},
		{"before window", func(r *precheck.ApplicationRequest) {},
			f.Year.ApplicationOpensAt.Add(-time.Second), http.StatusForbidden, "application_not_open", ""},
		{"after window", func(r *precheck.ApplicationRequest) {},
			f.Year.ApplicationClosesAt, http.StatusForbidden, "application_closed", ""},
		{"no choices", func(r *precheck.ApplicationRequest) { r.CampusChoices = nil },
			time.Now(), http.StatusBadRequest, "missing_field", "campusChoices"},
		{"more choices than entry allows", func(r *precheck.ApplicationRequest) { r.CampusChoices = []int64{1, 2, 3, 4} },
			time.Now(), http.StatusBadRequest, "too_many_items", "campusChoices"},
		{"same campus twice", func(r *precheck.ApplicationRequest) { r.CampusChoices = []int64{home.Campuses[0], home.Campuses[0]} },
			time.Now(), http.StatusBadRequest, "duplicate_choice", "campusChoices"},
		{"campus not matched", func(r *precheck.ApplicationRequest) { r.CampusChoices = []int64{other.Campuses[0]} },
			time.Now(), http.StatusBadRequest, "campus_not_matched", "campusChoices"},
		{"unknown campus", func(r *precheck.ApplicationRequest) { r.CampusChoices = []int64{-1} },
			time.Now(), http.StatusBadRequest, "campus_not_matched", "campusChoices"},
		{"markup in note", func(r *precheck.ApplicationRequest) { r.Extra = map[string]any{"note": "<iframe src=x>"} },
			time.Now(), http.StatusBadRequest, "invalid_field_type", "extra.note"},
		{"note too long", func(r *precheck.ApplicationRequest) { r.Extra = map[string]any{"note": strings.Repeat("猫", 201)} },
			time.Now(), http.StatusBadRequest, "too_long", "extra.note"},
		{"unknown extra field", func(r *precheck.ApplicationRequest) { r.Extra = map[string]any{"priority": 1.0} },
			time.Now(), http.StatusBadRequest, "unknown_field", "extra.priority"},
		{"newer schema", func(r *precheck.ApplicationRequest) { r.SchemaVersion = 2 },
			time.Now(), http.StatusBadRequest, "stale_form", "schemaVersion"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			facts := factsOf(t, f.Registration(t))
			request := edgetest.Application(facts.Number, home, enrolment.CategoryDistrictHukouResident)
			test.edit(request)
			got, err := precheck.CheckApplication(request, facts, f.Catalogue, test.now)
			if got != nil {
				t.Errorf("CheckApplication returned %+v with its error", got)
			}
			edgetest.CheckError(t, err, test.status, test.code, test.field)
		})
	}
}

// TestApplicationOptionsByAddress checks that an entry of mode 2 matches the
// registration's detailed address.
func TestApplicationOptionsByAddress(t *testing.T) {
	f := edgetest.Shared(t)
	facts := factsOf(t, f.Registration(t))
	entry, ok := f.Catalogue.Entry(facts.Year, edgetest.HomeDistrict, enrolment.CategoryDistrictHukouResident)
	if !ok {
		t.Fatal("the seeded catalogue has no entry for 本区人户一致 in the home district")
	}
	campus := f.Snapshot.Campuses[0].ID
	c := f.CatalogueWith(t, func(s *snapshot.Snapshot) {
		for i := range s.Entries {
			if s.Entries[i].ID == entry.ID {
				s.Entries[i].MatchingMode = 2
			}
		}
		s.Rules = append(s.Rules, snapshot.Rule{
			Year: facts.Year, DistrictCode: edgetest.HomeDistrict, Mode: 2, RoadRange: "漕溪北路100-120号", Parity: "even", CampusID: campus,
		})
	})

	tests := []struct {
		address string
		want    []int64
	}{
		{"徐汇区漕溪北路１１８号３０１室", []int64{campus}},
		{"漕溪北路100弄3号", []int64{campus}},
		{"漕溪北路119号", nil},
		{"", nil},
	}
	for _, test := range tests {
		t.Run(test.address, func(t *testing.T) {
			withAddress := *facts
			withAddress.ResidenceAddress = test.address
			options, err := precheck.ApplicationOptions(&withAddress, edgetest.HomeDistrict, c, time.Now())
			if err != nil {
				t.Fatalf("ApplicationOptions returned %v", err)
			}
			if !slices.Equal(options.Campuses, test.want) {
				t.Errorf("campuses for %q = %v, want %v", test.address, options.Campuses, test.want)
			}
		})
	}
}
