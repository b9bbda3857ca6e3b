package dashboard_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

func TestParseRangePeriods(t *testing.T) {
	// Thursday 2026-05-14, 01:30 in Shanghai, still the 13th in UTC.
	now := time.Date(2026, 5, 13, 17, 30, 0, 0, time.UTC)
	day := func(year int, month time.Month, d int) time.Time {
		return time.Date(year, month, d, 0, 0, 0, 0, enrol.Shanghai)
	}
	cases := []struct {
		query      string
		from, to   time.Time
		wantBucket string
	}{
		{"period=day", day(2026, 5, 14), day(2026, 5, 15), dashboard.BucketHour},
		{"period=week", day(2026, 5, 11), day(2026, 5, 18), dashboard.BucketDay},
		{"period=week&date=2026-05-17", day(2026, 5, 11), day(2026, 5, 18), dashboard.BucketDay},
		{"period=month&date=2026-02-10", day(2026, 2, 1), day(2026, 3, 1), dashboard.BucketDay},
		{"period=quarter", day(2026, 4, 1), day(2026, 7, 1), dashboard.BucketMonth},
		{"period=year", day(2026, 1, 1), day(2027, 1, 1), dashboard.BucketMonth},
		{"period=custom&from=2026-04-23&to=2026-04-23", day(2026, 4, 23), day(2026, 4, 24), dashboard.BucketHour},
		{"period=custom&from=2026-04-23&to=2026-06-15", day(2026, 4, 23), day(2026, 6, 16), dashboard.BucketDay},
		{"period=custom&from=2025-01-01&to=2026-06-15", day(2025, 1, 1), day(2026, 6, 16), dashboard.BucketMonth},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			got, err := dashboard.ParseRange(httptest.NewRequest("GET", "/?"+c.query, nil), now)
			if err != nil {
				t.Fatalf("ParseRange: %v", err)
			}
			if !got.From.Equal(c.from) {
				t.Errorf("from = %s, want %s", got.From, c.from)
			}
			if !got.To.Equal(c.to) {
				t.Errorf("to = %s, want %s", got.To, c.to)
			}
			if got.Bucket != c.wantBucket {
				t.Errorf("bucket = %s, want %s", got.Bucket, c.wantBucket)
			}
		})
	}
}

func TestParseRangeRejects(t *testing.T) {
	for query, code := range map[string]string{
		"period=fortnight":                            "invalid_period",
		"period=day&date=2026-13-01":                  "invalid_date",
		"period=day&date=9999-12-31":                  "date_out_of_range",
		"period=week&date=1999-12-31":                 "date_out_of_range",
		"period=custom&from=2026-05-02&to=2100-01-01": "date_out_of_range",
		"period=custom&from=2026-05-02":               "invalid_date",
		"period=custom&from=2026-05-02&to=2026-05-01": "invalid_date_range",
		"period=custom&from=2020-01-01&to=2026-05-01": "date_range_too_long",
	} {
		_, err := dashboard.ParseRange(httptest.NewRequest("GET", "/?"+query, nil), time.Now())
		if apiErr := apierror.As(err); apiErr == nil || apiErr.Code != code {
			t.Errorf("ParseRange(%s) = %v, want %s", query, err, code)
		}
	}
}

func TestParseAreaScopes(t *testing.T) {
	streets := map[string]string{"310104003": "310104", "310105001": "310105"}
	streetDistrict := func(code string) (string, bool) { d, ok := streets[code]; return d, ok }
	city := access.Scope{Level: access.LevelCity}
	xuhui := access.Scope{Level: access.LevelDistrict, DistrictCode: "310104"}
	street := access.Scope{Level: access.LevelStreet, StreetCode: "310104003"}
	cases := []struct {
		name  string
		scope access.Scope
		query string
		want  dashboard.Area
		code  string
	}{
		{"city default", city, "", dashboard.Area{Level: dashboard.LevelCity}, ""},
		{"city drills to a street", city, "street=310105001", dashboard.Area{Level: dashboard.LevelStreet, DistrictCode: "310105", StreetCode: "310105001"}, ""},
		{"district default", xuhui, "", dashboard.Area{Level: dashboard.LevelDistrict, DistrictCode: "310104"}, ""},
		{"district elsewhere", xuhui, "district=310105", dashboard.Area{}, "out_of_scope"},
		{"district street elsewhere", xuhui, "street=310105001", dashboard.Area{}, "out_of_scope"},
		{"street default", street, "", dashboard.Area{Level: dashboard.LevelStreet, DistrictCode: "310104", StreetCode: "310104003"}, ""},
		{"street outside district", city, "district=310104&street=310105001", dashboard.Area{}, "street_outside_district"},
		{"unknown street", city, "street=310199999", dashboard.Area{}, "unknown_street"},
		{"malformed district", city, "district=1234", dashboard.Area{}, "invalid_district"},
		{"no business data", access.Scope{Level: access.LevelNone}, "", dashboard.Area{}, "out_of_scope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := dashboard.ParseArea(httptest.NewRequest("GET", "/?"+c.query, nil), c.scope, streetDistrict)
			if c.code != "" {
				if apiErr := apierror.As(err); apiErr == nil || apiErr.Code != c.code {
					t.Fatalf("ParseArea = %+v, %v, want error %s", got, err, c.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseArea: %v", err)
			}
			if got != c.want {
				t.Errorf("area = %+v, want %+v", got, c.want)
			}
		})
	}
}
