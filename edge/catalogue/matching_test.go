package catalogue_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// matchingSnapshot is small() with entries of modes 2 to 4, out-of-province
// entries of modes 1, 3 and 4, and rules of modes 2 to 4. The district's only
// out-of-province rules are of mode 4, so its out-of-province entries of
// modes 1 and 3 use the local rules.
func matchingSnapshot() *snapshot.Snapshot {
	s := small()
	s.Categories = append(s.Categories, snapshot.Category{
		Code: enrolment.CategoryOtherProvinceOther, Group: enrolment.GroupOtherProvince, Name: "其他情况",
	}, snapshot.Category{
		Code: enrolment.CategoryResidencePermit, Group: enrolment.GroupOtherProvince, Name: "持居住证",
	}, snapshot.Category{
		Code: enrolment.CategoryResidenceRegistration, Group: enrolment.GroupOtherProvince, Name: "持居住登记凭证",
	})
	s.Entries = append(s.Entries,
		snapshot.Entry{ID: 21, Year: 2027, DistrictCode: "310104", CategoryCode: enrolment.CategoryDistrictHukou, MatchingMode: 2, MaxChoices: 3},
		snapshot.Entry{ID: 22, Year: 2027, DistrictCode: "310104", CategoryCode: enrolment.CategoryDistrictHukouResident, MatchingMode: 3, MaxChoices: 3},
		snapshot.Entry{ID: 23, Year: 2027, DistrictCode: "310104", CategoryCode: enrolment.CategoryOtherProvinceOther, MatchingMode: 4, MaxChoices: 3},
		snapshot.Entry{ID: 24, Year: 2027, DistrictCode: "310104", CategoryCode: enrolment.CategoryResidencePermit, MatchingMode: 1, MaxChoices: 3},
		snapshot.Entry{ID: 25, Year: 2027, DistrictCode: "310104", CategoryCode: enrolment.CategoryResidenceRegistration, MatchingMode: 3, MaxChoices: 3},
	)
	s.Campuses[0].DistrictCode, s.Campuses[0].Ownership = "310104", "public"
	s.Campuses[1].DistrictCode, s.Campuses[1].Ownership = "310104", "private"
	s.Campuses[2].DistrictCode, s.Campuses[2].Ownership = "310104", "public"
	s.Rules = append(s.Rules,
		snapshot.Rule{Year: 2027, DistrictCode: "310104", Mode: 2, RoadRange: "漕溪北路100-120号", Parity: "even", CampusID: 10},
		snapshot.Rule{Year: 2027, DistrictCode: "310104", Mode: 2, RoadRange: "漕溪北路101-121号", Parity: "odd", CampusID: 11},
		snapshot.Rule{Year: 2027, DistrictCode: "310104", Mode: 3, StreetCode: "310104003", CommitteeCode: "310104003001", Compound: "田林十二村", CampusID: 12},
		snapshot.Rule{Year: 2027, DistrictCode: "310104", Mode: 4, Audience: "other_province", Offer: "public"},
	)
	return s
}

type matchingResponse struct {
	Campuses []struct {
		ID int64 `json:"id"`
	} `json:"campuses"`
	Compounds []string `json:"compounds"`
}

func getMatching(t *testing.T, handlers *catalogue.Handlers, query url.Values) (matchingResponse, error) {
	t.Helper()
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.SetRequestURI("/api/v1/matching?" + query.Encode())
	if err := handlers.GetMatching(ctx); err != nil {
		return matchingResponse{}, err
	}
	var body matchingResponse
	if err := json.Unmarshal(ctx.Response.Body(), &body); err != nil {
		t.Fatalf("body %s: %v", ctx.Response.Body(), err)
	}
	return body, nil
}

func TestGetMatchingModes(t *testing.T) {
	store := catalogue.NewStore(nil, enrolment.Keys{})
	store.Set(newCatalogue(t, matchingSnapshot()))
	handlers := &catalogue.Handlers{Store: store}

	tests := []struct {
		name  string
		query url.Values
		want  []int64
	}{
		{"mode 1 without entry", url.Values{"district": {"310104"}, "street": {"310104003"}, "committee": {"310104003001"}}, []int64{11, 10}},
		{"even side", url.Values{"district": {"310104"}, "entry": {"21"}, "address": {"徐汇区漕溪北路１１８号"}}, []int64{10}},
		{"odd side", url.Values{"district": {"310104"}, "entry": {"21"}, "address": {"漕溪北路119号"}}, []int64{11}},
		{"lane on even side", url.Values{"district": {"310104"}, "entry": {"21"}, "address": {"漕溪北路100弄3号5室"}}, []int64{10}},
		{"outside every range", url.Values{"district": {"310104"}, "entry": {"21"}, "address": {"漕溪北路122号"}}, []int64{}},
		{"chosen compound", url.Values{"district": {"310104"}, "entry": {"22"}, "street": {"310104003"}, "committee": {"310104003001"}, "compound": {"田林十二村"}}, []int64{12}},
		{"compound in address", url.Values{"district": {"310104"}, "entry": {"22"}, "street": {"310104003"}, "committee": {"310104003001"}, "address": {"田林路200弄田林十二村3号"}}, []int64{12}},
		{"out-of-province public", url.Values{"district": {"310104"}, "entry": {"23"}}, []int64{10, 12}},
		{"out-of-province mode 1 uses local rules", url.Values{"district": {"310104"}, "entry": {"24"}, "street": {"310104003"}, "committee": {"310104003001"}}, []int64{11, 10}},
		{"out-of-province mode 3 uses local rules", url.Values{"district": {"310104"}, "entry": {"25"}, "street": {"310104003"}, "committee": {"310104003001"}, "compound": {"田林十二村"}}, []int64{12}},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			body, err := getMatching(t, handlers, test.query)
			if err != nil {
				t.Fatalf("GetMatching returned %v", err)
			}
			var got []int64
			for _, campus := range body.Campuses {
				got = append(got, campus.ID)
			}
			if !slices.Equal(got, test.want) {
				t.Errorf("campuses = %v, want %v", got, test.want)
			}
		})
	}

	body, err := getMatching(t, handlers, url.Values{"district": {"310104"}, "entry": {"22"}, "street": {"310104003"}, "committee": {"310104003001"}})
	if err != nil {
		t.Fatalf("GetMatching returned %v", err)
	}
	if !slices.Equal(body.Compounds, []string{"田林十二村"}) {
		t.Errorf("compounds = %v, want [田林十二村]", body.Compounds)
	}

	body, err = getMatching(t, handlers, url.Values{"district": {"310104"}, "entry": {"25"}, "street": {"310104003"}, "committee": {"310104003001"}})
	if err != nil {
		t.Fatalf("GetMatching returned %v", err)
	}
	if !slices.Equal(body.Compounds, []string{"田林十二村"}) {
		t.Errorf("out-of-province compounds = %v, want [田林十二村]", body.Compounds)
	}
}

func TestGetMatchingRejects(t *testing.T) {
	store := catalogue.NewStore(nil, enrolment.Keys{})
	store.Set(newCatalogue(t, matchingSnapshot()))
	handlers := &catalogue.Handlers{Store: store}
	tests := []struct {
		name  string
		query url.Values
		code  string
	}{
		{"unknown district", url.Values{"district": {"310199"}}, "district_not_found"},
		{"entry of another year", url.Values{"district": {"310104"}, "entry": {"2"}}, "entry_not_found"},
		{"entry that is no number", url.Values{"district": {"310104"}, "entry": {"x"}}, "entry_not_found"},
		{"address without number in mode 2", url.Values{"district": {"310104"}, "entry": {"21"}, "address": {"漕溪北路"}}, "address_missing_number"},
		{"range as address", url.Values{"district": {"310104"}, "entry": {"21"}, "address": {"漕溪北路100-120号"}}, "address_range_not_allowed"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			_, err := getMatching(t, handlers, test.query)
			apiErr := apierror.As(err)
			if apiErr == nil || apiErr.Code != test.code {
				t.Errorf("GetMatching error = %v, want code %s", err, test.code)
			}
		})
	}
}
