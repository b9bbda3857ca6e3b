package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/backoffice/staff"
	"github.com/sh-preschool/preschool/shared/crypto"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// roleMix is one round of bench accounts: accounts are created in this
// order, round after round, until there are -staff of them.
var roleMix = []string{
	"city_admin", "district_admin", "street_officer", "district_admin", "kindergarten_admin",
	"district_admin", "street_officer", "district_admin", "kindergarten_admin", "city_admin",
	"district_admin", "street_officer", "district_admin", "kindergarten_admin", "auditor",
	"district_admin", "street_officer", "district_admin", "kindergarten_admin", "security_admin",
	"district_admin", "street_officer", "kindergarten_admin", "district_admin",
}

// divisions are the seeded streets, campuses and entries the generated
// records point at.
type divisions struct {
	year      int
	birthFrom time.Time
	birthDays int
	streets   []street
	campuses  map[string][]campus // by district
	entries   map[string]entry    // by district
}

type street struct {
	Code     string `db:"code"`
	District string `db:"district_code"`
}

type campus struct {
	ID           int64  `db:"id"`
	District     string `db:"district_code"`
	Kindergarten int64  `db:"kindergarten_id"`
}

type entry struct {
	ID       int64  `db:"id"`
	District string `db:"district_code"`
	Category string `db:"category_code"`
}

func prepare(ctx context.Context, db *sqlx.DB, keyring *crypto.Keyring, integrity *access.Integrity, args []string) error {
	flags := flag.NewFlagSet("staffbench prepare", flag.ContinueOnError)
	registrations := flags.Int("registrations", 120_000, "registrations to store")
	applyShare := flags.Float64("apply-share", 0.8, "share of the registrations that also get an application (0 to 1)")
	auditEvents := flags.Int("audit-events", 20_000, "audit events to record through the hash chain")
	loginLog := flags.Int("login-log", 30_000, "sign-in log rows to store")
	accounts := flags.Int("staff", 120, "bench.* staff accounts to create")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *applyShare < 0 || *applyShare > 1 {
		return fmt.Errorf("invalid -apply-share %v: give a share from 0 to 1", *applyShare)
	}
	started := time.Now()
	places, err := loadDivisions(ctx, db)
	if err != nil {
		return err
	}
	stored, applied, err := storeRecords(ctx, db, keyring, places, *registrations, *applyShare)
	if err != nil {
		return err
	}
	fmt.Printf("stored %d registrations and %d applications\n", stored, applied)
	if err := createAccounts(ctx, db, keyring, integrity, places, *accounts); err != nil {
		return err
	}
	fmt.Printf("created %d bench accounts\n", *accounts)
	if err := recordAuditEvents(ctx, db, *auditEvents); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `
		INSERT INTO login_log (at, username, success, stage, reason, ip, user_agent)
		SELECT now() - (g % 43200) * interval '1 minute', 'bench.history.' || (g % 500), g % 7 <> 0,
		       'password', CASE WHEN g % 7 = 0 THEN 'wrong_password' ELSE 'ok' END, '10.0.' || (g % 250) || '.1', 'bench'
		FROM generate_series(1, $1) g`, *loginLog); err != nil {
		return fmt.Errorf("store sign-in log rows: %w", err)
	}
	if _, err := db.ExecContext(ctx, `VACUUM ANALYZE`); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	fmt.Printf("recorded %d audit events and %d sign-in log rows; prepared in %.1fs\n",
		*auditEvents, *loginLog, time.Since(started).Seconds())
	return nil
}

func loadDivisions(ctx context.Context, db *sqlx.DB) (divisions, error) {
	var places divisions
	var birthFrom, birthTo time.Time
	err := db.QueryRowxContext(ctx, `SELECT year, birth_from, birth_to FROM enrolment_year ORDER BY year DESC LIMIT 1`).
		Scan(&places.year, &birthFrom, &birthTo)
	if err != nil {
		return places, fmt.Errorf("read the enrolment year (run backoffice seed first): %w", err)
	}
	places.birthFrom, places.birthDays = birthFrom, int(birthTo.Sub(birthFrom).Hours()/24)+1
	if err := db.SelectContext(ctx, &places.streets, `SELECT code, district_code FROM street ORDER BY code`); err != nil {
		return places, err
	}
	var campuses []campus
	if err := db.SelectContext(ctx, &campuses, `SELECT id, district_code, kindergarten_id FROM campus ORDER BY id`); err != nil {
		return places, err
	}
	places.campuses = map[string][]campus{}
	for _, c := range campuses {
		places.campuses[c.District] = append(places.campuses[c.District], c)
	}
	var entries []entry
	err = db.SelectContext(ctx, &entries, `SELECT DISTINCT ON (district_code) id, district_code, category_code
		FROM entry WHERE enrolment_year = $1 ORDER BY district_code, id`, places.year)
	if err != nil {
		return places, err
	}
	places.entries = map[string]entry{}
	for _, e := range entries {
		places.entries[e.District] = e
	}
	if len(places.streets) == 0 || len(campuses) == 0 || len(entries) == 0 {
		return places, errors.New("the database has no streets, campuses or entries: run backoffice seed first")
	}
	return places, nil
}

var (
	surnames   = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
	givenNames = []rune("明华伟芳娜静丽强磊军洋勇艳杰娟涛超秀霞平刚桂英子涵宇轩")
)

func randomBytes(n int) []byte {
	buffer := make([]byte, n)
	rand.Read(buffer)
	return buffer
}

// storeRecords stores registrations spread over every street (so large
// districts get more), about two thirds with a Shanghai hukou, and an
// application in the home district for applyShare of them, in batches of
// 1,000 through the drainer's InsertBatch.
func storeRecords(ctx context.Context, db *sqlx.DB, keyring *crypto.Keyring, places divisions, count int, applyShare float64) (int, int, error) {
	store := &enrolment.Store{DB: db}
	random := mathrand.New(mathrand.NewPCG(20260423, 1))
	now := time.Now()
	applicationSequence := map[string]int64{}
	stored, applied := 0, 0
	for first := 0; first < count; first += 1000 {
		var registrations []enrol.RegistrationRecord
		var applications []enrol.ApplicationRecord
		for i := first; i < min(first+1000, count); i++ {
			home := places.streets[random.IntN(len(places.streets))]
			sex := random.IntN(2)
			record := enrol.RegistrationRecord{
				Number: enrol.FormatRegistrationNumber(places.year, int64(i+1)), Year: places.year,
				AcceptedAt: now.Add(-time.Duration(random.Int64N(int64(30 * 24 * time.Hour)))), SchemaVersion: 1,
				KeyID: keyring.ActiveKeyID(), PayloadHash: randomBytes(32), OwnerIndex: randomBytes(32),
				ChildIndex: randomBytes(32), ChildDocumentType: "resident_id",
				SealedChildDocumentNumber: keyring.SealString(strconv.Itoa(310104_2020_0000_0000+i), enrol.ContextChildDocumentNumber),
				SealedChildName: keyring.SealString(string(surnames[random.IntN(len(surnames))])+string(givenNames[random.IntN(len(givenNames))])+
					string(givenNames[random.IntN(len(givenNames))]), enrol.ContextChildName),
				ChildSex: "MF"[sex : sex+1], ChildNationality: "CHN",
				ChildBirthDate:    places.birthFrom.AddDate(0, 0, random.IntN(places.birthDays)).Format(time.DateOnly),
				ResidenceDistrict: home.District, ResidenceStreet: home.Code,
				SealedResidenceAddr: keyring.SealString("居住路"+strconv.Itoa(i%999+1)+"号", enrol.ContextResidenceAddress),
				SealedGuardians:     keyring.SealString(`[]`, enrol.ContextGuardians), GuardianIndexes: [][]byte{randomBytes(32)},
				GuardianShanghaiHukou: true,
			}
			switch roll := random.Float64(); {
			case roll < 0.65:
				hukou := home
				if random.Float64() < 0.2 {
					hukou = places.streets[random.IntN(len(places.streets))]
				}
				record.CategoryGroup, record.HukouInShanghai = "shanghai_hukou", true
				record.HukouDistrict, record.HukouStreet = hukou.District, hukou.Code
				record.HukouAtResidence = hukou == home
				record.SealedHukouAddress = keyring.SealString("户籍路"+strconv.Itoa(i%999+1)+"号", enrol.ContextHukouAddress)
			case roll < 0.95:
				record.CategoryGroup, record.HukouProvince = "other_province", "江苏省"
				record.GuardianShanghaiHukou, record.GuardianResidenceDoc = false, enrol.ResidencePermit
			default:
				record.CategoryGroup, record.ChildDocumentType, record.ChildNationality = "hmt_foreign", "passport", "HKG"
			}
			registrations = append(registrations, record)

			choices := places.campuses[home.District]
			target, ok := places.entries[home.District]
			if !ok || len(choices) == 0 || random.Float64() >= applyShare {
				continue
			}
			applicationSequence[home.District]++
			picked := []int64{}
			for range 1 + random.IntN(3) {
				picked = append(picked, choices[random.IntN(len(choices))].ID)
			}
			applications = append(applications, enrol.ApplicationRecord{
				Number:             enrol.FormatApplicationNumber(places.year, home.District, applicationSequence[home.District]),
				RegistrationNumber: record.Number, Year: places.year, AcceptedAt: record.AcceptedAt.Add(time.Hour),
				SchemaVersion: 1, KeyID: record.KeyID, PayloadHash: randomBytes(32), OwnerIndex: record.OwnerIndex,
				ChildIndex: record.ChildIndex, DistrictCode: home.District, EntryID: target.ID,
				CategoryCode: target.Category, CampusChoices: picked,
			})
		}
		if _, err := store.InsertBatch(ctx, registrations, applications); err != nil {
			return stored, applied, fmt.Errorf("store records from %d: %w", first, err)
		}
		stored, applied = stored+len(registrations), applied+len(applications)
	}
	// Half of each table has moved past the first status, as in the middle
	// of a season.
	if _, err := db.ExecContext(ctx, `UPDATE registration SET status = 'verified', verified_at = now() WHERE random() < 0.5`); err != nil {
		return stored, applied, err
	}
	if _, err := db.ExecContext(ctx, `UPDATE application SET status = 'documents_verified' WHERE random() < 0.5`); err != nil {
		return stored, applied, err
	}
	return stored, applied, nil
}

// createAccounts creates bench.* accounts in roleMix order with password,
// as `backoffice staff create` does.
func createAccounts(ctx context.Context, db *sqlx.DB, keyring *crypto.Keyring, integrity *access.Integrity, places divisions, count int) error {
	var districts []string
	if err := db.SelectContext(ctx, &districts, `SELECT code FROM district ORDER BY sort_order`); err != nil {
		return err
	}
	streetsOf := map[string][]string{}
	for _, s := range places.streets {
		streetsOf[s.District] = append(streetsOf[s.District], s.Code)
	}
	var jobs [][]string
	// Each role's accounts take the districts in turn, so the 50 district
	// admins of 120 accounts cover all 16 districts.
	perRole := map[string]int{}
	for i := range count {
		role := roleMix[i%len(roleMix)]
		district := districts[perRole[role]%len(districts)]
		perRole[role]++
		args := []string{"-username", fmt.Sprintf("bench.%03d", i+1), "-name", "压测账号" + strconv.Itoa(i+1),
			"-role", role, "-password", password}
		switch role {
		case "district_admin":
			args = append(args, "-district", district)
		case "street_officer":
			args = append(args, "-street", streetsOf[district][i%len(streetsOf[district])])
		case "kindergarten_admin":
			choices := places.campuses[district]
			args = append(args, "-kindergarten", strconv.FormatInt(choices[i%len(choices)].Kindergarten, 10))
		}
		jobs = append(jobs, args)
	}

	// Each account costs one PBKDF2 hash, so the work is spread over a few
	// goroutines.
	var next atomic.Int64
	errs := make([]error, 4)
	var wait sync.WaitGroup
	for worker := range errs {
		wait.Add(1)
		go func() {
			defer wait.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) || errs[worker] != nil {
					return
				}
				errs[worker] = staff.CreateCommand(ctx, db, keyring, integrity, jobs[i], io.Discard)
			}
		}()
	}
	wait.Wait()
	return errors.Join(errs...)
}

// recordAuditEvents appends events through audit.Trail, so the hash chain
// stays valid and `backoffice audit verify` passes afterwards. Each
// transaction holds 500 events, because one commit per event took about
// 5 ms on a busy 2-CPU machine.
func recordAuditEvents(ctx context.Context, db *sqlx.DB, count int) error {
	trail := &audit.Trail{DB: db, Now: time.Now}
	actor := &access.Staff{ID: 1, Username: "bench.001", Name: "压测账号1", Role: "city_admin"}
	districts := []string{"310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112", "310113", "310115"}
	for first := 0; first < count; first += 500 {
		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			return err
		}
		for i := first; i < min(first+500, count); i++ {
			event := audit.Event{
				Action: "dictionary.item.update", Resource: "dictionary_item", ResourceID: strconv.Itoa(i),
				DistrictCode: districts[i%len(districts)], Before: map[string]any{"label": "甲"},
				After: map[string]any{"label": "乙"}, Detail: "压测事件 " + strconv.Itoa(i),
			}
			if err := trail.RecordTx(ctx, tx, nil, actor, event); err != nil {
				tx.Rollback()
				return fmt.Errorf("record audit event %d: %w", i, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("record audit events from %d: %w", first, err)
		}
	}
	return nil
}
