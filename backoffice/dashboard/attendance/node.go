// Package attendance serves the attendance and morning-check panels of the
// monitoring dashboards (来离园监测): today's attendance, morning checks,
// trends, sick-leave types and abnormal reasons, arrival and departure
// times, and the reports. Every panel reads the rollups of the monitoring
// package, drills down city → district → street → kindergarten, and limits
// every query to the signed-in staff member's data scope.
package attendance

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"time"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// Node is the unit a panel shows: the city, a district, a street or a
// kindergarten. Its children are the units one level down.
type Node struct {
	Level          string `json:"level"`
	DistrictCode   string `json:"districtCode,omitempty"`
	StreetCode     string `json:"streetCode,omitempty"`
	KindergartenID int64  `json:"kindergartenId,omitempty"`
	Name           string `json:"name"`
}

// Errors of the panel parameters.
var (
	ErrUnknownDistrict     = apierror.Invalid("district", "unknown_district", "区不存在，请检查区代码。")
	ErrUnknownStreet       = apierror.Invalid("street", "unknown_street", "街镇不存在，请检查街镇代码。")
	ErrUnknownKindergarten = apierror.Invalid("kindergarten", "unknown_kindergarten", "园所不存在，请检查园所编号。")
	ErrInvalidDate         = apierror.Invalid("date", "invalid_date", "日期格式应为 YYYY-MM-DD。")
	ErrInvalidRange        = apierror.Invalid("range", "invalid_range", "统计范围应为 day、week、month、quarter、year 或 custom。")
	ErrInvalidCustomRange  = apierror.Invalid("from", "invalid_custom_range", "自定义范围须填写开始和结束日期，开始不晚于结束，且不超过 400 天。")
)

// parseNode reads the drill-down parameters (kindergarten, street or
// district, the most specific wins) and checks the node against scope.
// Without any, the node is the scope's own unit. The places come from
// names, so most requests parse their node without a database round trip.
func parseNode(ctx context.Context, names *names, query url.Values, scope access.Scope) (Node, error) {
	node := Node{Level: access.LevelCity, Name: "全市"}
	switch {
	case query.Get("kindergarten") != "":
		id, err := strconv.ParseInt(query.Get("kindergarten"), 10, 64)
		if err != nil || id <= 0 {
			return node, ErrUnknownKindergarten
		}
		node.Level, node.KindergartenID = access.LevelKindergarten, id
		entries, err := names.kindergartenEntries(ctx, []int64{id})
		if err != nil {
			return node, err
		}
		entry, ok := entries[id]
		if !ok {
			return node, ErrUnknownKindergarten
		}
		node.Name, node.DistrictCode, node.StreetCode = entry.name, entry.districtCode, entry.streetCode
	case query.Get("street") != "":
		node.Level, node.StreetCode = access.LevelStreet, query.Get("street")
		name, districtCode, ok, err := names.street(ctx, node.StreetCode)
		if err != nil {
			return node, err
		}
		if !ok {
			return node, ErrUnknownStreet
		}
		node.Name, node.DistrictCode = name, districtCode
	case query.Get("district") != "":
		node.Level, node.DistrictCode = access.LevelDistrict, query.Get("district")
		name, ok, err := names.district(ctx, node.DistrictCode)
		if err != nil {
			return node, err
		}
		if !ok {
			return node, ErrUnknownDistrict
		}
		node.Name = name
	default:
		switch scope.Level {
		case access.LevelDistrict:
			return parseNode(ctx, names, url.Values{"district": {scope.DistrictCode}}, scope)
		case access.LevelStreet:
			return parseNode(ctx, names, url.Values{"street": {scope.StreetCode}}, scope)
		case access.LevelKindergarten:
			return parseNode(ctx, names, url.Values{"kindergarten": {strconv.FormatInt(scope.KindergartenID, 10)}}, scope)
		}
	}
	if !covers(scope, node) {
		return node, access.ErrOutOfScope
	}
	return node, nil
}

// covers reports whether scope may see node and everything under it.
func covers(scope access.Scope, node Node) bool {
	switch scope.Level {
	case access.LevelCity:
		return true
	case access.LevelDistrict:
		return node.Level != access.LevelCity && node.DistrictCode == scope.DistrictCode
	case access.LevelStreet:
		return (node.Level == access.LevelStreet || node.Level == access.LevelKindergarten) && node.StreetCode == scope.StreetCode
	case access.LevelKindergarten:
		return node.Level == access.LevelKindergarten && node.KindergartenID == scope.KindergartenID
	}
	return false
}

// Period is an inclusive range of days.
type Period struct {
	Kind string    `json:"kind"`
	From time.Time `json:"-"`
	To   time.Time `json:"-"`
}

// MarshalJSON writes the period with its days as YYYY-MM-DD.
func (p Period) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"kind": p.Kind, "from": p.From.Format(time.DateOnly), "to": p.To.Format(time.DateOnly)})
}

const maxCustomDays = 400

// parsePeriod reads range (day, week, month, quarter, year or custom, day
// by default) around date, or from and to for a custom range.
func parsePeriod(query url.Values, defaultDay time.Time) (Period, error) {
	day := defaultDay
	if value := query.Get("date"); value != "" {
		parsed, err := time.Parse(time.DateOnly, value)
		if err != nil {
			return Period{}, ErrInvalidDate
		}
		day = parsed
	}
	kind := query.Get("range")
	if kind == "" {
		kind = "day"
	}
	period := Period{Kind: kind}
	switch kind {
	case "day":
		period.From, period.To = day, day
	case "week":
		offset := (int(day.Weekday()) + 6) % 7 // days since Monday
		period.From = day.AddDate(0, 0, -offset)
		period.To = period.From.AddDate(0, 0, 6)
	case "month":
		period.From = time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
		period.To = period.From.AddDate(0, 1, -1)
	case "quarter":
		period.From = time.Date(day.Year(), (day.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)
		period.To = period.From.AddDate(0, 3, -1)
	case "year":
		period.From = time.Date(day.Year(), time.January, 1, 0, 0, 0, 0, time.UTC)
		period.To = period.From.AddDate(1, 0, -1)
	case "custom":
		from, err1 := time.Parse(time.DateOnly, query.Get("from"))
		to, err2 := time.Parse(time.DateOnly, query.Get("to"))
		if err1 != nil || err2 != nil || to.Before(from) || to.Sub(from) > maxCustomDays*24*time.Hour {
			return Period{}, ErrInvalidCustomRange
		}
		period.From, period.To = from, to
	default:
		return Period{}, ErrInvalidRange
	}
	return period, nil
}
