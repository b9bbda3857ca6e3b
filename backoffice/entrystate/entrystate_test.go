package entrystate_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/audit/audittest"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/entrystate"
	"github.com/sh-preschool/preschool/backoffice/publish"
	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/submit"
	"github.com/sh-preschool/preschool/shared/apierror"
)

const (
	xuhui     = backofficetest.Xuhui
	changning = backofficetest.Changning
)

// fixture serves the entry-state API and runs an edge submission service
// whose catalogue follows the published snapshot the way a running edge
// does: through the publish message, with the 15-second poll as backstop.
type fixture struct {
	env       *backofficetest.Env
	edge      *submit.Service
	city      *audittest.Client
	xuhui     *audittest.Client
	changning *audittest.Client
	year      string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := backofficetest.New(t)
	publisher := &publish.Publisher{DB: env.DB.DB, Redis: env.Redis.Client, Keys: env.Keys, Now: time.Now}
	districtName := func(code string) (string, bool) {
		var name string
		err := env.DB.DB.Get(&name, `SELECT name FROM district WHERE code = $1`, code)
		return name, err == nil
	}
	server := audittest.NewServer(t, env.DB.DB, env.Redis, func(r chi.Router, trail *audit.Trail) {
		(&entrystate.Handlers{DB: env.DB.DB, Trail: trail, Publisher: publisher, DistrictName: districtName, Now: time.Now}).Routes(r)
	})

	store := catalogue.NewStore(env.Redis.Client, env.Keys)
	if err := store.Refresh(context.Background()); err != nil {
		t.Fatalf("load the published snapshot: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		store.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	return &fixture{
		env: env,
		edge: &submit.Service{
			Redis: env.Redis.Client, Keys: env.Keys, Keyring: env.Keyring, Catalogue: store,
			Now: time.Now, ReceiptTTL: time.Hour, Timeout: 10 * time.Second,
		},
		city:      server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity}),
		xuhui:     server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: xuhui}),
		changning: server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: changning}),
		year:      strconv.Itoa(env.Year.Year),
	}
}

// waitForEdge waits until submit returns an error with code, or no error
// when code is empty. The limit is generous because building the catalogue
// from a new snapshot took 12 s under the race detector on a loaded 2-core
// machine; the test shows that no restart is needed, not how fast it is.
func waitForEdge(t *testing.T, what, code string, submit func() error) {
	t.Helper()
	backofficetest.WaitFor(t, time.Minute, what, func() (bool, error) {
		err := submit()
		if code == "" {
			return err == nil, err
		}
		if apiErr := apierror.As(err); apiErr != nil && apiErr.Code == code {
			return true, nil
		}
		return false, err
	})
}

func (f *fixture) switchState(t *testing.T, client *audittest.Client, path string, body map[string]any) entrystate.State {
	t.Helper()
	response := client.Send(t, http.MethodPut, "/api/v1/entry-states/"+f.year+path, body)
	if response.Status != http.StatusOK {
		t.Fatalf("PUT %s: HTTP %d %s", path, response.Status, response.Body)
	}
	var state entrystate.State
	response.Decode(t, &state)
	if state.Published == nil || !*state.Published {
		t.Errorf("PUT %s: published = %v, want true", path, state.Published)
	}
	return state
}

func TestRegistrationSwitchReachesEdge(t *testing.T) {
	f := newFixture(t)
	register := func(i int) func() error {
		return func() error {
			_, err := f.edge.Register(context.Background(), backofficetest.Subject(i), f.env.ShanghaiChild(t, i, xuhui, xuhui))
			return err
		}
	}
	if err := register(1)(); err != nil {
		t.Fatalf("registration while open: %v", err)
	}

	f.xuhui.Send(t, http.MethodPut, "/api/v1/entry-states/"+f.year+"/registration", map[string]any{"open": false}).
		Expect(t, http.StatusForbidden, "registration_switch_city_only")
	f.city.Send(t, http.MethodPut, "/api/v1/entry-states/"+f.year+"/registration", map[string]any{}).
		Expect(t, http.StatusBadRequest, "open_required")

	closed := f.switchState(t, f.city, "/registration", map[string]any{"open": false})
	if closed.Registration.Open {
		t.Errorf("registration after closing = %+v, want closed", closed.Registration)
	}
	waitForEdge(t, "the edge to reject registrations", "registration_closed", register(2))

	f.city.Send(t, http.MethodPut, "/api/v1/entry-states/"+f.year+"/registration", map[string]any{"open": true}).
		Expect(t, http.StatusBadRequest, "closes_at_required")
	opened := f.switchState(t, f.city, "/registration", map[string]any{"open": true, "closesAt": time.Now().Add(48 * time.Hour)})
	if !opened.Registration.Open {
		t.Errorf("registration after opening = %+v, want open", opened.Registration)
	}
	waitForEdge(t, "the edge to accept registrations again", "", register(2))

	if n := f.env.Count(t, `SELECT count(*) FROM audit_event WHERE action = $1 AND outcome = 'success'`, entrystate.ActionRegistration); n != 2 {
		t.Errorf("audit events of the registration switch = %d, want 2", n)
	}
}

func TestApplicationSwitchReachesEdge(t *testing.T) {
	f := newFixture(t)
	subject := backofficetest.Subject(5)
	registration := f.env.Register(t, subject, f.env.ShanghaiChild(t, 5, xuhui, xuhui))
	request := f.env.ApplicationRequest(t, subject, registration, xuhui)
	apply := func() error {
		_, err := f.edge.Apply(context.Background(), subject, request)
		return err
	}

	f.changning.Send(t, http.MethodPut, "/api/v1/entry-states/"+f.year+"/districts/"+xuhui+"/application", map[string]any{"open": false}).
		Expect(t, http.StatusForbidden, "out_of_scope")
	f.xuhui.Send(t, http.MethodPut, "/api/v1/entry-states/"+f.year+"/districts/"+xuhui+"/application",
		map[string]any{"open": false, "entryIds": []int64{-1}}).Expect(t, http.StatusBadRequest, "entry_not_in_district")

	closed := f.switchState(t, f.xuhui, "/districts/"+xuhui+"/application", map[string]any{"open": false})
	if len(closed.Districts) != 1 || closed.Districts[0].Code != xuhui {
		t.Fatalf("Xuhui's state lists districts %+v, want only Xuhui", closed.Districts)
	}
	if closed.Districts[0].Open {
		t.Errorf("Xuhui after closing = %+v, want every entry closed", closed.Districts[0])
	}
	waitForEdge(t, "the edge to reject applications in Xuhui", "application_closed", apply)

	var city entrystate.State
	f.city.Get(t, "/api/v1/entry-states").Decode(t, &city)
	for _, district := range city.Districts {
		if district.Code != xuhui && !district.Open {
			t.Errorf("district %s closed by Xuhui's switch", district.Code)
		}
	}

	f.switchState(t, f.xuhui, "/districts/"+xuhui+"/application", map[string]any{"open": true, "closesAt": time.Now().Add(48 * time.Hour)})
	waitForEdge(t, "the edge to accept applications in Xuhui again", "", apply)

	if n := f.env.Count(t, `SELECT count(*) FROM audit_event WHERE action = $1 AND district_code = $2`, entrystate.ActionApplication, xuhui); n != 2 {
		t.Errorf("audit events of Xuhui's switch = %d, want 2", n)
	}
}

// TestApplicationStaysClosedAfterAdmission: once a district confirms its
// admission list, its application window can be closed but not opened
// again, because the round cannot be proposed again and a new application
// would never get an outcome.
func TestApplicationStaysClosedAfterAdmission(t *testing.T) {
	f := newFixture(t)
	path := "/api/v1/entry-states/" + f.year + "/districts/" + xuhui + "/application"
	f.switchState(t, f.xuhui, "/districts/"+xuhui+"/application", map[string]any{"open": false})
	_, err := f.env.DB.DB.Exec(`
		INSERT INTO admission_round (enrolment_year, district_code, status, rule_text, proposed_by, proposed_by_name,
		                             confirmed_by, confirmed_by_name, confirmed_at)
		VALUES ($1, $2, 'confirmed', '{}', 1, '测试', 1, '测试', now())`, f.env.Year.Year, xuhui)
	if err != nil {
		t.Fatalf("confirm Xuhui's admission round: %v", err)
	}

	f.xuhui.Send(t, http.MethodPut, path, map[string]any{"open": true, "closesAt": time.Now().Add(48 * time.Hour)}).
		Expect(t, http.StatusConflict, "admission_confirmed")
	f.switchState(t, f.xuhui, "/districts/"+xuhui+"/application", map[string]any{"open": false})
	// Another district's round is its own.
	f.switchState(t, f.changning, "/districts/"+changning+"/application", map[string]any{"open": true, "closesAt": time.Now().Add(48 * time.Hour)})

	var state entrystate.State
	f.city.Get(t, "/api/v1/entry-states").Decode(t, &state)
	for _, district := range state.Districts {
		if district.Code == xuhui && district.Open {
			t.Errorf("Xuhui's application window is open after the refused switch: %+v", district)
		}
	}
}
