package org

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// PermissionRead is the permission of the organisation API.
const PermissionRead = "org.read"

// Limits of a search.
const (
	MaxSearchResults = 50
	maxQueryLength   = 50
)

// Errors of the organisation API.
var (
	ErrInvalidParent = apierror.Invalid("parent", "invalid_parent",
		"节点编号格式不正确，应为 district:区代码、street:街道代码或 kindergarten:园所编号。")
	ErrNodeNotFound = apierror.New(http.StatusNotFound, "node_not_found", "未找到该组织机构，请刷新页面后重试。")
	ErrInvalidQuery = apierror.Invalid("q", "invalid_query", "请输入 1 至 50 个字的名称关键词。")
)

var (
	districtCodePattern = regexp.MustCompile(`^[0-9]{6}$`)
	streetCodePattern   = regexp.MustCompile(`^[0-9]{9}$`)
)

// Handlers serve the organisation tree.
type Handlers struct {
	Store *Store
}

// Routes mounts the handlers behind org.read. The caller mounts them under
// /api/v1 behind the session middleware.
func (h *Handlers) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionRead))
		r.Get("/org/tree", httpx.Handle(h.tree))
		r.Get("/org/search", httpx.Handle(h.search))
	})
}

// TreeBody is the response of GET /api/v1/org/tree.
type TreeBody struct {
	Parent string `json:"parent,omitempty"`
	Nodes  []Node `json:"nodes"`
}

// tree handles GET /api/v1/org/tree?parent=: the districts without a
// parent, else the children of the parent node, all within the scope.
func (h *Handlers) tree(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	parent := r.URL.Query().Get("parent")
	if parent == "" {
		nodes, err := h.Store.districts(ctx, staff.Scope, match{})
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, TreeBody{Nodes: nodes})
		return nil
	}
	nodes, err := h.children(ctx, staff.Scope, parent)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, TreeBody{Parent: parent, Nodes: nodes})
	return nil
}

// children returns the children of the parent node after checking that the
// node exists (404) and lies within the scope (403 out_of_scope).
func (h *Handlers) children(ctx context.Context, scope access.Scope, parent string) ([]Node, error) {
	kind, key, _ := strings.Cut(parent, ":")
	var self, children func(context.Context, access.Scope, match) ([]Node, error)
	var selfColumn, childColumn, table string
	var value any = key
	switch {
	case kind == TypeDistrict && districtCodePattern.MatchString(key):
		self, selfColumn, table = h.Store.districts, "d.code", "district"
		children, childColumn = h.Store.streets, "s.district_code"
	case kind == TypeStreet && streetCodePattern.MatchString(key):
		self, selfColumn, table = h.Store.streets, "s.code", "street"
		children, childColumn = h.Store.kindergartens, "k.street_code"
	case kind == TypeKindergarten:
		id, err := strconv.ParseInt(key, 10, 64)
		if err != nil || id < 1 {
			return nil, ErrInvalidParent
		}
		value = id
		self, selfColumn, table = h.Store.kindergartens, "k.id", "kindergarten"
		children, childColumn = h.Store.campuses, "c.kindergarten_id"
	default:
		return nil, ErrInvalidParent
	}

	found, err := self(ctx, scope, match{column: selfColumn, value: value})
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		exists, err := h.Store.exists(ctx, table, value)
		if err != nil {
			return nil, err
		}
		if exists {
			return nil, access.ErrOutOfScope
		}
		return nil, ErrNodeNotFound
	}
	return children(ctx, scope, match{column: childColumn, value: value})
}

// SearchBody is the response of GET /api/v1/org/search. Truncated is true
// when more than MaxSearchResults nodes match.
type SearchBody struct {
	Nodes     []Node `json:"nodes"`
	Truncated bool   `json:"truncated"`
}

// search handles GET /api/v1/org/search?q=: the nodes within the scope whose
// name contains q, districts first, then streets, kindergartens and
// campuses, at most MaxSearchResults.
func (h *Handlers) search(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	text := strings.TrimSpace(r.URL.Query().Get("q"))
	if text == "" || !utf8.ValidString(text) || utf8.RuneCountInString(text) > maxQueryLength || strings.ContainsRune(text, 0) {
		return ErrInvalidQuery
	}
	body := SearchBody{Nodes: []Node{}}
	levels := []func(context.Context, access.Scope, match) ([]Node, error){
		h.Store.districts, h.Store.streets, h.Store.kindergartens, h.Store.campuses,
	}
	for _, level := range levels {
		remaining := MaxSearchResults - len(body.Nodes)
		// Asking for one more row than fits shows whether the results were cut.
		nodes, err := level(ctx, staff.Scope, match{name: text, limit: remaining + 1})
		if err != nil {
			return err
		}
		if len(nodes) > remaining {
			nodes, body.Truncated = nodes[:remaining], true
		}
		body.Nodes = append(body.Nodes, nodes...)
		if body.Truncated {
			break
		}
	}
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}
