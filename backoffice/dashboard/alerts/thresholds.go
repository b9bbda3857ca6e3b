package alerts

import (
	"fmt"
	"math"
	"strconv"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// Units of an indicator and of its threshold.
const (
	// UnitRate is a ratio written as a fraction: 0.85 means 85%.
	UnitRate = "rate"
	// UnitCount is a whole number of items, such as questions.
	UnitCount = "count"
	// UnitMilliseconds is a duration in milliseconds, such as a round trip.
	UnitMilliseconds = "ms"
)

// limit is the unit of a threshold and the largest value it may be set to.
type limit struct {
	Unit string
	Max  float64
}

// limits contains the unit and upper bound of every threshold code. A share of
// a whole (application rate, class-size compliance, gross enrolment rate)
// is at most 1. Registrations may exceed the seat plan, so that ratio may
// go up to 5 (500%).
// NOTE: the bounds of registration_plan_rate (5) and of the count (100,000
// unresolved questions per district) are guesses well above any figure seen
// so far, not limits set by the education bureau.
var limits = map[string]limit{
	RegistrationPlanRate: {Unit: UnitRate, Max: 5},
	ApplicationRate:      {Unit: UnitRate, Max: 1},
	ClassSizeCompliance:  {Unit: UnitRate, Max: 1},
	GrossEnrolmentRate:   {Unit: UnitRate, Max: 1},
	UnresolvedQuestions:  {Unit: UnitCount, Max: 100_000},
	// The servers' thresholds of the system state panel (migration 0023;
	// the codes are systemstate's Threshold constants).
	"server_cpu_usage":    {Unit: UnitRate, Max: 1},
	"server_memory_usage": {Unit: UnitRate, Max: 1},
	"server_disk_usage":   {Unit: UnitRate, Max: 1},
	"server_latency_ms":   {Unit: UnitMilliseconds, Max: 60_000},
}

// validateThreshold checks value against the unit and bound of threshold t:
// a rate is a fraction from 0 to its maximum, a count a whole number from 0
// to its maximum.
func validateThreshold(t Threshold, value *float64) error {
	bound, ok := limits[t.Code]
	if !ok {
		return fmt.Errorf("alert threshold %q has no unit and bound in alerts.limits", t.Code)
	}
	if value == nil || math.IsNaN(*value) || math.IsInf(*value, 0) {
		return apierror.Invalid("threshold", "invalid_threshold", "请填写阈值（数字）。")
	}
	maximum := strconv.FormatFloat(bound.Max, 'f', -1, 64)
	if bound.Unit == UnitRate {
		if *value < 0 || *value > bound.Max {
			example := "0.85 表示 85%"
			if bound.Max > 1 {
				example = "1.2 表示 120%"
			}
			return apierror.Invalid("threshold", "threshold_out_of_range", fmt.Sprintf(
				"“%s”的阈值是比例，应填写 0 至 %s 之间的小数（%s），收到的是 %s。",
				t.Name, maximum, example, strconv.FormatFloat(*value, 'g', 6, 64)))
		}
		return nil
	}
	if bound.Unit == UnitMilliseconds {
		if *value < 0 || *value > bound.Max {
			return apierror.Invalid("threshold", "threshold_out_of_range", fmt.Sprintf(
				"“%s”的阈值是毫秒数，应填写 0 至 %s 之间的数，收到的是 %s。",
				t.Name, maximum, strconv.FormatFloat(*value, 'g', 6, 64)))
		}
		return nil
	}
	if *value != math.Trunc(*value) {
		return apierror.Invalid("threshold", "threshold_not_whole_number", fmt.Sprintf(
			"“%s”的阈值是个数，应填写整数，收到的是 %s。", t.Name, strconv.FormatFloat(*value, 'g', 6, 64)))
	}
	if *value < 0 || *value > bound.Max {
		return apierror.Invalid("threshold", "threshold_out_of_range", fmt.Sprintf(
			"“%s”的阈值是个数，应填写 0 至 %d 之间的整数，收到的是 %s。",
			t.Name, int64(bound.Max), strconv.FormatFloat(*value, 'g', 6, 64)))
	}
	return nil
}
