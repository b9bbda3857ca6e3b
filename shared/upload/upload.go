// Package upload lays out the certificate files that parents upload through
// the edge, so that the back office can open the files the records point
// at. Each upload is sealed with SM4-GCM for the parent who made it, with
// the owner's folder in the sealing context so that it opens only for that
// parent's records, and stored at <dir>/<owner index in hex>/<ID>.sealed
// beside an <ID>.json Info. The edge writes the files (WriteFile), and
// "backoffice keys rotate" re-encrypts them (Rotator).
package upload

import (
	"bytes"
	"encoding/hex"
	"path/filepath"
	"strings"
)

// MaxBytes bounds one uploaded file, in bytes (5 MiB).
const MaxBytes = 5 << 20

// Context binds a sealed file to the parent with ownerIndex (the blind
// index of records' owner_index), so it opens only for that parent's
// records.
func Context(ownerIndex []byte) string { return ownerContext(hex.EncodeToString(ownerIndex)) }

func ownerContext(ownerFolder string) string { return "upload." + ownerFolder }

// Path returns where the file id uploaded by the parent with ownerIndex is
// stored under dir.
func Path(dir string, ownerIndex []byte, id string) string {
	return filepath.Join(dir, hex.EncodeToString(ownerIndex), id+FileSuffix)
}

// InfoPath returns where the Info of a file stored at Path is kept.
func InfoPath(dir string, ownerIndex []byte, id string) string {
	return strings.TrimSuffix(Path(dir, ownerIndex, id), FileSuffix) + ".json"
}

// Info describes an uploaded file without its content, so the edge can
// check a certificate's type and size limits without opening the file.
type Info struct {
	ContentType string `json:"contentType"`
	// Size is the file's size before sealing, in bytes.
	Size int `json:"size"`
}

// TypeName returns the certificate library's name of the file type (jpg,
// png or pdf), or "" for another type.
func (i Info) TypeName() string {
	switch i.ContentType {
	case "image/jpeg":
		return "jpg"
	case "image/png":
		return "png"
	case "application/pdf":
		return "pdf"
	}
	return ""
}

// ValidID reports whether id has the form of a file ID: 32 lower-case
// hexadecimal digits, so it is safe in a path.
func ValidID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

var allowedTypes = []struct {
	contentType string
	magic       []byte
}{
	{"image/jpeg", []byte{0xFF, 0xD8, 0xFF}},
	{"image/png", []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}},
	{"application/pdf", []byte("%PDF-")},
}

// SniffContentType returns the content type of a JPEG, PNG or PDF file from
// its first bytes, or "" for anything else, whatever the file is named.
func SniffContentType(head []byte) string {
	for _, allowed := range allowedTypes {
		if bytes.HasPrefix(head, allowed.magic) {
			return allowed.contentType
		}
	}
	return ""
}
