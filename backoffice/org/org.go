// Package org serves the organisation tree of the back office: districts,
// their streets (街道、镇), the kindergartens (园所) of a street and the
// campuses (办园点) of a kindergarten. The tree loads one level at a time, and
// every level is limited to the staff member's data scope.
package org

import (
	"context"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
)

// Node types, also the prefixes of node IDs ("district:310104").
const (
	TypeDistrict     = "district"
	TypeStreet       = "street"
	TypeKindergarten = "kindergarten"
	TypeCampus       = "campus"
)

// The tree follows kindergarten.street_code: a kindergarten sits under the
// street of its main address, and its campuses under it wherever they are.
// Each level's Columns keep the tree consistent, so that a node in scope
// always has its parent in scope.

// DistrictColumns tie a district (alias d) joined with one of its streets
// (alias s) to a data scope. A district is in scope when any of its streets
// is, so a street officer or kindergarten admin gets the district on the way
// to their own street. NOTE: a district without streets is therefore never
// listed, not even for the city; every Shanghai district has streets.
var DistrictColumns = access.Columns{
	Districts: []string{"d.code"},
	Streets:   []string{"s.code"},
	Kindergarten: func(placeholder string) string {
		return "EXISTS (SELECT 1 FROM kindergarten ks WHERE ks.street_code = s.code AND ks.id = " + placeholder + ")"
	},
}

// StreetColumns tie a street (alias s) to a data scope: its district, itself,
// and for kindergarten staff the street their kindergarten sits in.
var StreetColumns = access.Columns{
	Districts: []string{"s.district_code"},
	Streets:   []string{"s.code"},
	Kindergarten: func(placeholder string) string {
		return "EXISTS (SELECT 1 FROM kindergarten ks WHERE ks.street_code = s.code AND ks.id = " + placeholder + ")"
	},
}

// KindergartenColumns tie a kindergarten (alias k) to a data scope by its
// district, its street and its ID.
var KindergartenColumns = access.Columns{
	Districts:    []string{"k.district_code"},
	Streets:      []string{"k.street_code"},
	Kindergarten: func(placeholder string) string { return "k.id = " + placeholder },
}

// CampusColumns tie a campus (alias c) to the scope of its kindergarten, so
// a campus in another street than its kindergarten's main address still
// shows under that kindergarten.
var CampusColumns = access.Columns{
	Districts:    []string{"(SELECT kc.district_code FROM kindergarten kc WHERE kc.id = c.kindergarten_id)"},
	Streets:      []string{"(SELECT kc.street_code FROM kindergarten kc WHERE kc.id = c.kindergarten_id)"},
	Kindergarten: func(placeholder string) string { return "c.kindergarten_id = " + placeholder },
}

// Node is one node of the tree. ChildCount counts the children within the
// staff member's scope. The fields after Leaf belong to one type each.
type Node struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Name       string `json:"name"`
	ChildCount int    `json:"childCount"`
	Leaf       bool   `json:"leaf"`
	// Code is the GB/T 2260 code of a district, or the code of a street.
	Code string `json:"code,omitempty"`
	// Path lists the IDs of the node's ancestors from the district down, so
	// the page can expand the tree to a search result.
	Path []string `json:"path,omitempty"`

	*KindergartenFacts
	*CampusFacts
}

// KindergartenFacts are a kindergarten's facts with their Chinese labels.
type KindergartenFacts struct {
	OrgCode              string `json:"orgCode"`
	Ownership            string `json:"ownership"`
	OwnershipLabel       string `json:"ownershipLabel"`
	Level                string `json:"level"`
	LevelLabel           string `json:"levelLabel"`
	Inclusive            bool   `json:"inclusive"`
	InclusiveLabel       string `json:"inclusiveLabel"`
	OperatingStatus      string `json:"operatingStatus"`
	OperatingStatusLabel string `json:"operatingStatusLabel"`
	CampusCount          int    `json:"campusCount"`
}

// CampusFacts are a campus's facts. KindergartenName names the campus in a
// search result, where the campus name alone ("本部") is ambiguous.
type CampusFacts struct {
	KindergartenName string `json:"kindergartenName"`
	IsMain           bool   `json:"isMain"`
	Address          string `json:"address"`
}

var (
	ownershipLabels = map[string]string{"public": "公办", "private": "民办"}
	levelLabels     = map[string]string{
		"model": "示范园", "level1": "一级园", "level2": "二级园", "level3": "三级园", "unrated": "未评级",
	}
	operatingStatusLabels = map[string]string{
		"normal": "正常招生", "no_intake_this_year": "本年度不招生", "planned": "规划中", "in_preparation": "筹建中",
	}
)

func inclusiveLabel(inclusive bool) string {
	if inclusive {
		return "普惠性"
	}
	return "非普惠性"
}

// query collects the arguments of a statement and numbers their
// placeholders, including those of the access.Scope.Filter conditions.
// Values are always arguments, never joined into the text.
type query struct {
	args []any
}

// arg adds a value and returns its placeholder.
func (q *query) arg(value any) string {
	q.args = append(q.args, value)
	return "$" + strconv.Itoa(len(q.args))
}

// scope returns the scope condition over columns, numbered after the
// arguments so far.
func (q *query) scope(scope access.Scope, columns access.Columns) string {
	condition := scope.Filter(columns, len(q.args)+1)
	q.args = append(q.args, condition.Args...)
	return condition.SQL
}

// Store reads the tree.
type Store struct {
	DB *sqlx.DB
}

// match narrows a level's query: to the children of one parent, to one node,
// or to names that contain a text.
type match struct {
	column string // the column compared with value, or "" for none
	value  any
	name   string // text the name must contain, or ""
	limit  int
}

func (m match) conditions(q *query, nameColumn string) string {
	var parts []string
	if m.column != "" {
		parts = append(parts, m.column+" = "+q.arg(m.value))
	}
	if m.name != "" {
		parts = append(parts, "strpos("+nameColumn+", "+q.arg(m.name)+") > 0")
	}
	if len(parts) == 0 {
		return "TRUE"
	}
	return strings.Join(parts, " AND ")
}

func (m match) limitClause(q *query) string {
	if m.limit <= 0 {
		return ""
	}
	return " LIMIT " + q.arg(m.limit)
}

func (s *Store) districts(ctx context.Context, scope access.Scope, m match) ([]Node, error) {
	var q query
	text := `
		SELECT d.code, d.name, count(*) AS child_count
		FROM district d
		JOIN street s ON s.district_code = d.code
		WHERE ` + q.scope(scope, DistrictColumns) + ` AND ` + m.conditions(&q, "d.name") + `
		GROUP BY d.code, d.name, d.sort_order
		ORDER BY d.sort_order, d.code` + m.limitClause(&q)
	rows, err := s.DB.QueryContext(ctx, text, q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	nodes := []Node{}
	for rows.Next() {
		node := Node{Type: TypeDistrict}
		if err := rows.Scan(&node.Code, &node.Name, &node.ChildCount); err != nil {
			return nil, err
		}
		node.ID = TypeDistrict + ":" + node.Code
		node.Leaf = node.ChildCount == 0
		nodes = append(nodes, node)
	}
	return nodes, rows.Err()
}

func (s *Store) streets(ctx context.Context, scope access.Scope, m match) ([]Node, error) {
	var q query
	text := `
		SELECT s.code, s.name, s.district_code,
		       (SELECT count(*) FROM kindergarten k WHERE k.street_code = s.code AND ` + q.scope(scope, KindergartenColumns) + `)
		FROM street s
		WHERE ` + q.scope(scope, StreetColumns) + ` AND ` + m.conditions(&q, "s.name") + `
		ORDER BY s.code` + m.limitClause(&q)
	rows, err := s.DB.QueryContext(ctx, text, q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	nodes := []Node{}
	for rows.Next() {
		node := Node{Type: TypeStreet}
		var district string
		if err := rows.Scan(&node.Code, &node.Name, &district, &node.ChildCount); err != nil {
			return nil, err
		}
		node.ID = TypeStreet + ":" + node.Code
		node.Leaf = node.ChildCount == 0
		node.Path = []string{TypeDistrict + ":" + district}
		nodes = append(nodes, node)
	}
	return nodes, rows.Err()
}

func (s *Store) kindergartens(ctx context.Context, scope access.Scope, m match) ([]Node, error) {
	var q query
	text := `
		SELECT k.id, k.name, k.org_code, k.district_code, k.street_code, k.ownership, k.level, k.inclusive,
		       k.operating_status,
		       (SELECT count(*) FROM campus c WHERE c.kindergarten_id = k.id AND ` + q.scope(scope, CampusColumns) + `)
		FROM kindergarten k
		WHERE ` + q.scope(scope, KindergartenColumns) + ` AND ` + m.conditions(&q, "k.name") + `
		ORDER BY k.name, k.id` + m.limitClause(&q)
	rows, err := s.DB.QueryContext(ctx, text, q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	nodes := []Node{}
	for rows.Next() {
		var id int64
		var district, street string
		facts := &KindergartenFacts{}
		node := Node{Type: TypeKindergarten, KindergartenFacts: facts}
		if err := rows.Scan(&id, &node.Name, &facts.OrgCode, &district, &street, &facts.Ownership, &facts.Level,
			&facts.Inclusive, &facts.OperatingStatus, &node.ChildCount); err != nil {
			return nil, err
		}
		node.ID = TypeKindergarten + ":" + strconv.FormatInt(id, 10)
		node.Leaf = node.ChildCount == 0
		node.Path = []string{TypeDistrict + ":" + district, TypeStreet + ":" + street}
		facts.CampusCount = node.ChildCount
		facts.OwnershipLabel = ownershipLabels[facts.Ownership]
		facts.LevelLabel = levelLabels[facts.Level]
		facts.InclusiveLabel = inclusiveLabel(facts.Inclusive)
		facts.OperatingStatusLabel = operatingStatusLabels[facts.OperatingStatus]
		nodes = append(nodes, node)
	}
	return nodes, rows.Err()
}

func (s *Store) campuses(ctx context.Context, scope access.Scope, m match) ([]Node, error) {
	var q query
	text := `
		SELECT c.id, c.name, k.name, c.is_main, c.address, k.id, k.district_code, k.street_code
		FROM campus c
		JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE ` + q.scope(scope, CampusColumns) + ` AND ` + m.conditions(&q, "c.name") + `
		ORDER BY c.is_main DESC, c.id` + m.limitClause(&q)
	rows, err := s.DB.QueryContext(ctx, text, q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	nodes := []Node{}
	for rows.Next() {
		var id, kindergarten int64
		var district, street string
		facts := &CampusFacts{}
		node := Node{Type: TypeCampus, Leaf: true, CampusFacts: facts}
		if err := rows.Scan(&id, &node.Name, &facts.KindergartenName, &facts.IsMain, &facts.Address, &kindergarten, &district, &street); err != nil {
			return nil, err
		}
		node.ID = TypeCampus + ":" + strconv.FormatInt(id, 10)
		node.Path = []string{TypeDistrict + ":" + district, TypeStreet + ":" + street,
			TypeKindergarten + ":" + strconv.FormatInt(kindergarten, 10)}
		nodes = append(nodes, node)
	}
	return nodes, rows.Err()
}

// existsQueries hold one statement per table that has tree nodes.
var existsQueries = map[string]string{
	"district":     `SELECT EXISTS (SELECT 1 FROM district WHERE code = $1)`,
	"street":       `SELECT EXISTS (SELECT 1 FROM street WHERE code = $1)`,
	"kindergarten": `SELECT EXISTS (SELECT 1 FROM kindergarten WHERE id = $1)`,
}

// exists reports whether a node exists at all, whatever the scope, to tell
// a node outside the scope (403) from a missing one (404).
func (s *Store) exists(ctx context.Context, table string, key any) (bool, error) {
	var found bool
	err := s.DB.GetContext(ctx, &found, existsQueries[table], key)
	return found, err
}
