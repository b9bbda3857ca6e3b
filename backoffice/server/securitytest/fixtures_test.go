package securitytest

import (
	"strconv"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
)

// fixtures are objects of the walker's district (徐汇) and of the district
// it attacks (长宁), so every path parameter can name another district's
// object.
type fixtures struct {
	dictionary string
	// ownItem and otherItem are district overrides of dictionary in 徐汇
	// and 长宁.
	ownItem, otherItem int64
	otherItemLabel     string
	ownItemLabel       string

	ownRegistration, otherRegistration string
	ownApplication, otherApplication   string

	otherStaffID          int64
	otherStreet           string
	otherKindergarten     int64
	otherKindergartenName string
}

// otherDistrictLabel is the label of the 长宁 dictionary override. It is
// unique in the database, so a response that contains it leaked the row.
const otherDistrictLabel = "长宁区专用测试选项"

// newFixtures registers a child in each district, applies in the same
// district and drains both into the database, adds a dictionary override
// per district and looks up a 长宁 street and kindergarten.
func newFixtures(t *testing.T, env *backofficetest.Env) fixtures {
	t.Helper()
	var f fixtures
	f.ownRegistration = env.Register(t, backofficetest.Subject(0), env.ShanghaiChild(t, 0, xuhui, xuhui))
	f.otherRegistration = env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, changning, changning))
	f.ownApplication = env.Apply(t, backofficetest.Subject(0), f.ownRegistration, xuhui)
	f.otherApplication = env.Apply(t, backofficetest.Subject(1), f.otherRegistration, changning)
	running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("security-fixtures")))
	env.WaitForRows(t, time.Minute, 2, `SELECT count(*) FROM registration`)
	env.WaitForRows(t, time.Minute, 2, `SELECT count(*) FROM application`)
	if err := running.Stop(t); err != nil {
		t.Fatalf("drainer: %v", err)
	}

	db := env.DB.DB
	if err := db.Get(&f.dictionary, `SELECT code FROM dictionary ORDER BY code LIMIT 1`); err != nil {
		t.Fatalf("read a dictionary: %v", err)
	}
	insertItem := func(district, value, label string) int64 {
		var id int64
		err := db.Get(&id, `
			INSERT INTO dictionary_item (dictionary_code, district_code, value, label, sort_order, enabled)
			VALUES ($1, $2, $3, $4, 9000, true) RETURNING id`, f.dictionary, district, value, label)
		if err != nil {
			t.Fatalf("insert dictionary item of %s: %v", district, err)
		}
		return id
	}
	f.ownItemLabel = "徐汇区专用测试选项"
	f.ownItem = insertItem(xuhui, "walk-own", f.ownItemLabel)
	f.otherItemLabel = otherDistrictLabel
	f.otherItem = insertItem(changning, "walk-other", f.otherItemLabel)

	if err := db.Get(&f.otherStreet, `SELECT code FROM street WHERE district_code = $1 ORDER BY code LIMIT 1`, changning); err != nil {
		t.Fatalf("read a street of 长宁: %v", err)
	}
	row := db.QueryRow(`SELECT id, name FROM kindergarten WHERE district_code = $1 ORDER BY id LIMIT 1`, changning)
	if err := row.Scan(&f.otherKindergarten, &f.otherKindergartenName); err != nil {
		t.Fatalf("read a kindergarten of 长宁: %v", err)
	}
	return f
}

// otherDistrictMarkers are strings that only a response leaking 长宁's
// rows contains.
func (f fixtures) otherDistrictMarkers() []string {
	return []string{
		f.otherRegistration, f.otherApplication, f.otherItemLabel, changningAdmin, f.otherKindergartenName,
		"district:" + changning, "street:" + f.otherStreet, "kindergarten:" + strconv.FormatInt(f.otherKindergarten, 10),
	}
}
