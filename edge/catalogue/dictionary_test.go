package catalogue_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// withDictionaries is small() with two districts and an ethnicity list that
// 徐汇 overrides: 01 relabelled, 97 hidden, 99 added first.
func withDictionaries() *snapshot.Snapshot {
	s := small()
	s.Districts = append(s.Districts, snapshot.District{Code: "310105", Name: "长宁区"})
	s.Dictionaries = []snapshot.Dictionary{
		{
			Code: "ethnicity", Name: "民族",
			Items: []snapshot.DictionaryItem{
				{Value: "01", Label: "汉族", SortOrder: 10},
				{Value: "02", Label: "蒙古族", SortOrder: 20},
				{Value: "97", Label: "其他", SortOrder: 30},
			},
			Overrides: map[string][]snapshot.DictionaryItem{
				"310104": {
					{Value: "01", Label: "汉族（徐汇）", SortOrder: 10},
					{Value: "97", Label: "其他", SortOrder: 30, Disabled: true},
					{Value: "99", Label: "未识别民族", SortOrder: 5},
				},
			},
		},
		{Code: "hukou_at_residence", Name: "是否人户一致", Items: []snapshot.DictionaryItem{{Value: "yes", Label: "是"}, {Value: "no", Label: "否"}}},
	}
	return s
}

type dictionaryAnswer struct {
	Version      int64  `json:"version"`
	Code         string `json:"code"`
	Name         string `json:"name"`
	DistrictCode string `json:"districtCode"`
	Items        []struct {
		Value string `json:"value"`
		Label string `json:"label"`
	} `json:"items"`
}

func (a dictionaryAnswer) values() string {
	var values []string
	for _, item := range a.Items {
		values = append(values, item.Value+"="+item.Label)
	}
	return strings.Join(values, ",")
}

func getDictionary(t *testing.T, handlers *catalogue.Handlers, code, district string) (*fasthttp.RequestCtx, error) {
	t.Helper()
	ctx := &fasthttp.RequestCtx{}
	uri := "/api/v1/dictionaries/" + code
	if district != "" {
		uri += "?district=" + district
	}
	ctx.Request.SetRequestURI(uri)
	ctx.SetUserValue("code", code)
	return ctx, handlers.GetDictionary(ctx)
}

func TestGetDictionary(t *testing.T) {
	store := catalogue.NewStore(nil, enrolment.Keys{})
	handlers := &catalogue.Handlers{Store: store, Now: time.Now}
	if _, err := getDictionary(t, handlers, "ethnicity", ""); err == nil {
		t.Error("GetDictionary without a snapshot returned no error")
	}
	store.Set(newCatalogue(t, withDictionaries()))

	cases := []struct {
		name, code, district, want string
	}{
		{"city", "ethnicity", "", "01=汉族,02=蒙古族,97=其他"},
		{"district with overrides", "ethnicity", "310104", "99=未识别民族,01=汉族（徐汇）,02=蒙古族"},
		{"district without overrides", "ethnicity", "310105", "01=汉族,02=蒙古族,97=其他"},
		{"items without sort order", "hukou_at_residence", "310104", "yes=是,no=否"},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			ctx, err := getDictionary(t, handlers, test.code, test.district)
			if err != nil {
				t.Fatalf("GetDictionary returned %v", err)
			}
			if ctx.Response.StatusCode() != http.StatusOK {
				t.Errorf("status = %d, want 200", ctx.Response.StatusCode())
			}
			var answer dictionaryAnswer
			if err := json.Unmarshal(ctx.Response.Body(), &answer); err != nil {
				t.Fatalf("body %s does not decode: %v", ctx.Response.Body(), err)
			}
			if got := answer.values(); got != test.want {
				t.Errorf("items = %s, want %s", got, test.want)
			}
			if answer.Code != test.code || answer.DistrictCode != test.district || answer.Version != 7 || answer.Name == "" {
				t.Errorf("answer = %+v, want code %s, district %q, version 7 and a name", answer, test.code, test.district)
			}
			if cache := string(ctx.Response.Header.Peek("Cache-Control")); cache != "public, max-age=300" {
				t.Errorf("Cache-Control = %q, want public, max-age=300", cache)
			}
		})
	}

	t.Run("unknown dictionary", func(t *testing.T) {
		_, err := getDictionary(t, handlers, "religion", "")
		edgetest.CheckError(t, err, http.StatusNotFound, "dictionary_not_found", "")
	})
	t.Run("unknown district", func(t *testing.T) {
		_, err := getDictionary(t, handlers, "ethnicity", "319999")
		edgetest.CheckError(t, err, http.StatusBadRequest, "district_not_found", "district")
	})
}

func TestDictionariesRenderedOnce(t *testing.T) {
	c := newCatalogue(t, withDictionaries())
	first, ok := c.DictionaryJSON("ethnicity", "310104")
	if !ok {
		t.Fatal("DictionaryJSON(ethnicity, 310104) found nothing")
	}
	second, _ := c.DictionaryJSON("ethnicity", "310104")
	if &first[0] != &second[0] {
		t.Error("DictionaryJSON rendered the body again, want the body rendered when the catalogue was built")
	}
}

func TestNewRejectsBrokenDictionaries(t *testing.T) {
	t.Run("override of unknown district", func(t *testing.T) {
		s := withDictionaries()
		s.Dictionaries[0].Overrides["310199"] = []snapshot.DictionaryItem{{Value: "01", Label: "汉族"}}
		if _, err := catalogue.New(s); err == nil || !strings.Contains(err.Error(), "unknown district 310199") {
			t.Errorf("New returned %v, want an error naming unknown district 310199", err)
		}
	})
	t.Run("repeated dictionary", func(t *testing.T) {
		s := withDictionaries()
		s.Dictionaries = append(s.Dictionaries, s.Dictionaries[1])
		if _, err := catalogue.New(s); err == nil || !strings.Contains(err.Error(), "appears twice") {
			t.Errorf("New returned %v, want an error about the repeated dictionary", err)
		}
	})
}
