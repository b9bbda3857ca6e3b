package matching_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/backoffice/matching"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

var cityScope = access.Scope{Level: access.LevelCity}

// home is a registration address: street and committee codes and the
// detailed address text.
type home struct {
	street    string
	committee string
	address   string
	group     string // category group; empty for Shanghai hukou
	// byHukou puts street, committee and address on the hukou, in Xuhui,
	// and the residence in Changning.
	byHukou bool
}

// registrations stores one registration per home in the current year,
// numbered from first, copied from a registration made through the edge so
// that every other column is valid. It returns their numbers.
func registrations(tb testing.TB, env *backofficetest.Env, first int64, homes []home) []string {
	tb.Helper()
	template := env.RegistrationOf(tb, env.Register(tb, backofficetest.Subject(1), env.ShanghaiChild(tb, 1, xuhui, xuhui)))
	store := &enrolment.Store{DB: env.DB.DB}
	numbers := make([]string, 0, len(homes))
	const batchSize = 1000
	batch := make([]enrol.RegistrationRecord, 0, batchSize)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := store.InsertBatch(context.Background(), batch, nil); err != nil {
			tb.Fatalf("insert registrations: %v", err)
		}
		batch = batch[:0]
	}
	for i, h := range homes {
		record := template
		record.Number = enrol.FormatRegistrationNumber(template.Year, first+int64(i))
		record.ChildIndex = make([]byte, 32)
		rand.Read(record.ChildIndex)
		record.ResidenceDistrict, record.ResidenceStreet, record.ResidenceCommittee = xuhui, h.street, h.committee
		record.SealedResidenceAddr = env.Keyring.SealString(h.address, enrol.ContextResidenceAddress)
		if h.byHukou {
			elsewhere := env.AddressIn(tb, changning)
			record.ResidenceDistrict, record.ResidenceStreet, record.ResidenceCommittee = changning, elsewhere.Street, elsewhere.Committee
			record.SealedResidenceAddr = env.Keyring.SealString("长宁区天山路100号", enrol.ContextResidenceAddress)
			record.HukouInShanghai, record.HukouAtResidence = true, false
			record.HukouDistrict, record.HukouStreet, record.HukouCommittee = xuhui, h.street, h.committee
			record.SealedHukouAddress = env.Keyring.SealString(h.address, enrol.ContextHukouAddress)
		}
		if h.group != "" {
			record.CategoryGroup = h.group
		}
		batch = append(batch, record)
		numbers = append(numbers, record.Number)
		if len(batch) == batchSize {
			flush()
		}
	}
	flush()
	return numbers
}

// committeesOf returns the committee codes of a street, in code order.
func committeesOf(tb testing.TB, env *backofficetest.Env, street string) []string {
	tb.Helper()
	var codes []string
	if err := env.DB.DB.Select(&codes, `SELECT code FROM committee WHERE street_code = $1 ORDER BY code`, street); err != nil {
		tb.Fatal(err)
	}
	if len(codes) < 3 {
		tb.Fatalf("street %s has %d committees, want at least 3", street, len(codes))
	}
	return codes
}

func TestValidation(t *testing.T) {
	f := newFixture(t)
	env := f.env
	if _, err := env.DB.DB.Exec(`DELETE FROM matching_rule WHERE district_code = $1`, xuhui); err != nil {
		t.Fatal(err)
	}
	committees := committeesOf(t, env, f.street)
	campusA, campusB := f.campuses[0], f.campuses[1]
	f.create(t, f.xuhui, map[string]any{"mode": 2, "roadRange": "漕溪北路100-120号", "parity": "双号", "campusId": campusA})
	f.create(t, f.xuhui, map[string]any{
		"mode": 3, "streetCode": f.street, "committeeCode": committees[0], "compound": "田林十二村", "campusId": campusB,
	})
	f.create(t, f.xuhui, map[string]any{"mode": 1, "streetCode": f.street, "committeeCode": committees[1], "campusId": campusA})
	f.create(t, f.xuhui, map[string]any{"mode": 4, "audience": "other_province", "offer": "campus", "campusId": campusB})

	numbers := registrations(t, env, 9_000_000, []home{
		{f.street, committees[2], "徐汇区漕溪北路１１８号３０１室", "", false},
		{f.street, committees[2], "漕溪北路119号", "", false},
		{f.street, committees[0], "田林路200弄田林十二村3号", "", false},
		{f.street, committees[1], "宛平南路88号", "", false},
		{f.street, committees[2], "无法识别的地址", "", false},
		{f.street, committees[2], "宛平南路90号", enrol.GroupOtherProvince, false},
		{f.street, committees[1], "宛平南路92号", "", true},
	})

	response := f.xuhui.Get(t, "/api/v1/matching/validation?size=1")
	response.Expect(t, http.StatusOK, "")
	var body matching.ValidationBody
	response.Decode(t, &body)
	if body.Registrations != 7 || body.Matched != 5 || body.UnmatchedTotal != 2 {
		t.Errorf("validation = %d registrations, %d matched, %d unmatched; want 7, 5, 2",
			body.Registrations, body.Matched, body.UnmatchedTotal)
	}
	if body.MatchRate < 0.71 || body.MatchRate > 0.72 {
		t.Errorf("match rate = %v, want 5/7", body.MatchRate)
	}
	if len(body.Unmatched) != 1 || body.Unmatched[0].RegistrationNumber != numbers[1] || body.Unmatched[0].Address != "漕溪北路119号" {
		t.Errorf("first page of unmatched = %+v, want only %s at 漕溪北路119号", body.Unmatched, numbers[1])
	}
	counts := map[int64]int{}
	for _, campus := range body.Campuses {
		counts[campus.CampusID] = campus.Registrations
	}
	if counts[campusA] != 3 || counts[campusB] != 2 {
		t.Errorf("registrations per campus = %v, want %d: 3 and %d: 2", counts, campusA, campusB)
	}

	response = f.xuhui.Get(t, "/api/v1/matching/validation?page=2&size=1")
	response.Decode(t, &body)
	if len(body.Unmatched) != 1 || body.Unmatched[0].RegistrationNumber != numbers[4] || body.Unmatched[0].Reason == "" {
		t.Errorf("second page of unmatched = %+v, want %s with a reason", body.Unmatched, numbers[4])
	}

	f.changning.Get(t, "/api/v1/matching/validation?district="+xuhui).Expect(t, http.StatusForbidden, "out_of_scope")
	f.teacher.Get(t, "/api/v1/matching/validation").Expect(t, http.StatusForbidden, "no_permission")

	export := f.xuhui.Get(t, "/api/v1/matching/validation/unmatched.xlsx")
	if export.Status != http.StatusOK {
		t.Fatalf("export = %d %s", export.Status, export.Body)
	}
	file, err := excelize.OpenReader(bytes.NewReader(export.Body))
	if err != nil {
		t.Fatalf("export does not open: %v", err)
	}
	defer file.Close()
	rows, err := file.GetRows(file.GetSheetList()[0])
	if err != nil {
		t.Fatal(err)
	}
	var exported []string
	for _, row := range rows[3:] {
		exported = append(exported, row[0])
	}
	if want := []string{numbers[1], numbers[4]}; !slices.Equal(exported, want) {
		t.Errorf("exported registration numbers = %v, want %v", exported, want)
	}
	var events int
	if err := env.DB.DB.Get(&events, `SELECT count(*) FROM audit_event WHERE action = $1`, matching.ActionExport); err != nil || events != 1 {
		t.Errorf("export audit events = %d (%v), want 1", events, err)
	}

	var output strings.Builder
	printf := func(format string, args ...any) { fmt.Fprintf(&output, format, args...) }
	if err := matching.ValidationCommand(context.Background(), env.DB.DB, env.Keyring, xuhui, 0, printf); err != nil {
		t.Fatalf("ValidationCommand returned %v", err)
	}
	lines := strings.Split(strings.TrimSpace(output.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "unmatched "+numbers[1]) {
		t.Errorf("command output = %q, want two unmatched lines, the first of %s, then the summary", lines, numbers[1])
	}
	if summary := lines[len(lines)-1]; !strings.Contains(summary, "registrations=7 matched=5 match_rate=0.7143") {
		t.Errorf("command summary = %q, want registrations=7 matched=5 match_rate=0.7143", summary)
	}
	if strings.Contains(output.String(), "漕溪北路") {
		t.Errorf("command output contains an address: %q", output.String())
	}
	if err := matching.ValidationCommand(context.Background(), env.DB.DB, env.Keyring, "999999", 0, printf); err == nil || !strings.Contains(err.Error(), "unknown district") {
		t.Errorf("ValidationCommand for district 999999 returned %v, want an unknown-district error", err)
	}
}

// BenchmarkValidation validates 120,000 registrations of one district
// against rules of modes 1 to 3 and prints one line of figures. The
// addresses are on real Xuhui roads: a tenth fall outside every rule.
func BenchmarkValidation(b *testing.B) {
	const total = 120_000
	env := backofficetest.New(b)
	if _, err := env.DB.DB.Exec(`DELETE FROM matching_rule WHERE district_code = $1`, xuhui); err != nil {
		b.Fatal(err)
	}
	street := env.AddressIn(b, xuhui).Street
	committees := committeesOf(b, env, street)
	var campus int64
	if err := env.DB.DB.Get(&campus, `SELECT min(id) FROM campus WHERE district_code = $1`, xuhui); err != nil {
		b.Fatal(err)
	}
	roads := []string{"漕溪北路", "天钥桥路", "宛平南路", "肇嘉浜路", "衡山路", "天平路", "建国西路", "永嘉路", "岳阳路", "东安路"}
	insert := `INSERT INTO matching_rule (enrolment_year, district_code, mode, street_code, committee_code, road, road_range, parity, compound, campus_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	for _, road := range roads {
		for _, parity := range []string{"odd", "even"} {
			for start := 1; start < 1000; start += 100 {
				roadRange := road + strconv.Itoa(start) + "-" + strconv.Itoa(start+98) + "号"
				if _, err := env.DB.DB.Exec(insert, env.Year.Year, xuhui, 2, nil, nil, road, roadRange, parity, nil, campus); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	for _, committee := range committees[:2] {
		if _, err := env.DB.DB.Exec(insert, env.Year.Year, xuhui, 1, street, committee, nil, nil, "all", nil, campus); err != nil {
			b.Fatal(err)
		}
		if _, err := env.DB.DB.Exec(insert, env.Year.Year, xuhui, 3, street, committee, nil, nil, "all", "田林十二村", campus); err != nil {
			b.Fatal(err)
		}
	}

	homes := make([]home, total)
	for i := range homes {
		committee := committees[2+i%(len(committees)-2)]
		number := i%1000 + 1
		text := "徐汇区" + roads[i%len(roads)] + strconv.Itoa(number) + "弄" + strconv.Itoa(i%30+1) + "号" + strconv.Itoa(i%6+1) + "0" + strconv.Itoa(i%4+1) + "室"
		if i%10 == 9 {
			text = "徐汇区田林路" + strconv.Itoa(number) + "号" // on no rule's road
		}
		homes[i] = home{street: street, committee: committee, address: text}
	}
	registrations(b, env, 1_000_000, homes)

	validator := &matching.Validator{DB: env.DB.DB, Keyring: env.Keyring}
	var result *matching.Result
	b.ResetTimer()
	for b.Loop() {
		var err error
		result, err = validator.Validate(context.Background(), cityScope, xuhui, env.Year.Year)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if result.Registrations != total {
		b.Fatalf("validated %d registrations, want %d", result.Registrations, total)
	}
	perRun := b.Elapsed() / time.Duration(b.N)
	fmt.Printf("registrations=%d elapsed_ms=%d match_rate=%.4f unmatched=%d rules=%d runs=%d\n",
		result.Registrations, perRun.Milliseconds(), result.MatchRate, len(result.Unmatched), result.Rules, b.N)
}
