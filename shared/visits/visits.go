// Package visits names the Redis counters of the parents' page views and
// unique visitors, per Shanghai day and per year, by stage and device
// class. The edge writes them and the back office's system state panel
// reads them.
package visits

import (
	"strconv"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/shared/enrolment"
)

// Stages a page belongs to.
const (
	StageRegistration = "registration"
	StageApplication  = "application"
	// StageAdmission is the admission query (录取查询).
	StageAdmission = "admission"
)

// Stages lists every stage in the order the panel shows them.
var Stages = []string{StageRegistration, StageApplication, StageAdmission}

// Device classes.
const (
	DevicePC     = "pc"
	DeviceMobile = "mobile"
)

// Devices lists every device class.
var Devices = []string{DevicePC, DeviceMobile}

// DayTTL is how long the counters of one day are kept.
const DayTTL = 400 * 24 * time.Hour

// KnownStage reports whether stage is one of Stages.
func KnownStage(stage string) bool {
	for _, known := range Stages {
		if stage == known {
			return true
		}
	}
	return false
}

// mobileMarkers are User-Agent substrings of phones and tablets: "Mobi" is
// the marker browsers put in every mobile User-Agent, and the rest catch
// tablets and the WeChat and Alipay in-app browsers that omit it.
var mobileMarkers = []string{"mobi", "android", "iphone", "ipad", "ipod", "harmonyos", "micromessenger", "alipayclient"}

// pcMarkers are User-Agent substrings of the desktop WeChat clients, whose
// in-app browser also names MicroMessenger.
var pcMarkers = []string{"windowswechat", "macwechat"}

// DeviceClass returns DeviceMobile for a phone or tablet User-Agent and
// DevicePC otherwise.
func DeviceClass(userAgent string) string {
	lower := strings.ToLower(userAgent)
	for _, marker := range pcMarkers {
		if strings.Contains(lower, marker) {
			return DevicePC
		}
	}
	for _, marker := range mobileMarkers {
		if strings.Contains(lower, marker) {
			return DeviceMobile
		}
	}
	return DevicePC
}

// Keys names the counters under a prefix.
type Keys struct{ Prefix string }

// Day returns the Shanghai date of t as YYYYMMDD.
func Day(t time.Time) string { return t.In(enrolment.Shanghai).Format("20060102") }

// Year returns the Shanghai year of t.
func Year(t time.Time) string { return strconv.Itoa(t.In(enrolment.Shanghai).Year()) }

// DayViews is the page-view counter (INCR) of one day, stage and device.
func (k Keys) DayViews(day, stage, device string) string {
	return k.Prefix + "visits:views:day:" + day + ":" + stage + ":" + device
}

// DayVisitors is the HyperLogLog of the visitors of one day, stage and
// device.
func (k Keys) DayVisitors(day, stage, device string) string {
	return k.Prefix + "visits:visitors:day:" + day + ":" + stage + ":" + device
}

// YearViews is the page-view counter of one calendar year, the panel's
// cumulative figure.
func (k Keys) YearViews(year, stage, device string) string {
	return k.Prefix + "visits:views:year:" + year + ":" + stage + ":" + device
}

// YearVisitors is the HyperLogLog of the visitors of one calendar year.
func (k Keys) YearVisitors(year, stage, device string) string {
	return k.Prefix + "visits:visitors:year:" + year + ":" + stage + ":" + device
}
