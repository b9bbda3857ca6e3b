// Package monitoring holds the attendance (考勤), morning-check (晨检) and
// weather data behind the attendance dashboards: the ingest API and bulk
// import for kindergarten systems, the rollups that ingest keeps current, the
// command that rebuilds them from raw rows, and a deterministic generator of
// a school year for demos and benchmarks.
//
// The codes below are the smallint values stored in the tables of
// migrations/0010_attendance.sql.
package monitoring

// Grades (年级).
const (
	GradeNursery = 1 // 托班
	GradeJunior  = 2 // 小班
	GradeMiddle  = 3 // 中班
	GradeSenior  = 4 // 大班
	GradeMixed   = 5 // 混龄班
)

// Attendance statuses of a child on a day.
const (
	StatusNotChecked = 0 // 未考勤
	StatusPresent    = 1 // 出勤
	StatusSick       = 2 // 病假
	StatusPersonal   = 3 // 事假
)

// Sick-leave types.
const (
	SickNone    = 0
	SickDisease = 1 // 疾病类
	SickSymptom = 2 // 症状类
	SickOther   = 3 // 其他
)

// Morning-check results.
const (
	CheckNone     = 0
	CheckNormal   = 1
	CheckAbnormal = 2
)

// Abnormal morning-check reasons.
const (
	ReasonTemperature = 1 // 体温异常
	ReasonMouth       = 2 // 口腔异常
	ReasonEyes        = 3 // 眼部异常
	ReasonSkinHands   = 4 // 皮肤（手部）异常
	ReasonSkinFace    = 5 // 皮肤（面部）异常
	ReasonOther       = 6 // 其他
)

// Weather conditions.
const (
	WeatherSunny  = 1
	WeatherCloudy = 2
	WeatherRain   = 3
	WeatherSnow   = 4
)

// NoMinute marks a missing arrival or departure time.
const NoMinute = -1

// Code names used by the ingest API and the import files, by code.
var (
	GradeNames   = map[string]int16{"nursery": GradeNursery, "junior": GradeJunior, "middle": GradeMiddle, "senior": GradeSenior, "mixed": GradeMixed}
	StatusNames  = map[string]int16{"not_checked": StatusNotChecked, "present": StatusPresent, "sick_leave": StatusSick, "personal_leave": StatusPersonal}
	SickNames    = map[string]int16{"": SickNone, "disease": SickDisease, "symptom": SickSymptom, "other": SickOther}
	CheckNames   = map[string]int16{"": CheckNone, "not_checked": CheckNone, "normal": CheckNormal, "abnormal": CheckAbnormal}
	ReasonNames  = map[string]int16{"temperature": ReasonTemperature, "mouth": ReasonMouth, "eyes": ReasonEyes, "skin_hands": ReasonSkinHands, "skin_face": ReasonSkinFace, "other": ReasonOther}
	WeatherNames = map[string]int16{"sunny": WeatherSunny, "cloudy": WeatherCloudy, "rain": WeatherRain, "snow": WeatherSnow}
)

// Chinese labels, indexed by code.
var (
	GradeLabels   = [...]string{"", "托班", "小班", "中班", "大班", "混龄班"}
	StatusLabels  = [...]string{"未考勤", "出勤", "病假", "事假"}
	SickLabels    = [...]string{"", "疾病类", "症状类", "其他"}
	ReasonLabels  = [...]string{"", "体温异常", "口腔异常", "眼部异常", "皮肤（手部）异常", "皮肤（面部）异常", "其他"}
	WeatherLabels = [...]string{"", "晴", "多云", "雨", "雪"}
)
