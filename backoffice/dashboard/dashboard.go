// Package dashboard holds what the dashboard panels share: the date range
// and drill-down area of a request, query building, the names of
// districts and streets, the Redis cache of responses and the streamed
// xlsx export.
package dashboard

import (
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// Permissions of the dashboards.
const (
	PermissionRead  = "dashboard.read"
	PermissionWrite = "dashboard.write"
)

// Periods a panel can cover.
const (
	PeriodDay     = "day"
	PeriodWeek    = "week"
	PeriodMonth   = "month"
	PeriodQuarter = "quarter"
	PeriodYear    = "year"
	PeriodCustom  = "custom"
	// PeriodAll covers every row, whatever its time.
	PeriodAll = "all"
)

// Buckets of a trend.
const (
	BucketHour  = "hour"
	BucketDay   = "day"
	BucketMonth = "month"
)

// firstDate and endDate bound every date a range request may name, and
// are the range of PeriodAll: enrolment data starts after 2000, and a
// date near year 9999 would make a range end that time.Time cannot
// encode as JSON.
var (
	firstDate = time.Date(2000, 1, 1, 0, 0, 0, 0, enrol.Shanghai)
	endDate   = time.Date(2100, 1, 1, 0, 0, 0, 0, enrol.Shanghai)
)

// parseDate reads the YYYY-MM-DD parameter name, which must lie between
// firstDate and endDate. label names the parameter in the messages.
func parseDate(value, name, label string) (time.Time, error) {
	parsed, err := time.ParseInLocation(time.DateOnly, value, enrol.Shanghai)
	if err != nil {
		return time.Time{}, apierror.Invalid(name, "invalid_date", label+"格式应为 YYYY-MM-DD。")
	}
	if parsed.Before(firstDate) || !parsed.Before(endDate) {
		return time.Time{}, apierror.Invalid(name, "date_out_of_range",
			label+"应在 2000-01-01 至 2099-12-31 之间："+value)
	}
	return parsed, nil
}

// maxCustomDays bounds a custom range, so one request cannot ask for an
// unbounded daily trend.
const maxCustomDays = 3 * 366

// Range is a half-open interval [From, To) in Shanghai time, with the
// bucket its trend uses.
type Range struct {
	Period string    `json:"period"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Bucket string    `json:"bucket"`
}

// ParseRange reads "period": day, week, month, quarter, year, custom or
// all (the default). For the fixed periods "date" (YYYY-MM-DD, default
// today) is a day inside the period, and weeks start on Monday. A custom
// period reads the inclusive dates "from" and "to". Every date must lie in
// the years 2000 to 2099.
func ParseRange(r *http.Request, now time.Time) (Range, error) {
	query := r.URL.Query()
	period := query.Get("period")
	if period == "" {
		period = PeriodAll
	}
	anchor := now.In(enrol.Shanghai)
	anchor = time.Date(anchor.Year(), anchor.Month(), anchor.Day(), 0, 0, 0, 0, enrol.Shanghai)
	if value := query.Get("date"); value != "" {
		parsed, err := parseDate(value, "date", "日期")
		if err != nil {
			return Range{}, err
		}
		anchor = parsed
	}

	result := Range{Period: period}
	switch period {
	case PeriodAll:
		result.From, result.To, result.Bucket = firstDate, endDate, BucketDay
	case PeriodDay:
		result.From, result.To, result.Bucket = anchor, anchor.AddDate(0, 0, 1), BucketHour
	case PeriodWeek:
		offset := (int(anchor.Weekday()) + 6) % 7
		result.From = anchor.AddDate(0, 0, -offset)
		result.To, result.Bucket = result.From.AddDate(0, 0, 7), BucketDay
	case PeriodMonth:
		result.From = time.Date(anchor.Year(), anchor.Month(), 1, 0, 0, 0, 0, enrol.Shanghai)
		result.To, result.Bucket = result.From.AddDate(0, 1, 0), BucketDay
	case PeriodQuarter:
		firstMonth := time.Month((int(anchor.Month())-1)/3*3 + 1)
		result.From = time.Date(anchor.Year(), firstMonth, 1, 0, 0, 0, 0, enrol.Shanghai)
		result.To, result.Bucket = result.From.AddDate(0, 3, 0), BucketMonth
	case PeriodYear:
		result.From = time.Date(anchor.Year(), 1, 1, 0, 0, 0, 0, enrol.Shanghai)
		result.To, result.Bucket = result.From.AddDate(1, 0, 0), BucketMonth
	case PeriodCustom:
		from, err := parseDate(query.Get("from"), "from", "开始日期")
		if err != nil {
			return Range{}, err
		}
		to, err := parseDate(query.Get("to"), "to", "结束日期")
		if err != nil {
			return Range{}, err
		}
		if to.Before(from) {
			return Range{}, apierror.Invalid("to", "invalid_date_range", "结束日期不能早于开始日期。")
		}
		days := int(to.Sub(from).Hours()/24) + 1
		if days > maxCustomDays {
			return Range{}, apierror.Invalid("to", "date_range_too_long", "自定义时间段最长为三年。")
		}
		result.From, result.To = from, to.AddDate(0, 0, 1)
		switch {
		case days == 1:
			result.Bucket = BucketHour
		case days <= 92:
			result.Bucket = BucketDay
		default:
			result.Bucket = BucketMonth
		}
	default:
		return Range{}, apierror.Invalid("period", "invalid_period", "时间段应为 day、week、month、quarter、year、custom 或 all。")
	}
	return result, nil
}

// Drill-down levels of an area. The level below the area's level is the
// level its breakdown lists.
const (
	LevelCity         = "city"
	LevelDistrict     = "district"
	LevelStreet       = "street"
	LevelKindergarten = "kindergarten"
)

// Area is the drill-down position of a request: the city, one district or
// one street.
type Area struct {
	Level        string `json:"level"`
	DistrictCode string `json:"districtCode,omitempty"`
	StreetCode   string `json:"streetCode,omitempty"`
}

// ChildLevel returns the level a breakdown of the area lists.
func (a Area) ChildLevel() string {
	switch a.Level {
	case LevelCity:
		return LevelDistrict
	case LevelDistrict:
		return LevelStreet
	}
	return LevelKindergarten
}

var (
	districtPattern = regexp.MustCompile(`^31[0-9]{4}$`)
	streetPattern   = regexp.MustCompile(`^31[0-9]{7}$`)
)

// ParseArea reads "district" and "street" and checks them against the
// viewer's scope. A viewer scoped to a district starts at that district, and
// one scoped to a street or a kindergarten at their street (the caller's
// scope condition narrows a kindergarten viewer further). It returns
// access.ErrOutOfScope for an area outside the scope.
func ParseArea(r *http.Request, scope access.Scope, streetDistrict func(street string) (string, bool)) (Area, error) {
	query := r.URL.Query()
	district, street := query.Get("district"), query.Get("street")
	if district != "" && !districtPattern.MatchString(district) {
		return Area{}, apierror.Invalid("district", "invalid_district", "区代码应为 31 开头的 6 位数字。")
	}
	if street != "" && !streetPattern.MatchString(street) {
		return Area{}, apierror.Invalid("street", "invalid_street", "街镇代码应为 31 开头的 9 位数字。")
	}
	if street != "" {
		owner, ok := streetDistrict(street)
		if !ok {
			return Area{}, apierror.Invalid("street", "unknown_street", "街镇代码 "+street+" 不存在。")
		}
		if district != "" && district != owner {
			return Area{}, apierror.Invalid("street", "street_outside_district", "街镇 "+street+" 不属于区 "+district+"。")
		}
		district = owner
	}

	switch scope.Level {
	case access.LevelCity:
	case access.LevelDistrict:
		if district == "" {
			district = scope.DistrictCode
		}
		if district != scope.DistrictCode {
			return Area{}, access.ErrOutOfScope
		}
	case access.LevelStreet, access.LevelKindergarten:
		owner, ok := streetDistrict(scope.StreetCode)
		if !ok || (street != "" && street != scope.StreetCode) || (district != "" && district != owner) {
			return Area{}, access.ErrOutOfScope
		}
		district, street = owner, scope.StreetCode
	default:
		return Area{}, access.ErrOutOfScope
	}

	switch {
	case street != "":
		return Area{Level: LevelStreet, DistrictCode: district, StreetCode: street}, nil
	case district != "":
		return Area{Level: LevelDistrict, DistrictCode: district}, nil
	}
	return Area{Level: LevelCity}, nil
}

// Condition is the SQL condition of an area on a table whose district and
// street columns are named, with placeholders from next.
func (a Area) Condition(districtColumn, streetColumn string, next int) access.Condition {
	switch a.Level {
	case LevelDistrict:
		return access.Condition{SQL: districtColumn + " = $" + strconv.Itoa(next), Args: []any{a.DistrictCode}}
	case LevelStreet:
		return access.Condition{SQL: streetColumn + " = $" + strconv.Itoa(next), Args: []any{a.StreetCode}}
	}
	return access.Condition{SQL: "TRUE"}
}

// Group returns the column an area's breakdown groups by.
func (a Area) Group(districtColumn, streetColumn, kindergartenColumn string) string {
	switch a.ChildLevel() {
	case LevelDistrict:
		return districtColumn
	case LevelStreet:
		return streetColumn
	}
	return kindergartenColumn
}

// Rate returns part ÷ whole, or 0 when whole is 0.
func Rate(part, whole float64) float64 {
	if whole == 0 {
		return 0
	}
	return part / whole
}
