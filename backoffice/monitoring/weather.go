package monitoring

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// WeatherInput is one district's weather on one day as the weather API
// takes it.
type WeatherInput struct {
	Date            string `json:"date"`
	DistrictCode    string `json:"districtCode"`
	Condition       string `json:"condition"`
	TemperatureHigh int16  `json:"temperatureHigh"`
	TemperatureLow  int16  `json:"temperatureLow"`
	PrecipitationMM int16  `json:"precipitationMm"`
}

type weatherRequest struct {
	Records []WeatherInput `json:"records"`
}

const maxWeatherRecords = 5_000

// weather handles POST /api/v1/monitoring/weather: a batch of district
// weather rows, each replacing the district's row of that day. City staff
// may send any district, district staff their own; the batch is audited as
// one event.
func (h *Handlers) weather(w http.ResponseWriter, r *http.Request) error {
	var request weatherRequest
	if err := httpx.DecodeJSON(r, maxBatchBytes, &request); err != nil {
		return err
	}
	if len(request.Records) == 0 {
		return ErrEmptyBatch
	}
	if len(request.Records) > maxWeatherRecords {
		return apierror.Invalid("records", "batch_too_large", "每批最多 "+strconv.Itoa(maxWeatherRecords)+" 条天气记录，请分批上报。")
	}
	staff := access.StaffFrom(r.Context())
	var known []string
	if err := h.Store.DB.SelectContext(r.Context(), &known, `SELECT code FROM district`); err != nil {
		return err
	}
	today := Today(h.Now())
	rows := make([]Weather, 0, len(request.Records))
	var problems []RecordError
	for i, input := range request.Records {
		row, problem := parseWeather(input, today, known)
		if problem == nil && !staff.Scope.AllowsDistrict(row.DistrictCode) {
			return access.ErrOutOfScope
		}
		if problem != nil {
			problems = append(problems, RecordError{Row: i, FieldError: *problem})
			continue
		}
		rows = append(rows, row)
	}
	if len(problems) > 0 {
		httpx.WriteJSON(w, http.StatusUnprocessableEntity, invalidBatchResponse{Error: errInvalidRecords, Errors: problems})
		return nil
	}

	tx, err := h.Store.DB.BeginTxx(r.Context(), nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := saveWeather(r.Context(), tx, rows); err != nil {
		return err
	}
	event := audit.Event{Action: "weather.ingest", Resource: "weather_day", ResourceID: rows[0].Day.Format(time.DateOnly),
		Detail: "上报天气 " + strconv.Itoa(len(rows)) + " 条"}
	if staff.Scope.Level == access.LevelDistrict {
		event.DistrictCode = staff.Scope.DistrictCode
	}
	if err := h.Trail.RecordTx(r.Context(), tx, r, staff, event); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]int{"records": len(rows)})
	return nil
}

func parseWeather(input WeatherInput, today time.Time, districts []string) (Weather, *FieldError) {
	day, err := time.Parse(time.DateOnly, input.Date)
	if err != nil || day.After(today) || day.Before(today.AddDate(0, 0, -MaxPastDays)) {
		return Weather{}, &FieldError{Field: "date", Message: "日期格式应为 YYYY-MM-DD，且不晚于今天、不早于 " + strconv.Itoa(MaxPastDays) + " 天前。"}
	}
	code := strings.TrimSpace(input.DistrictCode)
	if !slices.Contains(districts, code) {
		return Weather{}, &FieldError{Field: "districtCode", Message: "区代码无效。"}
	}
	condition, ok := WeatherNames[input.Condition]
	if !ok {
		return Weather{}, &FieldError{Field: "condition", Message: "天气应为 sunny、cloudy、rain 或 snow。"}
	}
	if input.TemperatureLow > input.TemperatureHigh || input.TemperatureHigh > 50 || input.TemperatureLow < -30 {
		return Weather{}, &FieldError{Field: "temperatureLow", Message: "气温应在 -30 至 50 °C 之间，且最低气温不高于最高气温。"}
	}
	if input.PrecipitationMM < 0 {
		return Weather{}, &FieldError{Field: "precipitationMm", Message: "降水量不能为负数。"}
	}
	return Weather{Day: day, DistrictCode: code, Condition: condition, TemperatureHigh: input.TemperatureHigh,
		TemperatureLow: input.TemperatureLow, PrecipitationMM: input.PrecipitationMM}, nil
}
