package precheck_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/shared/document"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// designedForm is version 3 of the home district's application form for
// one entry, as the back office's form designer publishes it.
const designedForm = `{"title": "入园报名", "sections": [
  {"key": "entry", "title": "报名入口", "fields": [{"key": "entry", "label": "报名区与报名类别", "type": "entry", "required": true}]},
  {"key": "choices", "title": "志愿", "fields": [{"key": "campusChoices", "label": "志愿幼儿园", "type": "campusChoices", "required": true}]},
  {"key": "designed1", "title": "住房信息", "fields": [
    {"key": "extra.housingType", "label": "住房性质", "type": "select", "required": true,
     "options": [{"value": "owned", "label": "产权房"}, {"value": "rented", "label": "租赁"}]},
    {"key": "extra.ownerName", "label": "产权人姓名", "type": "text", "maxLength": 30,
     "linkage": [{"action": "show", "field": "extra.housingType", "equals": "owned"}]},
    {"key": "extra.tenancyNumber", "label": "租赁备案编号", "type": "text",
     "linkage": [{"action": "require", "field": "extra.housingType", "equals": "rented"}]},
    {"key": "extra.socialInsuranceNumber", "label": "社保编号", "type": "text", "minLength": 6, "maxLength": 20,
     "pattern": "[0-9A-Za-z]+", "patternMessage": "社保编号只能包含字母和数字。"},
    {"key": "extra.ownerIdNumber", "label": "产权人身份证号", "type": "id_number",
     "linkage": [{"action": "show", "field": "extra.ownerName"}]}
  ]}
]}`

// designedCatalogue returns the fixture's catalogue with designedForm as
// the home district's form for the district_hukou_resident entry.
func designedCatalogue(t *testing.T) *catalogue.Catalogue {
	f := edgetest.Shared(t)
	return f.CatalogueWith(t, func(s *snapshot.Snapshot) {
		s.Forms = append(s.Forms, snapshot.Form{
			Kind: enrolment.KindApplication, DistrictCode: edgetest.HomeDistrict,
			CategoryCode: enrolment.CategoryDistrictHukouResident, Version: 3, Body: json.RawMessage(designedForm),
		})
	})
}

func TestEntryFormFallsBackToCity(t *testing.T) {
	c := designedCatalogue(t)
	own, ok := c.EntryForm(enrolment.KindApplication, edgetest.HomeDistrict, enrolment.CategoryDistrictHukouResident)
	if !ok || own.Version != 3 || own.DistrictCode != edgetest.HomeDistrict {
		t.Errorf("home district form = %+v, %v; want its version 3", own, ok)
	}
	other, ok := c.EntryForm(enrolment.KindApplication, edgetest.OtherDistrict, enrolment.CategoryDistrictHukouResident)
	if !ok || other.DistrictCode != "" || other.Version != 1 {
		t.Errorf("other district form = %+v, %v; want the city-wide version 1", other, ok)
	}
}

func TestCheckApplicationDesignedForm(t *testing.T) {
	f := edgetest.Shared(t)
	c := designedCatalogue(t)
	home := f.Address(t, edgetest.HomeDistrict, 2)
	facts := factsOf(t, f.Registration(t))
	ownerID := document.ValidResidentIDForTest("310104", time.Date(1990, 5, 6, 0, 0, 0, 0, time.UTC), 12, 'M')

	cases := []struct {
		name      string
		extra     map[string]any
		wantExtra map[string]any
		wantCode  string
		wantField string
	}{
		{
			name:      "owned home keeps owner fields",
			extra:     map[string]any{"housingType": "owned", "ownerName": "王 伟", "ownerIdNumber": ownerID},
			wantExtra: map[string]any{"housingType": "owned", "ownerName": "王 伟", "ownerIdNumber": ownerID},
		},
		{
			name:      "hidden field value dropped",
			extra:     map[string]any{"housingType": "rented", "tenancyNumber": "ZL2024001", "ownerName": "王伟", "ownerIdNumber": ownerID},
			wantExtra: map[string]any{"housingType": "rented", "tenancyNumber": "ZL2024001"},
		},
		{
			name:      "linked requirement holds",
			extra:     map[string]any{"housingType": "rented"},
			wantCode:  "missing_field",
			wantField: "extra.tenancyNumber",
		},
		{
			name:      "required select missing",
			extra:     map[string]any{},
			wantCode:  "missing_field",
			wantField: "extra.housingType",
		},
		{
			name:      "pattern mismatch",
			extra:     map[string]any{"housingType": "owned", "socialInsuranceNumber": "SB-123456"},
			wantCode:  "pattern_mismatch",
			wantField: "extra.socialInsuranceNumber",
		},
		{
			name:      "too short",
			extra:     map[string]any{"housingType": "owned", "socialInsuranceNumber": "SB12"},
			wantCode:  "too_short",
			wantField: "extra.socialInsuranceNumber",
		},
		{
			name:      "invalid ID number",
			extra:     map[string]any{"housingType": "owned", "ownerName": "王伟", "ownerIdNumber": "310104199005061230"},
			wantCode:  "invalid_field_type",
			wantField: "extra.ownerIdNumber",
		},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			request := edgetest.Application(facts.Number, home, enrolment.CategoryDistrictHukouResident)
			request.SchemaVersion = 3
			request.Extra = test.extra

			got, err := precheck.CheckApplication(request, facts, c, time.Now())
			if test.wantCode != "" {
				edgetest.CheckError(t, err, http.StatusBadRequest, test.wantCode, test.wantField)
				return
			}
			if err != nil {
				t.Fatalf("CheckApplication returned %v", err)
			}
			if got.SchemaVersion != 3 {
				t.Errorf("SchemaVersion = %d, want the district's version 3", got.SchemaVersion)
			}
			if diff := cmp.Diff(test.wantExtra, got.Extra); diff != "" {
				t.Errorf("extra differs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckApplicationCityFormElsewhere shows that the district's form does
// not apply in another district: its fields are unknown there.
func TestCheckApplicationCityFormElsewhere(t *testing.T) {
	f := edgetest.Shared(t)
	c := designedCatalogue(t)
	other := f.Address(t, edgetest.OtherDistrict, 2)
	request := f.Registration(t)
	request.Residence.DistrictCode, request.Residence.StreetCode, request.Residence.CommitteeCode = other.District, other.Street, other.Committee
	request.Residence.AtHukouAddress = false
	facts := factsOf(t, request)
	application := edgetest.Application(facts.Number, other, facts.Household.CandidateCategories(edgetest.OtherDistrict)[0])
	application.Extra = map[string]any{"housingType": "owned"}

	_, err := precheck.CheckApplication(application, facts, c, time.Now())
	edgetest.CheckError(t, err, http.StatusBadRequest, "unknown_field", "extra.housingType")
}
