package main

import (
	"strconv"
	"time"

	"github.com/sh-preschool/preschool/shared/document"
)

// sequencesPerDay is how many distinct resident IDs document.ValidResidentIDForTest
// builds for one region, birth date and sex.
const sequencesPerDay = 500

// place is one address division: a district, a street in it and a
// committee in that street (empty for a street without committees).
type place struct {
	district, street, committee string
}

// population turns child numbers 0, 1, 2, … into distinct valid
// registrations of the enrolment year in the catalogue.
type population struct {
	year          int
	schemaVersion int
	birthFrom     time.Time
	days          int
	// places holds, for each district whose code is also a resident ID
	// region, the places its children live in.
	places [][]place
}

// capacity returns how many distinct children the population holds: one
// per district, birth date in the year's window, sex and ID sequence.
func (p *population) capacity() int64 {
	return int64(len(p.places)) * 2 * int64(p.days) * sequencesPerDay
}

// child is one generated child with the facts that vary between requests.
type child struct {
	number    int64
	id        string
	birthDate time.Time
	sex       byte
	home      place
	// other is a place in the same district that is not home, where the
	// family lives when it does not live at its hukou address.
	other place
}

// child returns child number n. Numbers below capacity give distinct
// resident IDs, and numbers above it repeat them.
func (p *population) child(n int64) child {
	k := n % p.capacity()
	districts := int64(len(p.places))
	district := k % districts
	k /= districts
	sex := byte('F')
	if k%2 == 1 {
		sex = 'M'
	}
	k /= 2
	day := k % int64(p.days)
	sequence := int(k / int64(p.days))

	birth := p.birthFrom.AddDate(0, 0, int(day))
	places := p.places[district]
	home := places[int(n/districts)%len(places)]
	other := places[int(n/districts+1)%len(places)]
	return child{
		number:    n,
		id:        document.ValidResidentIDForTest(home.district, birth, sequence, sex),
		birthDate: birth,
		sex:       sex,
		home:      home,
		other:     other,
	}
}

var (
	surnames   = []string{"张", "王", "李", "赵", "陈", "刘", "杨", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗"}
	givenNames = []string{"小明", "子涵", "欣怡", "浩然", "梓萱", "宇轩", "雨桐", "一诺", "思远", "佳怡", "俊杰", "诗涵", "沐阳", "若曦", "嘉懿", "博文"}
	roads      = []string{"漕溪北路", "南京西路", "淮海中路", "四平路", "长寿路", "江宁路", "延安西路", "中山北路", "浦东大道", "松江路"}
	motherBorn = time.Date(1985, time.January, 1, 0, 0, 0, 0, time.UTC)
)

// appendRegistration appends the JSON body of a registration for c to buf.
// Every string it writes is free of characters that JSON escapes, so the
// body is built by plain appends, without encoding/json.
func (p *population) appendRegistration(buf []byte, c *child) []byte {
	n := c.number
	buf = append(buf, `{"enrolmentYear":`...)
	buf = strconv.AppendInt(buf, int64(p.year), 10)
	buf = append(buf, `,"schemaVersion":`...)
	buf = strconv.AppendInt(buf, int64(p.schemaVersion), 10)

	buf = append(buf, `,"child":{"name":"`...)
	buf = append(buf, surnames[n%int64(len(surnames))]...)
	buf = append(buf, givenNames[(n/int64(len(surnames)))%int64(len(givenNames))]...)
	buf = append(buf, `","sex":"`...)
	buf = append(buf, c.sex)
	buf = append(buf, `","birthDate":"`...)
	buf = c.birthDate.AppendFormat(buf, time.DateOnly)
	buf = append(buf, `","document":{"type":"resident_id","number":"`...)
	buf = append(buf, c.id...)
	buf = append(buf, `","nationality":"CHN"},"hukou":{"inShanghai":true,`...)
	buf = appendPlace(buf, c.home)
	buf = append(buf, `,"address":"`...)
	buf = appendStreetAddress(buf, n)
	buf = append(buf, `","province":""}}`...)

	// One family in five lives away from its hukou address, in another
	// street of the same district.
	atHukouAddress := n%5 != 0 || c.other == c.home
	residence := c.home
	if !atHukouAddress {
		residence = c.other
	}
	buf = append(buf, `,"residence":{`...)
	buf = appendPlace(buf, residence)
	buf = append(buf, `,"address":"`...)
	buf = appendStreetAddress(buf, n)
	buf = strconv.AppendInt(buf, n%20+1, 10)
	buf = append(buf, '0')
	buf = strconv.AppendInt(buf, n%4+1, 10)
	buf = append(buf, `室","atHukouAddress":`...)
	buf = strconv.AppendBool(buf, atHukouAddress)

	buf = append(buf, `},"guardians":[{"relation":"mother","name":"`...)
	buf = append(buf, surnames[(n/7)%int64(len(surnames))]...)
	buf = append(buf, `芳","phone":"139`...)
	buf = appendDigits(buf, n%100_000_000, 8)
	buf = append(buf, `","document":{"type":"resident_id","number":"`...)
	motherBirth := motherBorn.AddDate(0, 0, int(n%3650))
	buf = append(buf, document.ValidResidentIDForTest(c.home.district, motherBirth, int(n/3650), 'F')...)
	buf = append(buf, `"},"hukouInShanghai":true}],"certificates":[],"extra":{"birthProvince":"上海市"}}`...)
	return buf
}

func appendPlace(buf []byte, p place) []byte {
	buf = append(buf, `"districtCode":"`...)
	buf = append(buf, p.district...)
	buf = append(buf, `","streetCode":"`...)
	buf = append(buf, p.street...)
	buf = append(buf, `","committeeCode":"`...)
	buf = append(buf, p.committee...)
	return append(buf, '"')
}

func appendStreetAddress(buf []byte, n int64) []byte {
	buf = append(buf, roads[n%int64(len(roads))]...)
	buf = strconv.AppendInt(buf, n%999+1, 10)
	buf = append(buf, "弄"...)
	buf = strconv.AppendInt(buf, n%30+1, 10)
	return append(buf, "号"...)
}

// appendDigits appends value as exactly width decimal digits.
func appendDigits(buf []byte, value int64, width int) []byte {
	start := len(buf)
	for range width {
		buf = append(buf, '0')
	}
	for i := len(buf) - 1; i >= start && value > 0; i-- {
		buf[i] = byte('0' + value%10)
		value /= 10
	}
	return buf
}
