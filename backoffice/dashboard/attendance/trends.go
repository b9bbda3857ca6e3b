package attendance

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/monitoring"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// granularities maps the granularity parameter to its grouping.
var granularities = map[string]string{"day": groupDay, "month": groupMonth, "quarter": groupQuarter, "year": groupYear}

// Point is a series' figures in one period.
type Point struct {
	Period string `json:"period"`
	Counts
}

// Series is one line of a trend.
type Series struct {
	Key    string  `json:"key"`
	Name   string  `json:"name"`
	Points []Point `json:"points"`
}

type trendResponse struct {
	Node        Node     `json:"node"`
	Period      Period   `json:"period"`
	Granularity string   `json:"granularity"`
	By          string   `json:"by"`
	Periods     []string `json:"periods"`
	Series      []Series `json:"series"`
}

// trend handles GET /dashboard/attendance/trend: attendance and
// not-checked figures per day, month, quarter or year (granularity, day by
// default) over the range (a week by default), for the node as a whole
// (by=total), per unit one level down (by=unit) or per grade (by=grade).
// A day's drill-down is the today panel with that date.
func (h *Handlers) trend(r *http.Request, request panelRequest) (any, error) {
	var err error
	granularity := request.query.Get("granularity")
	if granularity == "" {
		granularity = "day"
	}
	periodGroup, ok := granularities[granularity]
	if !ok {
		return nil, apierror.Invalid("granularity", "invalid_granularity", "统计粒度应为 day、month、quarter 或 year。")
	}
	by := request.query.Get("by")
	if by == "" {
		by = "total"
	}
	groups := []string{periodGroup}
	level := ""
	switch by {
	case "total":
	case groupUnit:
		groups, level = append(groups, groupUnit), unitLevel(request.node)
	case groupGrade:
		groups, level = append(groups, groupGrade), groupGrade
	default:
		return nil, apierror.Invalid("by", "invalid_trend_series", "分组应为 total（合计）、unit（下级单位）或 grade（年级）。")
	}
	rows, err := countRows(r.Context(), h.DB, request.staff.Scope, request.node, request.period, groups...)
	if err != nil {
		return nil, err
	}

	response := trendResponse{Node: request.node, Period: request.period, Granularity: granularity, By: by, Periods: []string{}, Series: []Series{}}
	seriesIndex := map[string]int{}
	var keys []string
	for _, row := range rows {
		if len(response.Periods) == 0 || response.Periods[len(response.Periods)-1] != row.Keys[0] {
			response.Periods = append(response.Periods, row.Keys[0])
		}
		key := "total"
		if len(row.Keys) > 1 {
			key = row.Keys[1]
		}
		index, ok := seriesIndex[key]
		if !ok {
			index = len(response.Series)
			seriesIndex[key] = index
			response.Series = append(response.Series, Series{Key: key, Name: request.node.Name})
			keys = append(keys, key)
		}
		response.Series[index].Points = append(response.Series[index].Points, Point{Period: row.Keys[0], Counts: row.Counts})
	}
	if level != "" {
		names, err := h.names.resolve(r.Context(), level, keys)
		if err != nil {
			return nil, err
		}
		for i := range response.Series {
			response.Series[i].Name = names[response.Series[i].Key]
		}
	}
	return response, nil
}

type leaveReasonsResponse struct {
	Node      Node    `json:"node"`
	Period    Period  `json:"period"`
	Totals    Counts  `json:"totals"`
	SickTypes []Share `json:"sickTypes"`
	Reasons   []Share `json:"reasons"`
	Units     []Unit  `json:"units"`
}

// leaveReasons handles GET /dashboard/attendance/leave-reasons: the
// sick-leave types (disease, symptom, other) and the abnormal morning-check
// reasons over the range (a month by default), for the node and per unit.
func (h *Handlers) leaveReasons(r *http.Request, request panelRequest) (any, error) {
	var err error
	unitRows, err := countRows(r.Context(), h.DB, request.staff.Scope, request.node, request.period, groupUnit)
	if err != nil {
		return nil, err
	}
	response := leaveReasonsResponse{Node: request.node, Period: request.period}
	if response.Units, err = h.units(r, unitLevel(request.node), unitRows); err != nil {
		return nil, err
	}
	for i := range unitRows {
		response.Totals.Add(&unitRows[i].Counts)
	}
	response.Totals.derive()
	response.SickTypes, response.Reasons = sickShares(&response.Totals), reasonShares(&response.Totals)
	return response, nil
}

// arrivalGroupings are the ways to split the arrival slots: one series,
// or one per month, season or weather condition.
var arrivalGroupings = map[string]string{
	"none":    "'all'",
	"month":   "to_char(s.day, 'YYYY-MM')",
	"season":  "CASE WHEN extract(month FROM s.day) BETWEEN 3 AND 5 THEN 'spring' WHEN extract(month FROM s.day) BETWEEN 6 AND 8 THEN 'summer' WHEN extract(month FROM s.day) BETWEEN 9 AND 11 THEN 'autumn' ELSE 'winter' END",
	"weather": "w.condition::text",
}

var seasonNames = map[string]string{"spring": "春季", "summer": "夏季", "autumn": "秋季", "winter": "冬季", "all": "合计"}

// SlotSeries is the arrivals and departures per 10-minute slot of one
// group, with the slots' labels in arrivalsResponse.Slots.
type SlotSeries struct {
	Key             string  `json:"key"`
	Name            string  `json:"name"`
	Days            int     `json:"days"`
	Arrivals        []int64 `json:"arrivals"`
	Departures      []int64 `json:"departures"`
	ArrivalPeak     string  `json:"arrivalPeak"`
	ArrivalTrough   string  `json:"arrivalTrough"`
	DeparturePeak   string  `json:"departurePeak"`
	DepartureTrough string  `json:"departureTrough"`
}

type arrivalsResponse struct {
	Node   Node         `json:"node"`
	Period Period       `json:"period"`
	By     string       `json:"by"`
	Slots  []string     `json:"slots"`
	Series []SlotSeries `json:"series"`
}

func slotLabel(slot int) string {
	return monitoring.FormatMinute(int16(slot*10)) + "-" + monitoring.FormatMinute(int16(slot*10+9))
}

// arrivals handles GET /dashboard/attendance/arrivals: arrivals and
// departures per 10-minute slot over the range (a month by default), split
// by month, season or weather (by), with each series' peak and trough
// slots. The trough is the slot with the fewest children among the slots
// that have any.
func (h *Handlers) arrivals(r *http.Request, request panelRequest) (any, error) {
	var err error
	by := request.query.Get("by")
	if by == "" {
		by = "none"
	}
	groupSQL, ok := arrivalGroupings[by]
	if !ok {
		return nil, apierror.Invalid("by", "invalid_arrival_grouping", "分组应为 none、month、season 或 weather。")
	}

	var from, nodeSQL string
	var columns access.Columns
	args := []any{request.period.From, request.period.To}
	switch request.node.Level {
	case access.LevelCity, access.LevelDistrict:
		from = "arrival_district_slot s"
		if by == "weather" {
			from += " JOIN weather_day w ON w.day = s.day AND w.district_code = s.district_code"
		}
		columns = access.Columns{Districts: []string{"s.district_code"}}
		nodeSQL = "TRUE"
		if request.node.Level == access.LevelDistrict {
			nodeSQL, args = "s.district_code = $3", append(args, request.node.DistrictCode)
		}
	default:
		from = "arrival_kindergarten_slot s JOIN kindergarten k ON k.id = s.kindergarten_id"
		if by == "weather" {
			from += " JOIN weather_day w ON w.day = s.day AND w.district_code = k.district_code"
		}
		columns = access.Columns{
			Districts:    []string{"k.district_code"},
			Streets:      []string{"k.street_code"},
			Kindergarten: func(placeholder string) string { return "s.kindergarten_id = " + placeholder },
		}
		if request.node.Level == access.LevelStreet {
			nodeSQL, args = "k.street_code = $3", append(args, request.node.StreetCode)
		} else {
			nodeSQL, args = "s.kindergarten_id = $3", append(args, request.node.KindergartenID)
		}
	}
	// NOTE: split by weather, a day without a weather row for its district
	// is left out; the other splits count it.
	scopeCondition := request.staff.Scope.Filter(columns, len(args)+1)
	args = append(args, scopeCondition.Args...)
	query := `SELECT ` + groupSQL + ` AS key, s.slot, sum(s.arrivals), sum(s.departures), count(DISTINCT s.day)
		FROM ` + from + `
		WHERE s.day BETWEEN $1 AND $2 AND ` + nodeSQL + ` AND ` + scopeCondition.SQL + `
		GROUP BY 1, 2 ORDER BY 1, 2`
	rows, err := h.DB.QueryContext(r.Context(), query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type slotCount struct {
		key                  string
		slot                 int
		arrivals, departures int64
		days                 int
	}
	var counts []slotCount
	first, last := 143, 0
	for rows.Next() {
		var c slotCount
		if err := rows.Scan(&c.key, &c.slot, &c.arrivals, &c.departures, &c.days); err != nil {
			return nil, err
		}
		first, last = min(first, c.slot), max(last, c.slot)
		counts = append(counts, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	response := arrivalsResponse{Node: request.node, Period: request.period, By: by, Slots: []string{}, Series: []SlotSeries{}}
	if len(counts) == 0 {
		return response, nil
	}
	for slot := first; slot <= last; slot++ {
		response.Slots = append(response.Slots, slotLabel(slot))
	}
	index := map[string]int{}
	for _, c := range counts {
		i, ok := index[c.key]
		if !ok {
			i = len(response.Series)
			index[c.key] = i
			response.Series = append(response.Series, SlotSeries{
				Key: c.key, Name: groupName(by, c.key),
				Arrivals: make([]int64, last-first+1), Departures: make([]int64, last-first+1),
			})
		}
		series := &response.Series[i]
		series.Arrivals[c.slot-first] += c.arrivals
		series.Departures[c.slot-first] += c.departures
		series.Days = max(series.Days, c.days)
	}
	for i := range response.Series {
		series := &response.Series[i]
		series.ArrivalPeak, series.ArrivalTrough = peakAndTrough(series.Arrivals, first)
		series.DeparturePeak, series.DepartureTrough = peakAndTrough(series.Departures, first)
	}
	return response, nil
}

func groupName(by, key string) string {
	switch by {
	case "weather":
		if condition, err := strconv.Atoi(key); err == nil && condition > 0 && condition < len(monitoring.WeatherLabels) {
			return monitoring.WeatherLabels[condition]
		}
	case "season", "none":
		return seasonNames[key]
	case "month":
		return strings.Replace(key, "-", "年", 1) + "月"
	}
	return key
}

// peakAndTrough returns the labels of the slots with the most and the
// fewest (but some) children.
func peakAndTrough(values []int64, first int) (string, string) {
	peak, trough := -1, -1
	for i, v := range values {
		if v == 0 {
			continue
		}
		if peak < 0 || v > values[peak] {
			peak = i
		}
		if trough < 0 || v < values[trough] {
			trough = i
		}
	}
	if peak < 0 {
		return "", ""
	}
	return slotLabel(first + peak), slotLabel(first + trough)
}
