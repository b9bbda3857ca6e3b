package monitoring

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// RecordInput is one record as the ingest API and the import files carry
// it, with code names instead of table codes and times as "HH:MM".
type RecordInput struct {
	ChildKey     string `json:"childKey"`
	CampusID     int64  `json:"campusId,omitempty"`
	Grade        string `json:"grade"`
	ClassName    string `json:"className,omitempty"`
	Date         string `json:"date"`
	Status       string `json:"status"`
	SickType     string `json:"sickType,omitempty"`
	Arrival      string `json:"arrival,omitempty"`
	Departure    string `json:"departure,omitempty"`
	MorningCheck string `json:"morningCheck,omitempty"`
	Reason       string `json:"reason,omitempty"`
	SentHome     bool   `json:"sentHome,omitempty"`
	Note         string `json:"note,omitempty"`
}

// FieldError is an invalid field of one record, with a message in Chinese
// for the sender.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// MaxPastDays is how far back a record's date may lie: a kindergarten
// corrects its data within the school year.
const MaxPastDays = 400

// Shanghai is the time zone of attendance dates and times.
var Shanghai = mustLocation("Asia/Shanghai")

func mustLocation(name string) *time.Location {
	location, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return location
}

// ParseRecord validates input and converts it to a Record. today is the
// current date in Shanghai; a record may not lie after it.
func ParseRecord(input RecordInput, today time.Time) (Record, *FieldError) {
	record := Record{ChildKey: strings.TrimSpace(input.ChildKey), CampusID: input.CampusID,
		ClassName: strings.TrimSpace(input.ClassName), Note: strings.TrimSpace(input.Note),
		ArrivalMinute: NoMinute, DepartureMinute: NoMinute}
	invalid := func(field, message string) (Record, *FieldError) {
		return Record{}, &FieldError{Field: field, Message: message}
	}

	if record.ChildKey == "" || utf8.RuneCountInString(record.ChildKey) > 64 {
		return invalid("childKey", "幼儿标识不能为空，且不超过 64 个字符。")
	}
	if input.CampusID < 0 {
		return invalid("campusId", "办园点编号无效。")
	}
	grade, ok := GradeNames[input.Grade]
	if !ok {
		return invalid("grade", "年级无效，应为 nursery、junior、middle、senior 或 mixed。")
	}
	record.Grade = grade
	if utf8.RuneCountInString(record.ClassName) > 32 {
		return invalid("className", "班级名称不超过 32 个字符。")
	}

	day, err := time.ParseInLocation(time.DateOnly, input.Date, time.UTC)
	if err != nil {
		return invalid("date", "日期格式应为 YYYY-MM-DD。")
	}
	if day.After(today) {
		return invalid("date", "日期不能晚于今天。")
	}
	if day.Before(today.AddDate(0, 0, -MaxPastDays)) {
		return invalid("date", "日期不能早于 "+strconv.Itoa(MaxPastDays)+" 天前。")
	}
	record.Day = day

	status, ok := StatusNames[input.Status]
	if !ok {
		return invalid("status", "考勤状态无效，应为 present、sick_leave、personal_leave 或 not_checked。")
	}
	record.Status = status
	sickType, ok := SickNames[input.SickType]
	if !ok {
		return invalid("sickType", "病假类型无效，应为 disease、symptom 或 other。")
	}
	if status == StatusSick && sickType == SickNone {
		return invalid("sickType", "病假须填写病假类型。")
	}
	if status != StatusSick && sickType != SickNone {
		return invalid("sickType", "只有病假可以填写病假类型。")
	}
	record.SickType = sickType

	if record.ArrivalMinute, ok = parseMinute(input.Arrival); !ok {
		return invalid("arrival", "来园时间格式应为 HH:MM。")
	}
	if record.DepartureMinute, ok = parseMinute(input.Departure); !ok {
		return invalid("departure", "离园时间格式应为 HH:MM。")
	}
	if status != StatusPresent && (record.ArrivalMinute != NoMinute || record.DepartureMinute != NoMinute) {
		return invalid("arrival", "只有出勤的幼儿可以填写来园、离园时间。")
	}
	if record.ArrivalMinute != NoMinute && record.DepartureMinute != NoMinute && record.DepartureMinute < record.ArrivalMinute {
		return invalid("departure", "离园时间不能早于来园时间。")
	}

	check, ok := CheckNames[input.MorningCheck]
	if !ok {
		return invalid("morningCheck", "晨检结果无效，应为 normal、abnormal 或 not_checked。")
	}
	if check != CheckNone && status != StatusPresent {
		return invalid("morningCheck", "只有出勤的幼儿可以填写晨检结果。")
	}
	record.CheckResult = check
	if check == CheckAbnormal {
		reason, ok := ReasonNames[input.Reason]
		if !ok {
			return invalid("reason", "晨检异常须填写原因：temperature、mouth、eyes、skin_hands、skin_face 或 other。")
		}
		record.Reason, record.SentHome = reason, input.SentHome
	} else if input.Reason != "" || input.SentHome || record.Note != "" {
		return invalid("reason", "只有晨检异常可以填写异常原因、返家和说明。")
	}
	if utf8.RuneCountInString(record.Note) > 200 {
		return invalid("note", "说明不超过 200 个字符。")
	}
	return record, nil
}

// parseMinute parses "HH:MM" into minutes after midnight; "" is NoMinute.
func parseMinute(value string) (int16, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return NoMinute, true
	}
	hours, minutes, found := strings.Cut(value, ":")
	if !found || len(minutes) != 2 || len(hours) < 1 || len(hours) > 2 {
		return 0, false
	}
	h, err1 := strconv.Atoi(hours)
	m, err2 := strconv.Atoi(minutes)
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, false
	}
	return int16(h*60 + m), true
}

// FormatMinute formats minutes after midnight as "HH:MM", and NoMinute as "".
func FormatMinute(minute int16) string {
	if minute < 0 {
		return ""
	}
	return strconv.Itoa(int(minute)/60/10) + strconv.Itoa(int(minute)/60%10) + ":" + strconv.Itoa(int(minute)%60/10) + strconv.Itoa(int(minute)%10)
}

// Today returns the current date in Shanghai as a UTC midnight, the form
// Record.Day has.
func Today(now time.Time) time.Time {
	local := now.In(Shanghai)
	return time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
}
