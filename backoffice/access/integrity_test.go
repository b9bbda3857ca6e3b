package access

import (
	"bytes"
	"testing"
)

func TestRoleMessagesDistinct(t *testing.T) {
	base := RoleRecord{Code: "leader", Permissions: []string{"org.read", "dashboard.read"}, ScopeLevels: []string{"city"}, BusinessData: true}
	variants := map[string]RoleRecord{
		"code":             {Code: "leader2", Permissions: base.Permissions, ScopeLevels: base.ScopeLevels, BusinessData: true},
		"added permission": {Code: "leader", Permissions: []string{"org.read", "dashboard.read", "staff.write"}, ScopeLevels: base.ScopeLevels, BusinessData: true},
		"joined fields":    {Code: "leader", Permissions: []string{"org.readdashboard.read"}, ScopeLevels: base.ScopeLevels, BusinessData: true},
		"moved to scopes":  {Code: "leader", Permissions: []string{"org.read"}, ScopeLevels: []string{"dashboard.read", "city"}, BusinessData: true},
		"scope":            {Code: "leader", Permissions: base.Permissions, ScopeLevels: []string{"district"}, BusinessData: true},
		"business data":    {Code: "leader", Permissions: base.Permissions, ScopeLevels: base.ScopeLevels, BusinessData: false},
	}
	for name, variant := range variants {
		if bytes.Equal(variant.Message(), base.Message()) {
			t.Errorf("%s: message equals the original's", name)
		}
	}
}

func TestStaffMessagesDistinct(t *testing.T) {
	base := StaffRecord{ID: 7, Username: "a.b", RoleCode: "district_admin", ScopeLevel: "district", DistrictCode: "310104", Status: "active"}
	variants := map[string]StaffRecord{
		"ID":       {ID: 8, Username: "a.b", RoleCode: "district_admin", ScopeLevel: "district", DistrictCode: "310104", Status: "active"},
		"role":     {ID: 7, Username: "a.b", RoleCode: "city_admin", ScopeLevel: "district", DistrictCode: "310104", Status: "active"},
		"scope":    {ID: 7, Username: "a.b", RoleCode: "district_admin", ScopeLevel: "city", DistrictCode: "310104", Status: "active"},
		"district": {ID: 7, Username: "a.b", RoleCode: "district_admin", ScopeLevel: "district", DistrictCode: "310105", Status: "active"},
		"status":   {ID: 7, Username: "a.b", RoleCode: "district_admin", ScopeLevel: "district", DistrictCode: "310104", Status: "disabled"},
		"street":   {ID: 7, Username: "a.b", RoleCode: "district_admin", ScopeLevel: "district", DistrictCode: "310104", StreetCode: "x", Status: "active"},
	}
	for name, variant := range variants {
		if bytes.Equal(variant.Message(), base.Message()) {
			t.Errorf("%s: message equals the original's", name)
		}
	}
	role := RoleRecord{Code: "7"}
	if bytes.Equal(role.Message(), (StaffRecord{ID: 7}).Message()) {
		t.Error("a role's message equals a staff account's")
	}
}
