package enrolment

import (
	"time"
	_ "time/tzdata" // so Asia/Shanghai loads on hosts without a zoneinfo database
)

// Shanghai is the time zone of every enrolment date and window.
var Shanghai = mustLoadLocation("Asia/Shanghai")

func mustLoadLocation(name string) *time.Location {
	location, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // the embedded time/tzdata contains every IANA zone
	}
	return location
}
