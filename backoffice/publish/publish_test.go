package publish_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/publish"
	"github.com/sh-preschool/preschool/backoffice/seed"
	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// categoriesWithEntries is every household category but district_hukou,
// which seed opens no entry for.
const categoriesWithEntries = 12

// steppingClock returns a clock that moves one second per call, so two
// publications in one test get different versions.
func steppingClock() func() time.Time {
	now := time.Now()
	return func() time.Time {
		now = now.Add(time.Second)
		return now
	}
}

func TestBuildSnapshot(t *testing.T) {
	env := backofficetest.New(t)
	publisher := &publish.Publisher{DB: env.DB.DB, Redis: env.Redis.Client, Keys: env.Keys, Now: steppingClock()}
	built, err := publisher.Build(context.Background())
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	current := seed.CurrentYear(time.Now())

	t.Run("districts", func(t *testing.T) {
		if len(built.Districts) != 16 {
			t.Errorf("districts = %d, want 16", len(built.Districts))
		}
		names := map[string]string{}
		for _, district := range built.Districts {
			names[district.Code] = district.Name
		}
		if names["310104"] != "徐汇区" {
			t.Errorf("district 310104 = %q, want 徐汇区", names["310104"])
		}
		if names["310115"] != "浦东新区" {
			t.Errorf("district 310115 = %q, want 浦东新区", names["310115"])
		}
	})

	t.Run("current year", func(t *testing.T) {
		found := false
		for _, year := range built.Years {
			if year.Year == current {
				found = true
				if now := time.Now(); now.Before(year.RegistrationOpensAt) || !now.Before(year.RegistrationClosesAt) {
					t.Errorf("registration window %s to %s does not contain now, want the demo window open", year.RegistrationOpensAt, year.RegistrationClosesAt)
				}
			}
		}
		if !found {
			t.Errorf("years = %+v, want %d among them", built.Years, current)
		}
	})

	t.Run("entries", func(t *testing.T) {
		perDistrict := map[string]int{}
		for _, entry := range built.Entries {
			if entry.Year == current {
				perDistrict[entry.DistrictCode]++
			}
		}
		if len(perDistrict) != 16 {
			t.Errorf("districts with entries this year = %d, want 16", len(perDistrict))
		}
		for district, n := range perDistrict {
			if n != categoriesWithEntries {
				t.Errorf("district %s has %d entries this year, want %d", district, n, categoriesWithEntries)
			}
		}
	})

	t.Run("rules", func(t *testing.T) {
		campuses := map[int64]bool{}
		for _, campus := range built.Campuses {
			campuses[campus.ID] = true
		}
		thisYear := 0
		for _, rule := range built.Rules {
			if rule.Year == current {
				thisYear++
			}
			if !campuses[rule.CampusID] {
				t.Errorf("rule %+v names campus %d, which the snapshot does not list", rule, rule.CampusID)
			}
			if rule.Mode != 1 {
				t.Errorf("rule %+v has mode %d, want only mode 1", rule, rule.Mode)
			}
		}
		if thisYear == 0 {
			t.Errorf("no rule for %d", current)
		}
	})

	t.Run("forms", func(t *testing.T) {
		kinds := map[string]snapshot.Form{}
		for _, form := range built.Forms {
			kinds[form.Kind] = form
		}
		for _, kind := range []string{"registration", "application"} {
			form, ok := kinds[kind]
			if !ok {
				t.Errorf("no %s form", kind)
				continue
			}
			var body struct {
				Sections []json.RawMessage `json:"sections"`
			}
			if err := json.Unmarshal(form.Body, &body); err != nil {
				t.Errorf("%s form body does not decode: %v", kind, err)
			}
			if len(body.Sections) == 0 {
				t.Errorf("%s form has no sections", kind)
			}
		}
		if len(built.Forms) != 2 {
			t.Errorf("forms = %d, want 2", len(built.Forms))
		}
	})

	t.Run("edge catalogue", func(t *testing.T) {
		if _, err := catalogue.New(built); err != nil {
			t.Errorf("catalogue.New rejects the snapshot: %v", err)
		}
	})
}

func TestPublishStoresSnapshot(t *testing.T) {
	env := backofficetest.New(t)
	publisher := &publish.Publisher{DB: env.DB.DB, Redis: env.Redis.Client, Keys: env.Keys, Now: steppingClock()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	announced := make(chan string, 1)
	subscribed := make(chan struct{})
	subscription := env.Redis.Client.B().Subscribe().Channel(env.Keys.SnapshotChannel()).Build()
	go env.Redis.Client.Receive(rueidis.WithOnSubscriptionHook(ctx, func(rueidis.PubSubSubscription) { close(subscribed) }),
		subscription, func(message rueidis.PubSubMessage) {
			select {
			case announced <- message.Message:
			default:
			}
		})
	select {
	case <-subscribed:
	case <-ctx.Done():
		t.Fatal("subscription to the snapshot channel did not start")
	}

	published, err := publisher.Publish(ctx)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	version, err := env.Do(env.Redis.Client.B().Get().Key(env.Keys.SnapshotVersion()).Build()).ToString()
	if err != nil {
		t.Fatalf("GET version: %v", err)
	}
	if version != strconv.FormatInt(published.Version, 10) {
		t.Errorf("version key = %s, want %d", version, published.Version)
	}
	data, err := env.Do(env.Redis.Client.B().Get().Key(env.Keys.Snapshot()).Build()).AsBytes()
	if err != nil {
		t.Fatalf("GET snapshot: %v", err)
	}
	stored, err := snapshot.Decode(data)
	if err != nil {
		t.Fatalf("decode the stored snapshot: %v", err)
	}
	if stored.Version != published.Version {
		t.Errorf("stored snapshot version = %d, want %d", stored.Version, published.Version)
	}
	if len(stored.Campuses) != len(published.Campuses) || len(stored.Rules) != len(published.Rules) {
		t.Errorf("stored snapshot has %d campuses and %d rules, want %d and %d",
			len(stored.Campuses), len(stored.Rules), len(published.Campuses), len(published.Rules))
	}
	select {
	case message := <-announced:
		if message != version {
			t.Errorf("announced version = %s, want %s", message, version)
		}
	case <-ctx.Done():
		t.Errorf("no version was announced on %s", env.Keys.SnapshotChannel())
	}
}

func TestPlannedKindergartenUnpublished(t *testing.T) {
	env := backofficetest.New(t)
	publisher := &publish.Publisher{DB: env.DB.DB, Redis: env.Redis.Client, Keys: env.Keys, Now: steppingClock()}
	ctx := context.Background()
	current := seed.CurrentYear(time.Now())

	var kindergartenID int64
	err := env.DB.DB.Get(&kindergartenID, `
		SELECT k.id FROM kindergarten k
		JOIN campus c ON c.kindergarten_id = k.id
		JOIN matching_rule r ON r.campus_id = c.id AND r.enrolment_year = $1 AND r.mode = 1
		WHERE k.operating_status = 'normal'
		GROUP BY k.id ORDER BY count(*) DESC, k.id LIMIT 1`, current)
	if err != nil {
		t.Fatalf("find a kindergarten with rules: %v", err)
	}
	var campusIDs []int64
	if err := env.DB.DB.Select(&campusIDs, `SELECT id FROM campus WHERE kindergarten_id = $1`, kindergartenID); err != nil {
		t.Fatal(err)
	}
	planned := map[int64]bool{}
	for _, id := range campusIDs {
		planned[id] = true
	}

	before, err := publisher.Publish(ctx)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	rulesBefore := countRules(before, planned)
	if rulesBefore == 0 {
		t.Fatalf("kindergarten %d has no published rule before the change", kindergartenID)
	}
	if campuses := countCampuses(before, planned); campuses != len(campusIDs) {
		t.Fatalf("published campuses of kindergarten %d = %d, want %d", kindergartenID, campuses, len(campusIDs))
	}

	if _, err := env.DB.DB.Exec(`UPDATE kindergarten SET operating_status = 'planned' WHERE id = $1`, kindergartenID); err != nil {
		t.Fatal(err)
	}
	after, err := publisher.Publish(ctx)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}

	if after.Version <= before.Version {
		t.Errorf("version after the change = %d, want above %d", after.Version, before.Version)
	}
	if campuses := countCampuses(after, planned); campuses != 0 {
		t.Errorf("campuses of the planned kindergarten = %d, want 0", campuses)
	}
	if rules := countRules(after, planned); rules != 0 {
		t.Errorf("rules naming the planned kindergarten's campuses = %d, want 0", rules)
	}
	if len(after.Campuses) != len(before.Campuses)-len(campusIDs) {
		t.Errorf("campuses = %d, want %d (the others unchanged)", len(after.Campuses), len(before.Campuses)-len(campusIDs))
	}
	if len(after.Rules) != len(before.Rules)-rulesBefore {
		t.Errorf("rules = %d, want %d (the others unchanged)", len(after.Rules), len(before.Rules)-rulesBefore)
	}

	edge, err := catalogue.New(after)
	if err != nil {
		t.Fatalf("catalogue.New rejects the new snapshot: %v", err)
	}
	for _, rule := range before.Rules {
		if !planned[rule.CampusID] || rule.Year != current {
			continue
		}
		for _, id := range edge.MatchCampuses(rule.Year, rule.DistrictCode, rule.StreetCode, rule.CommitteeCode) {
			if planned[id] {
				t.Errorf("the edge still matches planned campus %d to street %s committee %q", id, rule.StreetCode, rule.CommitteeCode)
			}
		}
	}
}

func countCampuses(s *snapshot.Snapshot, ids map[int64]bool) int {
	n := 0
	for _, campus := range s.Campuses {
		if ids[campus.ID] {
			n++
		}
	}
	return n
}

func countRules(s *snapshot.Snapshot, campusIDs map[int64]bool) int {
	n := 0
	for _, rule := range s.Rules {
		if campusIDs[rule.CampusID] {
			n++
		}
	}
	return n
}
