package org_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/audit/audittest"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/org"
)

// place is a kindergarten with campuses in two streets when the seed has
// one, its district and street, and another kindergarten of the same
// district in another street.
type place struct {
	district, street    string
	kindergarten        int64
	kindergartenName    string
	campuses            int
	otherStreet         string
	otherKindergarten   int64
	otherDistrict       string
	streetKindergartens int
}

type fixture struct {
	env      *backofficetest.Env
	server   *audittest.Server
	place    place
	city     *audittest.Client
	admin    *audittest.Client // district admin of place.district
	officer  *audittest.Client // street officer of place.street
	head     *audittest.Client // kindergarten admin of place.kindergarten
	teacher  *audittest.Client
	security *audittest.Client
	auditor  *audittest.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := backofficetest.New(t)
	f := &fixture{env: env}
	db := env.DB.DB
	err := db.QueryRowx(`
		SELECT k.id, k.name, k.district_code, k.street_code, count(c.id)
		FROM kindergarten k JOIN campus c ON c.kindergarten_id = k.id
		GROUP BY k.id
		ORDER BY count(DISTINCT c.street_code) DESC, count(c.id) DESC, k.id
		LIMIT 1`).Scan(&f.place.kindergarten, &f.place.kindergartenName, &f.place.district, &f.place.street, &f.place.campuses)
	if err != nil {
		t.Fatalf("pick a kindergarten: %v", err)
	}
	err = db.QueryRowx(`
		SELECT k.id, k.street_code FROM kindergarten k
		WHERE k.district_code = $1 AND k.street_code <> $2 ORDER BY k.id LIMIT 1`,
		f.place.district, f.place.street).Scan(&f.place.otherKindergarten, &f.place.otherStreet)
	if err != nil {
		t.Fatalf("pick another kindergarten: %v", err)
	}
	if err := db.Get(&f.place.otherDistrict, `SELECT code FROM district WHERE code <> $1 ORDER BY code LIMIT 1`, f.place.district); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&f.place.streetKindergartens, `SELECT count(*) FROM kindergarten WHERE street_code = $1`, f.place.street); err != nil {
		t.Fatal(err)
	}

	f.server = audittest.NewServer(t, db, env.Redis, func(r chi.Router, _ *audit.Trail) {
		handlers := &org.Handlers{Store: &org.Store{DB: db}}
		handlers.Routes(r)
	})
	f.city = f.server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity})
	f.admin = f.server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: f.place.district})
	f.officer = f.server.SignIn(t, "street_officer", access.Scope{Level: access.LevelStreet, StreetCode: f.place.street})
	kindergartenScope := access.Scope{Level: access.LevelKindergarten, KindergartenID: f.place.kindergarten}
	f.head = f.server.SignIn(t, "kindergarten_admin", kindergartenScope)
	f.teacher = f.server.SignIn(t, "teacher", kindergartenScope)
	f.security = f.server.SignIn(t, "security_admin", access.Scope{Level: access.LevelNone})
	f.auditor = f.server.SignIn(t, "auditor", access.Scope{Level: access.LevelNone})
	return f
}

func tree(t *testing.T, client *audittest.Client, parent string) []org.Node {
	t.Helper()
	path := "/api/v1/org/tree"
	if parent != "" {
		path += "?parent=" + url.QueryEscape(parent)
	}
	answer := client.Get(t, path)
	answer.Expect(t, http.StatusOK, "")
	var body org.TreeBody
	answer.Decode(t, &body)
	return body.Nodes
}

func ids(nodes []org.Node) []string {
	list := make([]string, 0, len(nodes))
	for _, node := range nodes {
		list = append(list, node.ID)
	}
	return list
}

func kindergartenID(id int64) string { return "kindergarten:" + strconv.FormatInt(id, 10) }

func TestTreeCityAdmin(t *testing.T) {
	f := newFixture(t)
	districts := tree(t, f.city, "")
	if len(districts) != 16 {
		t.Fatalf("districts = %d, want 16", len(districts))
	}
	if districts[0].ID != "district:310101" || districts[0].Name != "黄浦区" {
		t.Errorf("first district = %+v, want 黄浦区 310101", districts[0])
	}
	for _, node := range districts {
		want := f.env.Count(t, `SELECT count(*) FROM street WHERE district_code = $1`, node.Code)
		if node.ChildCount != want || node.Leaf || node.Type != org.TypeDistrict {
			t.Errorf("district %s = %+v, want %d children and not a leaf", node.Code, node, want)
		}
	}

	streets := tree(t, f.city, "district:"+f.place.district)
	if want := f.env.Count(t, `SELECT count(*) FROM street WHERE district_code = $1`, f.place.district); len(streets) != want {
		t.Errorf("streets of %s = %d, want %d", f.place.district, len(streets), want)
	}
	for _, node := range streets {
		if node.ID == "street:"+f.place.street && node.ChildCount != f.place.streetKindergartens {
			t.Errorf("street %s childCount = %d, want %d", node.Code, node.ChildCount, f.place.streetKindergartens)
		}
	}

	kindergartens := tree(t, f.city, "street:"+f.place.street)
	if len(kindergartens) != f.place.streetKindergartens {
		t.Errorf("kindergartens of %s = %d, want %d", f.place.street, len(kindergartens), f.place.streetKindergartens)
	}
	var found *org.Node
	for i := range kindergartens {
		if kindergartens[i].ID == kindergartenID(f.place.kindergarten) {
			found = &kindergartens[i]
		}
	}
	if found == nil {
		t.Fatalf("street %s does not list kindergarten %d", f.place.street, f.place.kindergarten)
	}
	facts := found.KindergartenFacts
	if facts == nil {
		t.Fatalf("kindergarten node %+v has no facts", found)
	}
	if facts.CampusCount != f.place.campuses || found.ChildCount != f.place.campuses {
		t.Errorf("campus count = %d, childCount = %d, want %d", facts.CampusCount, found.ChildCount, f.place.campuses)
	}
	for name, label := range map[string]string{"ownership": facts.OwnershipLabel, "level": facts.LevelLabel,
		"inclusive": facts.InclusiveLabel, "operating status": facts.OperatingStatusLabel} {
		if label == "" || !strings.ContainsFunc(label, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
			t.Errorf("%s label = %q, want a Chinese label", name, label)
		}
	}
	if wantOwnership := map[string]string{"public": "公办", "private": "民办"}[facts.Ownership]; facts.OwnershipLabel != wantOwnership {
		t.Errorf("ownership %s label = %q, want %q", facts.Ownership, facts.OwnershipLabel, wantOwnership)
	}

	campuses := tree(t, f.city, kindergartenID(f.place.kindergarten))
	if len(campuses) != f.place.campuses {
		t.Fatalf("campuses = %d, want %d", len(campuses), f.place.campuses)
	}
	if !campuses[0].Leaf || campuses[0].CampusFacts == nil || !campuses[0].IsMain || campuses[0].Name != "本部" {
		t.Errorf("first campus = %+v, want the main campus 本部 as a leaf", campuses[0])
	}
}

func TestTreeScopes(t *testing.T) {
	f := newFixture(t)
	district := "district:" + f.place.district
	street := "street:" + f.place.street
	kindergarten := kindergartenID(f.place.kindergarten)

	t.Run("district admin root", func(t *testing.T) {
		if got := ids(tree(t, f.admin, "")); strings.Join(got, ",") != district {
			t.Errorf("root = %v, want only %s", got, district)
		}
	})
	t.Run("district admin other streets", func(t *testing.T) {
		streets := tree(t, f.admin, district)
		if want := f.env.Count(t, `SELECT count(*) FROM street WHERE district_code = $1`, f.place.district); len(streets) != want {
			t.Errorf("streets = %d, want all %d", len(streets), want)
		}
	})
	t.Run("street officer path", func(t *testing.T) {
		root := tree(t, f.officer, "")
		if len(root) != 1 || root[0].ID != district || root[0].ChildCount != 1 {
			t.Errorf("root = %+v, want only %s with one child", root, district)
		}
		if got := ids(tree(t, f.officer, district)); strings.Join(got, ",") != street {
			t.Errorf("streets = %v, want only %s", got, street)
		}
		if got := tree(t, f.officer, street); len(got) != f.place.streetKindergartens {
			t.Errorf("kindergartens = %d, want %d", len(got), f.place.streetKindergartens)
		}
		if got := tree(t, f.officer, kindergarten); len(got) != f.place.campuses {
			t.Errorf("campuses = %d, want every campus of the kindergarten (%d)", len(got), f.place.campuses)
		}
	})
	t.Run("kindergarten admin path", func(t *testing.T) {
		for _, client := range []*audittest.Client{f.head, f.teacher} {
			root := tree(t, client, "")
			if len(root) != 1 || root[0].ID != district || root[0].ChildCount != 1 {
				t.Errorf("%s root = %+v, want only %s with one child", client.Staff.Role, root, district)
			}
			if got := ids(tree(t, client, district)); strings.Join(got, ",") != street {
				t.Errorf("%s streets = %v, want only %s", client.Staff.Role, got, street)
			}
			streetNodes := tree(t, client, street)
			if got := ids(streetNodes); strings.Join(got, ",") != kindergarten {
				t.Errorf("%s kindergartens = %v, want only %s", client.Staff.Role, got, kindergarten)
			}
			if got := tree(t, client, kindergarten); len(got) != f.place.campuses {
				t.Errorf("%s campuses = %d, want %d", client.Staff.Role, len(got), f.place.campuses)
			}
		}
	})
	t.Run("no scope sees nothing", func(t *testing.T) {
		if got := tree(t, f.security, ""); len(got) != 0 {
			t.Errorf("security admin root = %v, want nothing", ids(got))
		}
	})

	outside := []struct {
		name   string
		client *audittest.Client
		parent string
	}{
		{"district admin other district", f.admin, "district:" + f.place.otherDistrict},
		{"street officer other street", f.officer, "street:" + f.place.otherStreet},
		{"street officer other kindergarten", f.officer, kindergartenID(f.place.otherKindergarten)},
		{"street officer other district", f.officer, "district:" + f.place.otherDistrict},
		{"kindergarten admin other kindergarten", f.head, kindergartenID(f.place.otherKindergarten)},
		{"kindergarten admin other street", f.head, "street:" + f.place.otherStreet},
		{"security admin district", f.security, district},
	}
	for _, test := range outside {
		t.Run(test.name, func(t *testing.T) {
			before := f.server.DeniedEvents(t, "out_of_scope", "/api/v1/org/tree")
			test.client.Get(t, "/api/v1/org/tree?parent="+url.QueryEscape(test.parent)).Expect(t, http.StatusForbidden, "out_of_scope")
			if after := f.server.DeniedEvents(t, "out_of_scope", "/api/v1/org/tree"); after != before+1 {
				t.Errorf("denied events = %d after the refusal, want %d", after, before+1)
			}
		})
	}
	t.Run("auditor has no permission", func(t *testing.T) {
		f.auditor.Get(t, "/api/v1/org/tree").Expect(t, http.StatusForbidden, "no_permission")
	})
}

func TestTreeInvalidParent(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		parent string
		status int
		code   string
	}{
		{"district:31010", http.StatusBadRequest, "invalid_parent"},
		{"district:310104' OR '1'='1", http.StatusBadRequest, "invalid_parent"},
		{"street:3101040", http.StatusBadRequest, "invalid_parent"},
		{"kindergarten:abc", http.StatusBadRequest, "invalid_parent"},
		{"kindergarten:0", http.StatusBadRequest, "invalid_parent"},
		{"kindergarten:1 OR 1=1", http.StatusBadRequest, "invalid_parent"},
		{"campus:1", http.StatusBadRequest, "invalid_parent"},
		{"city", http.StatusBadRequest, "invalid_parent"},
		{"district:319999", http.StatusNotFound, "node_not_found"},
		{"street:310104999", http.StatusNotFound, "node_not_found"},
		{"kindergarten:99999999", http.StatusNotFound, "node_not_found"},
	}
	for _, test := range cases {
		t.Run(test.parent, func(t *testing.T) {
			f.city.Get(t, "/api/v1/org/tree?parent="+url.QueryEscape(test.parent)).Expect(t, test.status, test.code)
		})
	}
}

func search(t *testing.T, client *audittest.Client, text string) org.SearchBody {
	t.Helper()
	answer := client.Get(t, "/api/v1/org/search?q="+url.QueryEscape(text))
	answer.Expect(t, http.StatusOK, "")
	var body org.SearchBody
	answer.Decode(t, &body)
	return body
}

func TestSearch(t *testing.T) {
	f := newFixture(t)
	t.Run("district by name", func(t *testing.T) {
		body := search(t, f.city, "徐汇")
		if len(body.Nodes) == 0 || body.Nodes[0].ID != "district:310104" {
			t.Errorf("search 徐汇 = %v, want district:310104 first", ids(body.Nodes))
		}
	})
	t.Run("kindergarten with path", func(t *testing.T) {
		body := search(t, f.city, f.place.kindergartenName)
		var found bool
		for _, node := range body.Nodes {
			if node.ID == kindergartenID(f.place.kindergarten) {
				found = true
				want := "district:" + f.place.district + ",street:" + f.place.street
				if strings.Join(node.Path, ",") != want {
					t.Errorf("path = %v, want %s", node.Path, want)
				}
			}
		}
		if !found {
			t.Errorf("search %s = %v, want %s among them", f.place.kindergartenName, ids(body.Nodes), kindergartenID(f.place.kindergarten))
		}
	})
	t.Run("at most 50", func(t *testing.T) {
		body := search(t, f.city, "幼儿园")
		if len(body.Nodes) != org.MaxSearchResults || !body.Truncated {
			t.Errorf("search 幼儿园 = %d nodes, truncated %v, want %d and truncated", len(body.Nodes), body.Truncated, org.MaxSearchResults)
		}
	})
	t.Run("kindergarten admin scope", func(t *testing.T) {
		body := search(t, f.head, "幼儿园")
		if got := ids(body.Nodes); strings.Join(got, ",") != kindergartenID(f.place.kindergarten) || body.Truncated {
			t.Errorf("kindergarten admin search 幼儿园 = %v, want only their kindergarten", got)
		}
		campuses := search(t, f.head, "部")
		for _, node := range campuses.Nodes {
			if node.Type != org.TypeCampus || node.Path[2] != kindergartenID(f.place.kindergarten) {
				t.Errorf("kindergarten admin search 部 returned %s with path %v, want only their campuses", node.ID, node.Path)
			}
		}
		if len(campuses.Nodes) != f.place.campuses {
			t.Errorf("kindergarten admin search 部 = %d nodes, want %d campuses", len(campuses.Nodes), f.place.campuses)
		}
	})
	t.Run("district admin scope", func(t *testing.T) {
		body := search(t, f.admin, "区")
		for _, node := range body.Nodes {
			if node.Type == org.TypeDistrict && node.ID != "district:"+f.place.district {
				t.Errorf("district admin search 区 returned %s", node.ID)
			}
			if node.Type != org.TypeDistrict && node.Path[0] != "district:"+f.place.district {
				t.Errorf("district admin search 区 returned %s in %v", node.ID, node.Path)
			}
		}
	})
	t.Run("no scope finds nothing", func(t *testing.T) {
		if body := search(t, f.security, "幼儿园"); len(body.Nodes) != 0 {
			t.Errorf("security admin search = %v, want nothing", ids(body.Nodes))
		}
	})
	t.Run("injection finds nothing", func(t *testing.T) {
		for _, text := range []string{"' OR '1'='1", "%", "_", "\\"} {
			if body := search(t, f.city, text); len(body.Nodes) != 0 {
				t.Errorf("search %q = %v, want nothing", text, ids(body.Nodes))
			}
		}
	})
	t.Run("invalid query", func(t *testing.T) {
		for _, text := range []string{"", "   ", strings.Repeat("园", 51)} {
			f.city.Get(t, "/api/v1/org/search?q="+url.QueryEscape(text)).Expect(t, http.StatusBadRequest, "invalid_query")
		}
		f.city.Get(t, "/api/v1/org/search?q=%FF").Expect(t, http.StatusBadRequest, "invalid_query")
	})
}
