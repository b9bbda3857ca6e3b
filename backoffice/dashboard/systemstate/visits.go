package systemstate

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/shared/visits"
)

// stageNames are the stages as the panel names them.
var stageNames = map[string]string{
	visits.StageRegistration: "信息登记",
	visits.StageApplication:  "入园报名",
	visits.StageAdmission:    "录取查询",
}

// Traffic is page views and unique visitors. The visitors of a total are
// the union of its parts' visitors, so a visitor seen on both stages counts
// once.
type Traffic struct {
	Views    int64 `json:"views"`
	Visitors int64 `json:"visitors"`
}

// Split is traffic by device class and in total.
type Split struct {
	PC     Traffic `json:"pc"`
	Mobile Traffic `json:"mobile"`
	Total  Traffic `json:"total"`
}

// StageVisits is one stage's traffic today and in the year.
type StageVisits struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Today Split  `json:"today"`
	Year  Split  `json:"year"`
}

// Visits is the parents' traffic of one Shanghai day and its calendar
// year, the cumulative figure.
type Visits struct {
	Day    string        `json:"day"`
	Year   string        `json:"year"`
	Stages []StageVisits `json:"stages"`
	Today  Split         `json:"today"`
	Total  Split         `json:"total"`
}

// period names the counter keys of a day or a year.
type period struct {
	views    func(stage, device string) string
	visitors func(stage, device string) string
}

// Visits reads the counters of the Shanghai day of now and its year in one
// pipelined round trip.
func (s *Store) Visits(ctx context.Context, now time.Time) (Visits, error) {
	keys := visits.Keys{Prefix: s.Prefix}
	day, year := visits.Day(now), visits.Year(now)
	result := Visits{Day: day, Year: year, Stages: []StageVisits{}}
	periods := []period{
		{
			views:    func(stage, device string) string { return keys.DayViews(day, stage, device) },
			visitors: func(stage, device string) string { return keys.DayVisitors(day, stage, device) },
		},
		{
			views:    func(stage, device string) string { return keys.YearViews(year, stage, device) },
			visitors: func(stage, device string) string { return keys.YearVisitors(year, stage, device) },
		},
	}

	// Each period sends, per stage, GET and PFCOUNT for each device and
	// PFCOUNT of the stage's union, then PFCOUNT of each device's and of
	// every key's union.
	var commands rueidis.Commands
	b := s.Redis.B()
	for _, p := range periods {
		var all []string
		deviceKeys := map[string][]string{}
		for _, stage := range visits.Stages {
			var stageKeys []string
			for _, device := range visits.Devices {
				visitorKey := p.visitors(stage, device)
				commands = append(commands, b.Get().Key(p.views(stage, device)).Build(), b.Pfcount().Key(visitorKey).Build())
				stageKeys = append(stageKeys, visitorKey)
				deviceKeys[device] = append(deviceKeys[device], visitorKey)
			}
			commands = append(commands, b.Pfcount().Key(stageKeys...).Build())
			all = append(all, stageKeys...)
		}
		for _, device := range visits.Devices {
			commands = append(commands, b.Pfcount().Key(deviceKeys[device]...).Build())
		}
		commands = append(commands, b.Pfcount().Key(all...).Build())
	}
	results := s.Redis.DoMulti(ctx, commands...)
	next := 0
	read := func() (int64, error) {
		value, err := results[next].AsInt64()
		next++
		if rueidis.IsRedisNil(err) {
			return 0, nil
		}
		return value, err
	}

	splits := make([][]Split, len(periods))
	totals := make([]Split, len(periods))
	for i := range periods {
		splits[i] = make([]Split, len(visits.Stages))
		for j := range visits.Stages {
			split := &splits[i][j]
			for _, traffic := range []*Traffic{&split.PC, &split.Mobile} {
				var err error
				if traffic.Views, err = read(); err != nil {
					return result, fmt.Errorf("read page views: %w", err)
				}
				if traffic.Visitors, err = read(); err != nil {
					return result, fmt.Errorf("read visitors: %w", err)
				}
			}
			split.Total.Views = split.PC.Views + split.Mobile.Views
			var err error
			if split.Total.Visitors, err = read(); err != nil {
				return result, fmt.Errorf("read visitors: %w", err)
			}
			totals[i].PC.Views += split.PC.Views
			totals[i].Mobile.Views += split.Mobile.Views
		}
		totals[i].Total.Views = totals[i].PC.Views + totals[i].Mobile.Views
		for _, visitors := range []*int64{&totals[i].PC.Visitors, &totals[i].Mobile.Visitors, &totals[i].Total.Visitors} {
			var err error
			if *visitors, err = read(); err != nil {
				return result, fmt.Errorf("read visitors: %w", err)
			}
		}
	}

	for j, stage := range visits.Stages {
		result.Stages = append(result.Stages, StageVisits{Code: stage, Name: stageNames[stage], Today: splits[0][j], Year: splits[1][j]})
	}
	result.Today, result.Total = totals[0], totals[1]
	return result, nil
}
