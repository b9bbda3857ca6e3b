package monitoring

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// Salts keep the random streams of weather, missed days and children apart.
const (
	weatherSalt = 0x5eed_0001
	missSalt    = 0x5eed_0002
	childSalt   = 0x5eed_0003
)

// Monthly climate of Shanghai, rounded from long-term averages: the chance
// of a rainy day and the mean daily high in °C, indexed by month.
var (
	rainChance  = [13]float64{0, 0.30, 0.32, 0.36, 0.34, 0.36, 0.50, 0.40, 0.38, 0.30, 0.22, 0.24, 0.22}
	meanHighs   = [13]float64{0, 8, 10, 14, 20, 25, 28, 32, 32, 28, 23, 17, 11}
	sickSeasons = [13]float64{0, 2.0, 1.7, 1.4, 1.0, 0.9, 0.85, 0.8, 0.8, 0.9, 1.0, 1.3, 1.9}
	// sickGrades scales sickness by grade: the youngest are ill most often.
	sickGrades = [6]float64{0, 1.5, 1.3, 1.0, 0.85, 1.1}
	// reasonWeights are the shares of the abnormal morning-check reasons,
	// in percent, in code order from ReasonTemperature.
	reasonWeights = [7]int{0, 35, 15, 12, 15, 10, 13}
)

func dayNumber(day time.Time) uint64 {
	return uint64(day.Sub(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).Hours() / 24)
}

// simulateWeather returns the weather of every district on day. Districts
// share the city's weather most of the time.
func simulateWeather(seed uint64, day time.Time, districts []string) []Weather {
	rng := rand.New(rand.NewPCG(seed^weatherSalt, dayNumber(day)))
	month := day.Month()
	cityCondition := int16(WeatherSunny)
	switch roll := rng.Float64(); {
	case roll < rainChance[month]:
		cityCondition = WeatherRain
	case roll < rainChance[month]+0.3:
		cityCondition = WeatherCloudy
	}
	high := meanHighs[month] + 3*rng.NormFloat64()
	if cityCondition == WeatherRain && high < 2 {
		cityCondition = WeatherSnow
	}
	rows := make([]Weather, len(districts))
	for i, district := range districts {
		condition := cityCondition
		if rng.Float64() < 0.15 {
			condition = int16(1 + rng.IntN(3))
		}
		if condition == WeatherRain && high < 2 {
			condition = WeatherSnow
		}
		districtHigh := high + rng.NormFloat64()
		precipitation := 0.0
		if condition == WeatherRain || condition == WeatherSnow {
			precipitation = 2 + 10*rng.ExpFloat64()
		}
		rows[i] = Weather{
			Day: day, DistrictCode: district, Condition: condition,
			TemperatureHigh: int16(math.Round(districtHigh)), TemperatureLow: int16(math.Round(districtHigh - 6 - 2*rng.Float64())),
			PrecipitationMM: int16(math.Round(precipitation)),
		}
	}
	return rows
}

// outcome is one child's simulated day.
type outcome struct {
	status, sickType, check, reason int16
	arrival, departure              int16
	sentHome                        bool
}

type simulator struct {
	seed          uint64
	kindergartens []*generatedKindergarten
	weather       map[string]Weather
	source        rand.PCG
	rng           *rand.Rand
}

// missed reports whether a kindergarten's system sent nothing on a day.
func (s *simulator) missed(k *generatedKindergarten, day uint64) bool {
	rng := rand.New(rand.NewPCG(s.seed^missSalt, uint64(k.ID)<<24|day))
	return rng.Float64() < k.missRate
}

// simulate draws one child's day. Every child-day has its own random
// stream, so raw rows and rollup-only days come from the same draws.
func (s *simulator) simulate(child *childProfile, day time.Time, dayKey uint64, missed bool, condition int16) outcome {
	if missed {
		return outcome{arrival: NoMinute, departure: NoMinute}
	}
	if s.rng == nil {
		s.rng = rand.New(&s.source)
	}
	s.source.Seed(s.seed^childSalt^dayKey<<32, uint64(child.id))
	rng := s.rng
	result := outcome{arrival: NoMinute, departure: NoMinute}
	// A child's own system entry is missing now and then.
	if rng.Float64() < 0.003 {
		return result
	}
	weekday := day.Weekday()
	sick := 0.028 * sickSeasons[day.Month()] * sickGrades[child.grade] * child.sickness
	if weekday == time.Monday {
		sick *= 1.1
	}
	personal := 0.022
	switch weekday {
	case time.Monday:
		personal *= 1.3
	case time.Friday:
		personal *= 1.5
	}
	switch condition {
	case WeatherRain:
		personal *= 1.25
	case WeatherSnow:
		personal *= 1.6
	}

	roll := rng.Float64()
	switch {
	case roll < sick:
		result.status = StatusSick
		switch r := rng.Float64(); {
		case r < 0.45:
			result.sickType = SickDisease
		case r < 0.90:
			result.sickType = SickSymptom
		default:
			result.sickType = SickOther
		}
		return result
	case roll < sick+personal:
		result.status = StatusPersonal
		return result
	}

	result.status = StatusPresent
	arrival := child.arrivalMinute + 9*rng.NormFloat64()
	switch condition {
	case WeatherRain:
		arrival += 9 + 4*rng.NormFloat64()
	case WeatherSnow:
		arrival += 18 + 6*rng.NormFloat64()
	}
	departure := child.departureMinute + 12*rng.NormFloat64()
	if weekday == time.Friday {
		departure -= 10
	}
	result.arrival = int16(math.Max(420, math.Min(570, arrival)))
	result.departure = int16(math.Max(930, math.Min(1110, departure)))

	if rng.Float64() < 0.005 {
		return result
	}
	result.check = CheckNormal
	if rng.Float64() < 0.009*math.Sqrt(sickSeasons[day.Month()]) {
		result.check = CheckAbnormal
		pick := rng.IntN(100)
		for reason := ReasonTemperature; reason <= ReasonOther; reason++ {
			pick -= reasonWeights[reason]
			if pick < 0 || reason == ReasonOther {
				result.reason = int16(reason)
				break
			}
		}
		sendHome := 0.2
		if result.reason == ReasonTemperature {
			sendHome = 0.7
		}
		result.sentHome = rng.Float64() < sendHome
	}
	return result
}

func (s *simulator) condition(day time.Time, district string) int16 {
	return s.weather[day.Format(time.DateOnly)+district].Condition
}

// writeRaw stores the raw rows and morning-check details of days.
func (s *simulator) writeRaw(ctx context.Context, tx pgx.Tx, days []time.Time) (int64, int64, error) {
	var abnormal [][]any
	dayIndex, kindergartenIndex, childIndex := 0, 0, 0
	var missed bool
	var condition int16
	startKindergarten := func() {
		k := s.kindergartens[kindergartenIndex]
		missed = s.missed(k, dayNumber(days[dayIndex]))
		condition = s.condition(days[dayIndex], k.DistrictCode)
	}
	source := &funcSource{next: func() ([]any, bool, error) {
		for {
			if dayIndex == len(days) {
				return nil, false, ctx.Err()
			}
			if kindergartenIndex == len(s.kindergartens) {
				dayIndex, kindergartenIndex = dayIndex+1, 0
				continue
			}
			k := s.kindergartens[kindergartenIndex]
			if childIndex == 0 {
				startKindergarten()
			}
			if childIndex == len(k.children) {
				kindergartenIndex, childIndex = kindergartenIndex+1, 0
				continue
			}
			child := &k.children[childIndex]
			childIndex++
			day := days[dayIndex]
			result := s.simulate(child, day, dayNumber(day), missed, condition)
			if result.check == CheckAbnormal {
				abnormal = append(abnormal, []any{int32(k.ID), day, child.id, result.reason, result.sentHome})
			}
			return []any{int32(k.ID), child.id, day, child.grade, result.status, result.sickType, result.check, result.arrival, result.departure}, true, nil
		}
	}}
	raw, err := copyRows(ctx, tx, "attendance_day",
		[]string{"kindergarten_id", "child_id", "day", "grade", "status", "sick_type", "check_result", "arrival_minute", "departure_minute"}, source)
	if err != nil {
		return raw, 0, err
	}
	details, err := copyRows(ctx, tx, "morning_check_abnormal", []string{"kindergarten_id", "day", "child_id", "reason", "sent_home"}, sliceSource(abnormal))
	return raw, details, err
}

// writeRollups stores the rollups of days without raw rows, aggregating
// the same simulation in memory.
func (s *simulator) writeRollups(ctx context.Context, tx pgx.Tx, days []time.Time) (int64, error) {
	const daysPerCopy = 20
	var written int64
	for start := 0; start < len(days); start += daysPerCopy {
		var kindergartenRows, districtRows, kindergartenSlots, districtSlots [][]any
		for _, day := range days[start:min(start+daysPerCopy, len(days))] {
			dayKey := dayNumber(day)
			districtCounts := map[string]*[6][]int64{}
			districtSlotCounts := map[string]*[144][2]int64{}
			for _, k := range s.kindergartens {
				missed := s.missed(k, dayKey)
				condition := s.condition(day, k.DistrictCode)
				var counts [6][]int64
				var slots [144][2]int64
				for i := range k.children {
					child := &k.children[i]
					result := s.simulate(child, day, dayKey, missed, condition)
					if counts[child.grade] == nil {
						counts[child.grade] = make([]int64, len(counters))
					}
					addOutcome(counts[child.grade], result)
					if result.arrival >= 0 {
						slots[result.arrival/10][0]++
					}
					if result.departure >= 0 {
						slots[result.departure/10][1]++
					}
				}
				district := districtCounts[k.DistrictCode]
				if district == nil {
					district = &[6][]int64{}
					districtCounts[k.DistrictCode] = district
					districtSlotCounts[k.DistrictCode] = &[144][2]int64{}
				}
				for grade, values := range counts {
					if values == nil {
						continue
					}
					row := []any{day, int32(k.ID), int16(grade), k.DistrictCode, k.StreetCode}
					kindergartenRows = append(kindergartenRows, appendCounts(row, values))
					if district[grade] == nil {
						district[grade] = make([]int64, len(counters))
					}
					for i, v := range values {
						district[grade][i] += v
					}
				}
				districtSlot := districtSlotCounts[k.DistrictCode]
				for slot, pair := range slots {
					if pair[0]+pair[1] == 0 {
						continue
					}
					kindergartenSlots = append(kindergartenSlots, []any{int32(k.ID), day, int16(slot), int32(pair[0]), int32(pair[1])})
					districtSlot[slot][0] += pair[0]
					districtSlot[slot][1] += pair[1]
				}
			}
			for code, grades := range districtCounts {
				for grade, values := range grades {
					if values != nil {
						districtRows = append(districtRows, appendCounts([]any{day, code, int16(grade)}, values))
					}
				}
				for slot, pair := range districtSlotCounts[code] {
					if pair[0]+pair[1] > 0 {
						districtSlots = append(districtSlots, []any{day, code, int16(slot), int32(pair[0]), int32(pair[1])})
					}
				}
			}
		}
		counterColumns := CounterColumns()
		for _, load := range []struct {
			table   string
			columns []string
			rows    [][]any
		}{
			{"attendance_kindergarten_day", append([]string{"day", "kindergarten_id", "grade", "district_code", "street_code"}, counterColumns...), kindergartenRows},
			{"attendance_district_day", append([]string{"day", "district_code", "grade"}, counterColumns...), districtRows},
			{"arrival_kindergarten_slot", []string{"kindergarten_id", "day", "slot", "arrivals", "departures"}, kindergartenSlots},
			{"arrival_district_slot", []string{"day", "district_code", "slot", "arrivals", "departures"}, districtSlots},
		} {
			n, err := copyRows(ctx, tx, load.table, load.columns, sliceSource(load.rows))
			if err != nil {
				return written, err
			}
			written += n
		}
	}
	return written, nil
}

// addOutcome adds one child-day to counts, in the order of counters.
func addOutcome(counts []int64, result outcome) {
	counts[0]++ // expected
	switch result.status {
	case StatusPresent:
		counts[1]++
	case StatusSick:
		counts[2]++
		counts[4+result.sickType]++ // sick_disease, sick_symptom, sick_other
	case StatusPersonal:
		counts[3]++
	case StatusNotChecked:
		counts[4]++
	}
	if result.check != CheckNone {
		counts[8]++
	}
	switch result.check {
	case CheckNormal:
		counts[9]++
	case CheckAbnormal:
		counts[10]++
		if result.sentHome {
			counts[11]++
		}
		counts[11+result.reason]++ // reason_temperature .. reason_other
	}
}

func appendCounts(row []any, counts []int64) []any {
	for _, v := range counts {
		row = append(row, int32(v))
	}
	return row
}
