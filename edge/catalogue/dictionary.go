package catalogue

import (
	"fmt"
	"net/http"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// dictionaryIndex holds the rendered JSON body of one dictionary for the
// city (key "") and for every district.
type dictionaryIndex struct {
	bodies map[string][]byte
}

type dictionaryOption struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

type dictionaryBody struct {
	Version      int64              `json:"version"`
	Code         string             `json:"code"`
	Name         string             `json:"name"`
	DistrictCode string             `json:"districtCode,omitempty"`
	Items        []dictionaryOption `json:"items"`
}

// indexDictionaries computes and renders the effective items of every
// dictionary for the city and each district once per snapshot, so a request
// costs a map lookup.
func (c *Catalogue) indexDictionaries() error {
	for i := range c.Snapshot.Dictionaries {
		dictionary := &c.Snapshot.Dictionaries[i]
		if _, ok := c.dictionaries[dictionary.Code]; ok {
			return fmt.Errorf("catalogue: dictionary %s appears twice", dictionary.Code)
		}
		for district := range dictionary.Overrides {
			if _, ok := c.districts[district]; !ok {
				return fmt.Errorf("catalogue: dictionary %s overrides unknown district %s", dictionary.Code, district)
			}
		}
		index := &dictionaryIndex{bodies: make(map[string][]byte, len(c.districts)+1)}
		index.bodies[""] = c.renderDictionary(dictionary, "")
		for district := range c.districts {
			index.bodies[district] = c.renderDictionary(dictionary, district)
		}
		c.dictionaries[dictionary.Code] = index
	}
	return nil
}

func (c *Catalogue) renderDictionary(dictionary *snapshot.Dictionary, district string) []byte {
	effective := dictionary.EffectiveItems(district)
	options := make([]dictionaryOption, len(effective))
	for i, item := range effective {
		options[i] = dictionaryOption{Value: item.Value, Label: item.Label}
	}
	return mustJSON(dictionaryBody{
		Version: c.Version(), Code: dictionary.Code, Name: dictionary.Name, DistrictCode: district, Items: options,
	})
}

// DictionaryJSON returns the rendered items of a dictionary as a district's
// forms show them (the city's for an empty district code), and false for an
// unknown dictionary or district.
func (c *Catalogue) DictionaryJSON(code, districtCode string) ([]byte, bool) {
	index, ok := c.dictionaries[code]
	if !ok {
		return nil, false
	}
	body, ok := index.bodies[districtCode]
	return body, ok
}

// GetDictionary handles GET /api/v1/dictionaries/{code}?district=: the
// dictionary's items with the district's overrides applied, or the city's
// items without a district. The bodies are rendered once per snapshot.
func (h *Handlers) GetDictionary(ctx *fasthttp.RequestCtx) error {
	c := h.Store.Current()
	if c == nil {
		return errNotReady
	}
	code, _ := ctx.UserValue("code").(string)
	district := string(ctx.QueryArgs().Peek("district"))
	if _, ok := c.dictionaries[code]; !ok {
		return apierror.New(http.StatusNotFound, "dictionary_not_found", "未找到该字典，请刷新页面后重试。")
	}
	body, ok := c.DictionaryJSON(code, district)
	if !ok {
		return apierror.Invalid("district", "district_not_found", "未找到该区，请刷新页面后重新选择。")
	}
	ctx.Response.Header.Set("Cache-Control", "public, max-age=300")
	api.WriteRawJSON(ctx, http.StatusOK, body)
	return nil
}
