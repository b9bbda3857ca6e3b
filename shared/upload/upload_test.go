package upload_test

import (
	"path/filepath"
	"testing"

	"github.com/sh-preschool/preschool/shared/upload"
)

func TestValidID(t *testing.T) {
	tests := map[string]bool{
		"0123456789abcdef0123456789abcdef":  true,
		"0123456789ABCDEF0123456789abcdef":  false,
		"0123456789abcdef0123456789abcde":   false,
		"0123456789abcdef0123456789abcdef0": false,
		"../../keyring.json/0123456789abcd": false,
		"":                                  false,
	}
	for id, want := range tests {
		if got := upload.ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestPathPerOwner(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef"
	first := upload.Path("/uploads", []byte{0x01, 0xab}, id)
	if want := filepath.Join("/uploads", "01ab", id+".sealed"); first != want {
		t.Errorf("Path = %s, want %s", first, want)
	}
	if second := upload.Path("/uploads", []byte{0x02}, id); second == first {
		t.Errorf("two owners share the path %s", first)
	}
	if upload.Context([]byte{0x01}) == upload.Context([]byte{0x02}) {
		t.Error("two owners share a sealing context")
	}
}
